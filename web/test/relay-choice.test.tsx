// A relay named in the page's URL: asked about before use, and plain
// WebSocket only to this machine.

import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { isLoopbackHost, proposedRelay, relayAddressProblem } from "../src/relay-choice";
import { RelayConfirm } from "../src/ui/relay-confirm";

const FINGERPRINT = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

describe("relay addresses from the URL", () => {
  it("reads ?relay= and nothing else", () => {
    expect(proposedRelay("")).toBeNull();
    expect(proposedRelay("?relay=")).toBeNull();
    expect(proposedRelay("?other=1")).toBeNull();
    expect(proposedRelay(`?relay=${encodeURIComponent(`sotto://${FINGERPRINT}@relay.example`)}`)).toBe(
      `sotto://${FINGERPRINT}@relay.example`,
    );
  });

  it("allows plain WebSocket only to a relay on this machine", () => {
    for (const host of ["localhost", "app.localhost", "127.0.0.1", "127.8.9.10", "[::1]"])
      expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ["relay.example", "localhost.example", "10.0.0.1", "128.0.0.1", "[::2]"])
      expect(isLoopbackHost(host), host).toBe(false);
    expect(relayAddressProblem(`sotto+ws://${FINGERPRINT}@127.0.0.1:4433`)).toBeNull();
    expect(relayAddressProblem(`sotto+ws://${FINGERPRINT}@localhost`)).toBeNull();
    expect(relayAddressProblem(`sotto://${FINGERPRINT}@relay.example:443`)).toBeNull();
    expect(relayAddressProblem(`sotto+ws://${FINGERPRINT}@relay.example:80`)).toContain("without encryption");
    expect(relayAddressProblem(`sotto+ws://${FINGERPRINT}@192.168.1.5`)).toContain("without encryption");
    expect(relayAddressProblem("https://relay.example")).toBe("This is not a relay address.");
    expect(relayAddressProblem(`sotto+ws://${FINGERPRINT}@127.0.0.1.evil.example`)).toContain("without encryption");
  });
});

describe("the question before a relay from the URL is used", () => {
  let root: HTMLElement;
  beforeEach(() => {
    root = document.createElement("div");
    document.body.append(root);
  });
  afterEach(() => {
    render(null, root);
    root.remove();
  });

  function buttons(): string[] {
    return [...root.querySelectorAll("button")].map((button) => button.textContent ?? "");
  }

  it("shows the address and uses it only when accepted", async () => {
    const address = `sotto://${FINGERPRINT}@relay.example:443`;
    const onChoose = vi.fn();
    await act(() => render(<RelayConfirm address={address} onChoose={onChoose} />, root));
    expect(root.querySelector('[role="alertdialog"]')).not.toBeNull();
    expect(root.querySelector(".relay-address")?.textContent).toBe(address);
    expect(buttons()).toEqual(["Use this relay", "Keep the current relay"]);
    await act(() => root.querySelectorAll("button")[1]!.click());
    expect(onChoose).toHaveBeenLastCalledWith(false);
    await act(() => root.querySelectorAll("button")[0]!.click());
    expect(onChoose).toHaveBeenLastCalledWith(true);
  });

  it("offers only to keep the current relay for plain WebSocket to another machine", async () => {
    const onChoose = vi.fn();
    await act(() =>
      render(<RelayConfirm address={`sotto+ws://${FINGERPRINT}@relay.example`} onChoose={onChoose} />, root),
    );
    expect(root.querySelector('[role="alert"]')?.textContent).toContain("without encryption");
    expect(buttons()).toEqual(["Keep the current relay"]);
  });
});
