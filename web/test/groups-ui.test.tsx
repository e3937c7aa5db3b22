// Group flows against the in-memory fake backend, rendered into happy-dom.

import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FakeBackend } from "../src/fake-backend";
import { App } from "../src/ui/app";

let root: HTMLElement;

beforeEach(() => {
  root = document.createElement("div");
  document.body.append(root);
});

afterEach(() => {
  render(null, root);
  root.remove();
});

async function settle(rounds = 5): Promise<void> {
  for (let round = 0; round < rounds; round += 1) {
    await act(async () => {
      await new Promise((resolve) => setTimeout(resolve, 0));
    });
  }
}

async function mount(backend: FakeBackend): Promise<void> {
  await act(() => render(<App backend={backend} initialInvite={null} />, root));
  await settle();
}

function button(label: string, within: ParentNode = root): HTMLButtonElement {
  const found = [...within.querySelectorAll<HTMLButtonElement>("button")].find(
    (candidate) => candidate.textContent?.trim() === label || candidate.getAttribute("aria-label") === label,
  );
  if (!found) throw new Error(`no button "${label}"`);
  return found;
}

async function click(element: HTMLElement): Promise<void> {
  await act(() => element.click());
  await settle();
}

async function type(element: HTMLInputElement | HTMLTextAreaElement, value: string): Promise<void> {
  await act(() => {
    element.value = value;
    element.setSelectionRange(value.length, value.length);
    element.dispatchEvent(new Event("input", { bubbles: true }));
  });
}

async function key(element: HTMLElement, init: KeyboardEventInit): Promise<void> {
  await act(() => {
    element.dispatchEvent(new KeyboardEvent("keydown", { bubbles: true, cancelable: true, ...init }));
  });
  await settle();
}

function chatRow(name: string): HTMLElement {
  const row = [...root.querySelectorAll<HTMLElement>(".chat-row")].find((candidate) =>
    candidate.querySelector(".chat-name")?.textContent?.includes(name),
  );
  if (!row) throw new Error(`no chat "${name}"`);
  return row;
}

