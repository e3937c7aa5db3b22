import { describe, expect, it } from "vitest";
import { linkParts, safeHref } from "../src/links";

describe("links in messages", () => {
  it("finds http and https addresses, leaving sentence punctuation out", () => {
    expect(linkParts("see https://example.org/a?b=1, then http://x.test/(y).")).toEqual([
      { text: "see ", href: null },
      { text: "https://example.org/a?b=1", href: "https://example.org/a?b=1" },
      { text: ", then ", href: null },
      { text: "http://x.test/(y)", href: "http://x.test/(y)" },
      { text: ".", href: null },
    ]);
    expect(linkParts("no address here")).toEqual([{ text: "no address here", href: null }]);
  });

  it("never links another scheme", () => {
    expect(linkParts("javascript:alert(1) data:text/html,x file:///etc/passwd")).toEqual([
      { text: "javascript:alert(1) data:text/html,x file:///etc/passwd", href: null },
    ]);
    expect(safeHref("javascript:alert(1)")).toBeNull();
    expect(safeHref("https://")).toBeNull();
  });
});
