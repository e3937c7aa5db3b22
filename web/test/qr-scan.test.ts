// The scanner's decoder reads the codes the page draws, and camera refusals
// become the right message.

import { describe, expect, it } from "vitest";
import { qrPath } from "../src/qr";
import { cameraProblem, cameraProblemMessage, loadDecoder } from "../src/qr-scan";

/** RGBA pixels of `text`'s QR code as the page draws it, `scale` pixels a module. */
function render(text: string, scale: number): { pixels: Uint8ClampedArray; side: number } {
  const { size, path } = qrPath(text);
  const modules = size + 8;
  const side = modules * scale;
  const pixels = new Uint8ClampedArray(side * side * 4).fill(255);
  for (const [, x, y] of path.matchAll(/M(\d+) (\d+)/g)) {
    for (let row = 0; row < scale; row += 1) {
      for (let column = 0; column < scale; column += 1) {
        const at = ((Number(y) * scale + row) * side + Number(x) * scale + column) * 4;
        pixels.fill(0, at, at + 3);
      }
    }
  }
  return { pixels, side };
}

describe("QR scanning", () => {
  it("decodes a short link's code as drawn, with jsQR", async () => {
    const decode = await loadDecoder();
    const link = `https://relay.example:8443/invite#${"Ab-_0123456789".repeat(9).slice(0, 120)}`;
    const { pixels, side } = render(link, 3);
    expect(decode(pixels, side, side)).toBe(link);
    expect(decode(new Uint8ClampedArray(side * side * 4).fill(255), side, side)).toBeNull();
  });

  it("tells a refused camera from a missing or busy one", () => {
    const named = (name: string) => new DOMException("", name);
    expect(cameraProblem(named("NotAllowedError"))).toBe("denied");
    expect(cameraProblem(named("SecurityError"))).toBe("denied");
    expect(cameraProblem(named("NotFoundError"))).toBe("no-camera");
    expect(cameraProblem(named("OverconstrainedError"))).toBe("no-camera");
    expect(cameraProblem(named("NotReadableError"))).toBe("busy");
    expect(cameraProblem("something else")).toBe("failed");
    expect(cameraProblemMessage("denied")).toContain("Camera access was refused");
    expect(cameraProblemMessage("no-camera")).toContain("No camera was found");
  });
});
