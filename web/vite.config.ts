import { defineConfig } from "vite";
import { devApi } from "./dev/dev-api";

// The CSP the service sends with every console response (the build must work under it: no
// inline scripts or styles, no eval, no data: fonts). `vite preview` sends it too.
export const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export default defineConfig({
  base: "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    assetsDir: "assets",
    assetsInlineLimit: 0, // every asset is a file under /assets/, never a data: URL
    cssCodeSplit: false,
    modulePreload: { polyfill: false }, // the polyfill would be code the CSP has no reason to run
    sourcemap: false,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 400,
  },
  // Development only: proxy the API to a running xbanku, mock the routes it may lack (dev/dev-api.ts).
  plugins: [devApi()],
  preview: { headers: { "Content-Security-Policy": CSP } },
  test: { include: ["src/**/*.test.ts"], setupFiles: ["./dev/vitest-setup.ts"] },
});