describe("groups", () => {
  it("makes a group with the contacts picked and opens it", async () => {
    const backend = FakeBackend.withProfile();
    const bob = backend.addChat("Bob");
    backend.addChat("Cy");
    await mount(backend);
    await click(button("New group"));
    const dialog = root.querySelector<HTMLElement>('[role="dialog"]')!;
    await type(dialog.querySelector("input")!, "Climbing");
    const bobBox = [...dialog.querySelectorAll("label")]
      .find((label) => label.textContent?.includes("Bob"))!
      .querySelector("input")!;
    await click(bobBox);
    await click(button("Create group", dialog));
    expect(backend.calls.find((call) => call.method === "createGroup")?.args).toEqual(["Climbing", [bob]]);
    expect(root.querySelector('[aria-label="Chat with Climbing"]')).not.toBeNull();
    expect(chatRow("Climbing").textContent).toContain("Group");
  });

  it("shows each member's name, offers members after @ and sends the mention", async () => {
    const backend = FakeBackend.withProfile();
    const group = backend.addGroup("Climbing", ["Bob", "Cy"]);
    await mount(backend);
    await click(chatRow("Climbing"));
    await act(() => {
      backend.receiveInGroup(group, "Bob", "who brings the rope?", true);
    });
    await settle();
    const sender = root.querySelector(".message.mentions-me .sender");
    expect(sender?.textContent).toContain("Bob");
    const box = root.querySelector<HTMLTextAreaElement>('[aria-label="Message to Climbing"]')!;
    await type(box, "@C");
    const offered = root.querySelector('[aria-label="Members to mention"]');
    expect(offered?.textContent).toBe("Cy");
    await key(box, { key: "Tab" });
    expect(box.value).toBe("@Cy ");
    await type(box, "@Cy does");
    await key(box, { key: "Enter" });
    const sent = backend.calls.find((call) => call.method === "sendText");
    expect(sent?.args[1]).toEqual({ text: "@Cy does", mentions: [(await backend.groupMembers(group))[2]!.id] });
  });

  it("sends files dropped on a group's chat, and shows a member's file under their name", async () => {
    const backend = FakeBackend.withProfile();
    const group = backend.addGroup("Climbing", ["Bob", "Cy"]);
    await mount(backend);
    await click(chatRow("Climbing"));
    expect(button("Attach files")).not.toBeNull();
    const conversation = root.querySelector<HTMLElement>(".conversation")!;
    const dataTransfer = { types: ["Files"], files: [new File(["a"], "topo.pdf")], dropEffect: "none" };
    await act(() => {
      const drop = new Event("drop", { bubbles: true, cancelable: true });
      Object.defineProperty(drop, "dataTransfer", { value: dataTransfer });
      conversation.dispatchEvent(drop);
    });
    await settle();
    const sent = backend.calls.filter((call) => call.method === "sendFile").map((call) => call.args.slice(0, 2));
    expect(sent).toEqual([[group, "topo.pdf"]]);
    await act(() => {
      backend.receiveFile(group, new File(["bb"], "crag.png"), "crag.png", "image/png", "Bob");
    });
    await settle();
    const card = root.querySelector('[aria-label="File crag.png"]');
    expect(card?.closest(".message")?.querySelector(".sender")?.textContent).toContain("Bob");
  });

  it("lists members with their roles and removes one", async () => {
    const backend = FakeBackend.withProfile();
    const group = backend.addGroup("Climbing", ["Bob", "Cy"]);
    await mount(backend);
    await click(chatRow("Climbing"));
    await click(button("Group info"));
    const dialog = root.querySelector<HTMLElement>('[role="dialog"]')!;
    expect(dialog.textContent).toContain("Alice (you)Owner");
    const bobRow = [...dialog.querySelectorAll<HTMLElement>(".member")].find((row) =>
      row.textContent?.includes("Bob"),
    )!;
    await click(button("Security code", bobRow));
    expect(dialog.querySelector('[aria-label="Security code with Bob"]')?.textContent).toMatch(/^[\d ]+$/);
    await click(button("Remove", bobRow));
    expect(backend.calls.find((call) => call.method === "removeGroupMember")?.args[0]).toBe(group);
    expect((await backend.groupMembers(group)).map((member) => member.name)).toEqual(["Alice", "Cy"]);
  });

  it("an owner edits the group's name and description; every member's panel shows them", async () => {
    const backend = FakeBackend.withProfile();
    const group = backend.addGroup("Climbing", ["Bob"]);
    await mount(backend);
    await click(chatRow("Climbing"));
    await click(button("Group info"));
    const dialog = root.querySelector<HTMLElement>('[role="dialog"]')!;
    expect(dialog.textContent).toContain("No description.");
    await click(button("Edit group", dialog));
    const name = [...dialog.querySelectorAll("label")]
      .find((label) => label.textContent?.startsWith("Group name"))!
      .querySelector("input")!;
    const description = dialog.querySelector("textarea")!;
    await type(name, "Climbing club");
    await type(description, "Saturdays at the wall");
    await click(button("Save", dialog));
    expect(backend.calls.find((call) => call.method === "setGroupProfile")?.args.slice(0, 3)).toEqual([
      group,
      "Climbing club",
      "Saturdays at the wall",
    ]);
    expect(dialog.textContent).toContain("Saturdays at the wall");
    expect((await backend.groups())[0]).toMatchObject({ name: "Climbing club", description: "Saturdays at the wall" });
  });

  it("shows a group's picture as its avatar in the list, the header and the info panel, and revokes it once gone", async () => {
    const made: string[] = [];
    const revoked: string[] = [];
    const create = vi.spyOn(URL, "createObjectURL").mockImplementation((blob) => {
      expect((blob as Blob).type).toMatch(/^image\/(png|jpeg)$/);
      made.push(`blob:test/${made.length}`);
      return made.at(-1)!;
    });
    const revoke = vi.spyOn(URL, "revokeObjectURL").mockImplementation((url) => void revoked.push(url));
    try {
      const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
      const jpeg = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 16]);
      const backend = FakeBackend.withProfile();
      backend.addChat("Dora");
      const group = backend.addGroup("Climbing", ["Bob"]);
      await backend.setGroupProfile(group, "Climbing", "", png);
      await mount(backend);
      const picture = (within: ParentNode) => within.querySelector("img.avatar")?.getAttribute("src") ?? null;
      expect(picture(chatRow("Climbing"))).toBe(made[0]);
      // A contact keeps its initials.
      expect(picture(chatRow("Dora"))).toBeNull();
      expect(chatRow("Dora").querySelector(".avatar")?.textContent).toBe("D");
      await click(chatRow("Climbing"));
      expect(picture(root.querySelector(".conversation-header")!)).toBe(made[0]);
      await click(button("Group info"));
      const dialog = root.querySelector<HTMLElement>('[role="dialog"]')!;
      expect(picture(dialog.querySelector(".contact-card")!)).toBe(made[0]);
      expect(made).toHaveLength(1);
      // A change of the group's chat alone (a message, its unread count)
      // does not read every group again: that reads each one's whole state.
      const reads = vi.spyOn(backend, "groups");
      const [chat] = (await backend.chats()).filter((view) => view.id === group);
      await act(() => backend.emit({ type: "chat_changed", chat: chat! }));
      await settle();
      expect(reads).not.toHaveBeenCalled();
      reads.mockRestore();

      // A new picture (as from another admin): a new URL, the old one revoked.
      await act(() => backend.setGroupProfile(group, "Climbing", "", jpeg));
      await settle();
      expect(made).toHaveLength(2);
      expect(revoked).toEqual([made[0]]);
      expect(picture(chatRow("Climbing"))).toBe(made[1]);
      // Bytes that are no image, or none: the initials again.
      await act(() => backend.setGroupProfile(group, "Climbing", "", new TextEncoder().encode("<svg onload=x>")));
      await settle();
      expect(revoked).toEqual([made[0], made[1]]);
      expect(picture(chatRow("Climbing"))).toBeNull();
      expect(chatRow("Climbing").querySelector(".avatar")?.textContent).toBe("C");
      // Locking revokes every URL.
      await act(() => backend.setGroupProfile(group, "Climbing", "", png));
      await settle();
      expect(picture(chatRow("Climbing"))).toBe(made[2]);
      await click(button("Close", dialog));
      await click(button("Lock Sotto"));
      expect(revoked).toEqual(made);
    } finally {
      create.mockRestore();
      revoke.mockRestore();
    }
  });

  it("a member changes the name and picture it shows in the group; members' pictures are their avatars", async () => {
    const made: string[] = [];
    const revoked: string[] = [];
    const create = vi.spyOn(URL, "createObjectURL").mockImplementation(() => {
      made.push(`blob:test/${made.length}`);
      return made.at(-1)!;
    });
    const revoke = vi.spyOn(URL, "revokeObjectURL").mockImplementation((url) => void revoked.push(url));
    try {
      const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
      const backend = FakeBackend.withProfile();
      const group = backend.addGroup("Climbing", ["Bob"]);
      await backend.setGroupSelf(group, { picture: png });
      await mount(backend);
      await click(chatRow("Climbing"));
      await click(button("Group info"));
      const dialog = root.querySelector<HTMLElement>('[role="dialog"]')!;
      const row = (name: string) =>
        [...dialog.querySelectorAll<HTMLElement>(".member")].find((candidate) =>
          candidate.textContent?.includes(name),
        )!;
      // The picture is this member's avatar in the list (Bob has none: his initials).
      expect(row("Alice (you)").querySelector("img.avatar")?.getAttribute("src")).toBe(made[0]);
      expect(row("Bob").querySelector("img.avatar")).toBeNull();
      expect(row("Bob").querySelector(".avatar")?.textContent).toBe("B");
      const section = dialog.querySelector<HTMLElement>('[aria-labelledby="group-self-heading"]')!;
      expect(section.textContent).toContain("Your name and picture in this group");

      // A new name, and no picture any more.
      await click(button("Change", section));
      const name = [...section.querySelectorAll("label")]
        .find((label) => label.textContent?.startsWith("Name in this group"))!
        .querySelector("input")!;
      expect(name.value).toBe("Alice");
      await type(name, "Ally");
      await click(button("Remove the picture", section));
      await click(button("Save", section));
      expect(backend.calls.filter((call) => call.method === "setGroupSelf").at(-1)?.args).toEqual([
        group,
        { name: "Ally", picture: null },
      ]);
      expect(row("Ally (you)").querySelector("img.avatar")).toBeNull();
      expect(revoked).toEqual([made[0]]);
      expect(section.textContent).toContain("Members see the change once the group has it.");

      // A blank name is not offered.
      await click(button("Change", section));
      await type(section.querySelector("input")!, " ");
      expect(button("Save", section).disabled).toBe(true);
    } finally {
      create.mockRestore();
      revoke.mockRestore();
    }
  });

  it("leaves a group: the composer gives way to a line saying so", async () => {
    const backend = FakeBackend.withProfile();
    backend.addGroup("Climbing", ["Bob"]);
    await mount(backend);
    await click(chatRow("Climbing"));
    await click(button("Group info"));
    await click(button("Leave group"));
    await click(button("Close"));
    expect(root.textContent).toContain("You are no longer a member of this group.");
    expect(root.querySelector('[aria-label="Message to Climbing"]')).toBeNull();
  });

  it("an owner deletes the group for everyone: the composer gives way to a line saying so", async () => {
    const backend = FakeBackend.withProfile();
    const group = backend.addGroup("Climbing", ["Bob"]);
    await mount(backend);
    await click(chatRow("Climbing"));
    await click(button("Group info"));
    const confirm = window.confirm;
    window.confirm = () => true;
    try {
      await click(button("Delete group…"));
    } finally {
      window.confirm = confirm;
    }
    expect(backend.calls.find((call) => call.method === "deleteGroup")?.args).toEqual([group]);
    await click(button("Close"));
    expect(root.textContent).toContain("This group no longer exists");
    expect(root.textContent).toContain("You deleted this group for everyone.");
    expect(root.querySelector('[aria-label="Message to Climbing"]')).toBeNull();
  });

  it("holds an invitation until the user joins or declines", async () => {
    const backend = FakeBackend.withProfile();
    const dan = backend.addChat("Dan");
    await mount(backend);
    await act(() => {
      backend.groupInvitation(dan, "Book club");
    });
    await settle();
    const held = root.querySelector<HTMLElement>('[aria-label="Group invitations"]')!;
    expect(held.textContent).toContain("Dan invites you to Book club");
    await click(button("Join", held));
    expect(backend.calls.some((call) => call.method === "acceptGroupInvitation")).toBe(true);
    expect(root.querySelector('[aria-label="Group invitations"]')).toBeNull();
    expect(chatRow("Book club")).toBeTruthy();
  });

  it("makes the group's link with its approval, then replaces and deletes it", async () => {
    const backend = FakeBackend.withProfile();
    const group = backend.addGroup("Climbing", ["Bob"]);
    await mount(backend);
    await click(chatRow("Climbing"));
    await click(button("Group info"));
    const dialog = root.querySelector<HTMLElement>('[role="dialog"]')!;
    const automatic = [...dialog.querySelectorAll("label")]
      .find((label) => label.textContent?.includes("Automatically"))!
      .querySelector("input")!;
    await click(automatic);
    await click(button("Create link", dialog));
    expect(backend.calls.find((call) => call.method === "createGroupLink")?.args).toEqual([group, true]);
    const link = dialog.querySelector<HTMLInputElement>('[aria-label="Group link"]')!.value;
    expect(link).toMatch(/^https:\/\/relay\.example\/group#/);
    expect(dialog.querySelector('[aria-label="Group link QR code"]')).not.toBeNull();
    const confirm = window.confirm;
    window.confirm = () => true;
    try {
      await click(button("Replace link", dialog));
      expect(dialog.querySelector<HTMLInputElement>('[aria-label="Group link"]')!.value).not.toBe(link);
      await click(button("Delete link", dialog));
    } finally {
      window.confirm = confirm;
    }
    expect(dialog.querySelector('[aria-label="Group link"]')).toBeNull();
    expect(await backend.groupLink(group)).toBeNull();
  });

  it("lets the approval be chosen only once the group's link is known", async () => {
    const backend = FakeBackend.withProfile();
    const group = backend.addGroup("Climbing", ["Bob"]);
    await backend.createGroupLink(group, true);
    let loaded: () => void = () => undefined;
    const known = backend.groupLink.bind(backend);
    vi.spyOn(backend, "groupLink").mockImplementation(
      (chat) => new Promise((resolve) => (loaded = () => resolve(known(chat)))),
    );
    await mount(backend);
    await click(chatRow("Climbing"));
    await click(button("Group info"));
    const dialog = root.querySelector<HTMLElement>('[role="dialog"]')!;
    const radio = (text: string) =>
      [...dialog.querySelectorAll("label")].find((label) => label.textContent?.includes(text))!.querySelector("input")!;
    // A choice made now would change nothing but the screen, and neither is
    // the link's until it is known.
    expect(radio("An admin approves each request").disabled).toBe(true);
    expect(radio("An admin approves each request").checked).toBe(false);
    expect(radio("Automatically").checked).toBe(false);
    await act(() => loaded());
    await settle();
    expect(radio("Automatically").checked).toBe(true);
    await click(radio("An admin approves each request"));
    expect(backend.calls.find((call) => call.method === "setGroupLinkApproval")?.args).toEqual([group, false]);
  });

  it("shows requests to join with a badge; approving one adds them", async () => {
    const backend = FakeBackend.withProfile();
    const group = backend.addGroup("Climbing", ["Bob"]);
    await mount(backend);
    await click(chatRow("Climbing"));
    await act(() => {
      backend.groupJoinRequest(group, "Dave");
      backend.groupJoinRequest(group, "Eve");
    });
    await settle();
    expect(button("Group info, 2 requests to join")).not.toBeNull();
    // The chat list shows it too, whichever chat is open.
    expect(chatRow("Climbing").querySelector(".join-requests")?.textContent).toBe("2 to join");
    await click(button("Group info, 2 requests to join"));
    const dialog = root.querySelector<HTMLElement>('[role="dialog"]')!;
    await click(button("Approve Dave", dialog));
    await click(button("Decline Eve", dialog));
    expect((await backend.groupMembers(group)).map((member) => member.name)).toEqual(["Alice", "Bob", "Dave"]);
    expect(await backend.groupJoinRequests(group)).toEqual([]);
    expect(dialog.textContent).toContain("No requests waiting.");
    expect(() => button("Group info, 2 requests to join")).toThrow();
    expect(chatRow("Climbing").querySelector(".join-requests")).toBeNull();
  });

  it("blocks and unblocks a member, for this user only", async () => {
    const backend = FakeBackend.withProfile();
    const group = backend.addGroup("Climbing", ["Bob"]);
    await mount(backend);
    await click(chatRow("Climbing"));
    await click(button("Group info"));
    const dialog = root.querySelector<HTMLElement>('[role="dialog"]')!;
    const bobRow = () =>
      [...dialog.querySelectorAll<HTMLElement>(".member")].find((row) => row.textContent?.includes("Bob"))!;
    await click(button("Block", bobRow()));
    expect(backend.calls.find((call) => call.method === "blockGroupMember")?.args).toEqual([
      group,
      (await backend.groupMembers(group))[1]!.id,
      true,
    ]);
    expect(bobRow().textContent).toContain("Blocked");
    await click(button("Unblock", bobRow()));
    expect((await backend.groupMembers(group))[1]!.blocked).toBe(false);
  });

  it("joins by a group link: the group's name, the name to show, then waiting until the welcome", async () => {
    const backend = FakeBackend.withProfile();
    await act(() =>
      render(
        <App
          backend={backend}
          initialInvite={{ kind: "group", payload: "Climbing", link: "https://relay.example/group#Climbing" }}
        />,
        root,
      ),
    );
    await settle();
    const dialog = root.querySelector<HTMLElement>('[role="dialog"]')!;
    expect(dialog.textContent).toContain("Group Climbing");
    const name = dialog.querySelector<HTMLInputElement>("input")!;
    expect(name.value).toBe("Alice");
    await type(name, "Rope Alice");
    // A picture is optional; a file that is no image is refused with a reason.
    const picture = [...dialog.querySelectorAll("label")]
      .find((label) => label.textContent?.startsWith("Your picture in this group"))!
      .querySelector<HTMLInputElement>('input[type="file"]')!;
    Object.defineProperty(picture, "files", { value: [new File(["plain text"], "notes.txt", { type: "text/plain" })] });
    await act(() => void picture.dispatchEvent(new Event("change", { bubbles: true })));
    await settle();
    expect(dialog.querySelector('[role="alert"]')?.textContent).toContain("That picture cannot be used");
    await click(button("Ask to join", dialog));
    expect(backend.calls.find((call) => call.method === "joinGroupByLink")?.args).toEqual([
      "https://relay.example/group#Climbing",
      "Rope Alice",
    ]);
    expect(dialog.textContent).toContain("Waiting for an admin's approval");
    const [join] = await backend.groupLinkJoins();
    await act(() => backend.answerLinkJoin(join!.id, true));
    await settle();
    expect(root.querySelector('[aria-label="Chat with Group Climbing"]')).not.toBeNull();
  });

  it("says when a request to join is refused, and cancels one waiting", async () => {
    const backend = FakeBackend.withProfile();
    const first = await backend.joinGroupByLink("https://relay.example/group#Climbing", "");
    await backend.joinGroupByLink("https://relay.example/group#Choir", "");
    await mount(backend);
    const waiting = root.querySelector<HTMLElement>('[aria-label="Asked to join"]')!;
    expect(waiting.textContent).toContain("Group Climbing");
    await act(() => backend.answerLinkJoin(first, false));
    await settle();
    expect(waiting.textContent).toContain("Your request to join Group Climbing was refused: declined.");
    await click(button("Dismiss", waiting));
    expect(waiting.textContent).not.toContain("Group Climbing");
    await click(button("Cancel request", waiting));
    expect(await backend.groupLinkJoins()).toEqual([]);
    expect(root.querySelector('[aria-label="Asked to join"]')).toBeNull();
  });
});
