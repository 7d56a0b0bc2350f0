import preact from "@preact/preset-vite";
import { defineConfig } from "vite";

// The gateway serves dist/ at `/` under a Content-Security-Policy of 'self' only: no inline
// scripts or styles, nothing from a CDN.
export default defineConfig({
  plugins: [preact({ devtoolsInProd: false, prefreshEnabled: false })],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // The polyfill would be an extra script; every browser the console supports has modulepreload.
    modulePreload: { polyfill: false },
    // Fonts/images stay files: CSP allows data: only for images.
    assetsInlineLimit: 0,
    sourcemap: false,
    target: "es2022",
  },
  server: { proxy: { "/api": "http://127.0.0.1:8080", "/authnz": "http://127.0.0.1:8080" } },
});
