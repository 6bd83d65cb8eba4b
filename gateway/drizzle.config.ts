import { defineConfig } from "drizzle-kit";

/** `npx drizzle-kit generate --config gateway/drizzle.config.ts` writes gateway/drizzle/*.sql. */
export default defineConfig({
  dialect: "postgresql",
  schema: "./gateway/src/store/schema.ts",
  out: "./gateway/drizzle",
  strict: true,
  verbose: true,
});
