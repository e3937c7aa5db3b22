import { describe, expect, it } from "vitest";
import { isBackendError } from "../src/backend";

describe("isBackendError", () => {
  it("accepts the plain error shape the bridge rejects with", () => {
    expect(isBackendError({ kind: "wrong-passphrase", message: "wrong passphrase" })).toBe(true);
  });
  it("rejects anything else", () => {
    expect(isBackendError(new Error("x"))).toBe(false);
    expect(isBackendError(null)).toBe(false);
    expect(isBackendError("wrong-passphrase")).toBe(false);
  });
});
