// The archive export form shared by the settings and the exported profile's screen.

import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FakeBackend } from "../src/fake-backend";
import { ExportArchiveForm } from "../src/ui/export-archive";

let root: HTMLElement;

beforeEach(() => {
  root = document.createElement("div");
  document.body.append(root);
  URL.createObjectURL = vi.fn(() => "blob:archive");
  URL.revokeObjectURL = vi.fn();
});

afterEach(() => {
  render(null, root);
  root.remove();
});

async function settle(): Promise<void> {
  for (let round = 0; round < 5; round += 1) {
    await act(async () => {
      await new Promise((resolve) => setTimeout(resolve, 0));
    });
  }
}

function field(): HTMLInputElement {
  return root.querySelector<HTMLInputElement>("form input[type=password]")!;
}

function alert(): HTMLElement {
  return root.querySelector<HTMLElement>("form [role=alert]")!;
}

async function submit(passphrase: string): Promise<void> {
  await act(() => {
    field().value = passphrase;
    field().dispatchEvent(new Event("input", { bubbles: true }));
  });
  await act(() => root.querySelector<HTMLButtonElement>("form button[type=submit]")!.click());
  await settle();
}

describe("archive export form", () => {
  it("keeps the passphrase and shows the error in the form after a wrong one, clears it after a success", async () => {
    const backend = FakeBackend.withProfile("correct horse");
    const exportArchive = vi.spyOn(backend, "exportArchive");
    await act(() =>
      render(<ExportArchiveForm backend={backend} label="Passphrase" submitLabel="Export archive" />, root),
    );
    expect(alert().textContent).toBe("");
    expect(root.querySelector("label")!.textContent).toBe("Passphrase");

    await submit("wrong horse");
    expect(exportArchive).toHaveBeenLastCalledWith("wrong horse");
    expect(alert().textContent).toContain("Wrong passphrase");
    expect(field().value).toBe("wrong horse");
    expect(URL.createObjectURL).not.toHaveBeenCalled();
    expect(await backend.profileState()).toBe("unlocked");
    expect(root.querySelector<HTMLButtonElement>("form button")!.disabled).toBe(false);

    await submit("correct horse");
    expect(exportArchive).toHaveBeenLastCalledWith("correct horse");
    expect(URL.createObjectURL).toHaveBeenCalledTimes(1);
    expect(alert().textContent).toBe("");
    expect(field().value).toBe("");
    expect(await backend.profileState()).toBe("moved");
  });

  it("says that exporting moves the profile and asks first, when it does", async () => {
    const backend = FakeBackend.withProfile("correct horse");
    const exportArchive = vi.spyOn(backend, "exportArchive");
    await act(() =>
      render(<ExportArchiveForm backend={backend} label="Passphrase" submitLabel="Export archive" moves />, root),
    );
    await submit("correct horse");
    const dialog = root.querySelector<HTMLElement>("[role=dialog]")!;
    expect(dialog.textContent).toContain("Export and move this profile?");
    expect(dialog.textContent).toContain("Sotto stops using it in this browser");
    expect(exportArchive).not.toHaveBeenCalled();
    const button = (name: string) =>
      [...dialog.querySelectorAll<HTMLButtonElement>("button")].find((b) => b.textContent === name)!;
    await act(() => button("Cancel").click());
    await settle();
    expect(root.querySelector("[role=dialog]")).toBeNull();
    expect(exportArchive).not.toHaveBeenCalled();
    expect(await backend.profileState()).toBe("unlocked");

    await submit("correct horse");
    const again = root.querySelector<HTMLElement>("[role=dialog]")!;
    await act(() =>
      [...again.querySelectorAll<HTMLButtonElement>("button")]
        .find((b) => b.textContent === "Export and move")!
        .click(),
    );
    await settle();
    expect(exportArchive).toHaveBeenCalledWith("correct horse");
    expect(URL.createObjectURL).toHaveBeenCalledTimes(1);
    expect(await backend.profileState()).toBe("moved");
  });
});
