CREATE TABLE "revoked_tokens" (
	"jti" text PRIMARY KEY NOT NULL,
	"expires_at" timestamp (3) with time zone NOT NULL,
	"revoked_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "revoked_tokens_jti_format" CHECK ("revoked_tokens"."jti" ~ '^[A-Za-z0-9_-]{8,64}$')
);
--> statement-breakpoint
CREATE INDEX "revoked_tokens_revoked_idx" ON "revoked_tokens" USING btree ("revoked_at");