import { readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import type { Plugin } from "vite";
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
      plugins: [rejectFakeBackend(), invitePage(), precompress()],
    },
  },
  // The key derivation's worker (src/kdf-worker.ts) is an ES module like the page.
  worker: {
    format: "es",
  },
  server: {
    host: "127.0.0.1",
  },
  test: {
    environment: "happy-dom",
    include: ["test/**/*.test.ts", "test/**/*.test.tsx"],
  },
});

function rejectFakeBackend(): Plugin {
  return {
    name: "sotto-reject-fake-backend",
    load(id) {
      if (/fake-backend\.tsx?$/.test(id)) {
        throw new Error(`the test-only fake backend must not be bundled (imported: ${id})`);
      }
      return null;
    },
  };
}

// Invitation links are `/invite#…` and `/contact#…`, group links `/group#…`. The relay serves static
// files only, so the page is also emitted as invite/index.html and
// contact/index.html (the relay redirects `/invite` to `/invite/`, and the
// browser keeps the fragment across the redirect).
function invitePage(): Plugin {
  return {
    name: "sotto-invite-page",
    generateBundle(_options, bundle) {
      const index = bundle["index.html"];
      if (!index || index.type !== "asset") return;
      for (const fileName of ["invite/index.html", "contact/index.html", "group/index.html"]) {
        this.emitFile({ type: "asset", fileName, source: index.source });
      }
    },
  };
}

// Writes `.gz` and `.br` beside every text and wasm asset, so that a static
// server that serves precompressed files (tower-http's ServeDir can) sends
// them without compressing on each request.
function precompress(): Plugin {
  const compressible = /\.(html|js|css|wasm|svg|json)$/;
  return {
    name: "sotto-precompress",
    writeBundle(options) {
      if (!options.dir) return;
      const walk = (dir: string): string[] =>
        readdirSync(dir).flatMap((name) => {
          const path = join(dir, name);
          return statSync(path).isDirectory() ? walk(path) : [path];
        });
      for (const path of walk(options.dir).filter((file) => compressible.test(file))) {
        const bytes = readFileSync(path);
        writeFileSync(`${path}.gz`, gzipSync(bytes, { level: 9 }));
        writeFileSync(
          `${path}.br`,
          brotliCompressSync(bytes, {
            params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
          }),
        );
      }
    },
  };
}
