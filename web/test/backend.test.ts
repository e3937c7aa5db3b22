import { describe, expect, it } from "vitest";
import { isBackendError } from "../src/backend";
import { errorMessage } from "../src/errors";

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

describe("error messages", () => {
  it("are sentences, never raw error strings", () => {
    expect(errorMessage({ kind: "wrong-passphrase", message: "Wrong passphrase." })).toBe("Wrong passphrase.");
    expect(errorMessage({ kind: "wrong-passphrase", message: "wrong passphrase" })).toBe(
      "Wrong passphrase. Check it and try again.",
    );
    expect(errorMessage({ kind: "invalid-invitation", message: "the relay address is not valid" })).toBe(
      "The relay address is not valid.",
    );
    expect(errorMessage({ kind: "invalid-input", message: "search: 1 to 256 bytes of text" })).toBe(
      "That cannot be used: check what you typed and try again.",
    );
    expect(errorMessage({ kind: "internal", message: "RuntimeError: unreachable executed" })).toBe(
      "Something went wrong inside Sotto. Try again; if it keeps happening, reload the page.",
    );
    expect(errorMessage(new Error("boom"))).toBe("Something went wrong. Please try again.");
  });
});
