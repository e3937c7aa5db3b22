import { defineConfig } from "vitest/config";

// The production bundle starts at index.html -> src/main.tsx; the in-memory
// fake backend is reachable only from tests, and the build fails if it ever
// ends up in the bundle (see `rejectFakeBackend`).
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
      plugins: [rejectFakeBackend()],
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
