import type { NextConfig } from "next";

// The web app (app/): the patient portal first; the provider, researcher and governance consoles
// join it as routes. Contract addresses and ABIs come from sdk/, inlined at build time.
const nextConfig: NextConfig = {
  // app/tsconfig.json extends the root one (which stays the Node/Hardhat typecheck) with the
  // bundler settings Next needs; Next leaves an extending tsconfig alone.
  typescript: { tsconfigPath: "app/tsconfig.json" },
  // A build for another chain beside the default one (test/e2e/anvil-app.test.ts): both `next build`
  // and `next start` read it.
  ...(process.env.CONSENTRY_NEXT_DIST_DIR ? { distDir: process.env.CONSENTRY_NEXT_DIST_DIR } : {}),
  // The app's lists are read on the server from the indexer (app/_server/history.ts): Ponder's
  // client and tables load from node_modules at run time, never bundled (and never in a browser).
  serverExternalPackages: ["ponder", "@ponder/client"],
  reactStrictMode: true,
  poweredByHeader: false,
  async headers() {
    return [
      {
        source: "/:path*",
        headers: [
          // A wallet app must not be framed (click-jacking a signature).
          { key: "X-Frame-Options", value: "DENY" },
          { key: "Content-Security-Policy", value: "frame-ancestors 'none'" },
          { key: "X-Content-Type-Options", value: "nosniff" },
          { key: "Referrer-Policy", value: "no-referrer" },
          { key: "Permissions-Policy", value: "camera=(), microphone=(), geolocation=()" },
        ],
      },
    ];
  },
};

export default nextConfig;
