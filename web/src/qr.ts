// QR codes as SVG path data, encoded by the qrcode-generator library.

import qrcode from "qrcode-generator";

export interface QrPath {
  /** Modules per side, without the quiet zone. */
  size: number;
  /** One `M x y h1 v1 h-1 z` square per dark module, in module units offset by the quiet zone. */
  path: string;
}

/** Encodes `text` at error correction level M, the smallest version that fits. */
export function qrPath(text: string, quietZone = 4): QrPath {
  const code = qrcode(0, "M");
  code.addData(text, "Byte");
  code.make();
  const size = code.getModuleCount();
  const parts: string[] = [];
  for (let row = 0; row < size; row += 1) {
    for (let column = 0; column < size; column += 1) {
      if (code.isDark(row, column)) parts.push(`M${column + quietZone} ${row + quietZone}h1v1h-1z`);
    }
  }
  return { size, path: parts.join("") };
}
