// @vitest-environment node
// Rules of the production build: the page's Content-Security-Policy, and the
// fake backend kept out of the bundle.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import config from "../vite.config";

const html = readFileSync(new URL("../index.html", import.meta.url), "utf8");

function policy(): Map<string, string[]> {
  const match = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html);
  expect(match).not.toBeNull();
  const directives = new Map<string, string[]>();
  for (const directive of match![1]!.split(";")) {
    const [name, ...values] = directive.trim().split(/\s+/);
    if (name) directives.set(name, values);
  }
  return directives;
}

describe("Content-Security-Policy", () => {
  it("allows only the page's own origin, WebAssembly and relay WebSockets", () => {
    const csp = policy();
    expect(csp.get("default-src")).toEqual(["'none'"]);
    expect(csp.get("script-src")).toEqual(["'self'", "'wasm-unsafe-eval'"]);
    expect(csp.get("style-src")).toEqual(["'self'"]);
    expect(csp.get("connect-src")).toEqual(["'self'", "ws:", "wss:"]);
    expect(csp.get("object-src")).toEqual(["'none'"]);
    expect(csp.get("base-uri")).toEqual(["'none'"]);
    for (const values of csp.values()) {
      for (const value of values) {
        expect(value).not.toMatch(/^https?:|\*|unsafe-inline|'unsafe-eval'/);
      }
    }
  });

  it("loads nothing from another origin", () => {
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  });
});

describe("the fake backend", () => {
  it("makes the production build fail if anything imports it", () => {
    const plugins = (config.build?.rollupOptions?.plugins ?? []) as { name: string; load?: unknown }[];
    const guard = plugins.find((plugin) => plugin.name === "sotto-reject-fake-backend");
    expect(guard).toBeDefined();
    const load = guard!.load as (id: string) => unknown;
    expect(() => load("/web/src/fake-backend.ts")).toThrow(/must not be bundled/);
    expect(load("/web/src/backend.ts")).toBeNull();
  });
});
