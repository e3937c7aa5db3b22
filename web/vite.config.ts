import { defineConfig } from "vitest/config";

// The production bundle starts at index.html -> src/main.tsx; the in-memory
// fake backend is reachable only from tests and the development preview
// (dev.html, served by `vite` but never built), and the build fails if it
// ever ends up in the bundle (see `rejectFakeBackend`).
export default defineConfig({
  base: "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    rollupOptions: {
      plugins: [rejectFakeBackend(), invitePage()],
    },
  },
  server: {
    host: "127.0.0.1",
  },
  test: {
    environment: "happy-dom",
    include: ["test/**/*.test.ts", "test/**/*.test.tsx"],
  },
});

function rejectFakeBackend() {
  return {
    name: "sotto-reject-fake-backend",
    load(id: string): null {
      if (/fake-backend\.tsx?$/.test(id)) {
        throw new Error(`the test-only fake backend must not be bundled (imported: ${id})`);
      }
      return null;
    },
  };
}

// Invitation links are `/invite#…` and `/contact#…`. The relay serves static
// files only, so the page is also emitted as invite/index.html and
// contact/index.html (the relay redirects `/invite` to `/invite/`, and the
// browser keeps the fragment across the redirect).
function invitePage() {
  return {
    name: "sotto-invite-page",
    generateBundle(_options: unknown, bundle: Record<string, { type: string; source?: string | Uint8Array }>) {
      const index = bundle["index.html"];
      if (!index || index.type !== "asset" || index.source === undefined) return;
      for (const path of ["invite/index.html", "contact/index.html"]) {
        (this as unknown as { emitFile(file: object): void }).emitFile({ type: "asset", fileName: path, source: index.source });
      }
    },
  };
}
