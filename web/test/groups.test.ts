import { describe, expect, it } from "vitest";
import { mentionedIn, mentionQuery } from "../src/ui/composer";
import { messageNotification } from "../src/notifications";
import { groupSubtitle } from "../src/ui/conversation";

describe("group mentions", () => {
  it("finds the @name being typed before the cursor, not an e-mail address", () => {
    expect(mentionQuery("hi @Bo", 6)).toEqual({ start: 3, query: "Bo" });
    expect(mentionQuery("@", 1)).toEqual({ start: 0, query: "" });
    expect(mentionQuery("mail ann@example.org", 20)).toBeNull();
    expect(mentionQuery("hi @Bob there", 13)).toBeNull();
  });

  it("mentions the members picked whose @name is still in the text, once each", () => {
    const picked = [
      { id: "01", name: "Bob" },
      { id: "02", name: "Cy" },
      { id: "01", name: "Bob" },
    ];
    expect(mentionedIn("@Bob and @Bob, see this", picked)).toEqual(["01"]);
    expect(mentionedIn("nobody", picked)).toEqual([]);
  });

  it("notifies a mention of the user even in a muted group", () => {
    const muted = { name: "Climbing", muted: true };
    expect(messageNotification("name-and-text", muted, "hi", { sender: "Bob", mentionsMe: false })).toBeNull();
    expect(messageNotification("name-and-text", muted, "@Ann hi", { sender: "Bob", mentionsMe: true })).toEqual({
      title: "Bob mentioned you in Climbing",
      body: "@Ann hi",
    });
    expect(
      messageNotification("name-and-text", { name: "Climbing", muted: false }, "hi", {
        sender: "Bob",
        mentionsMe: false,
      }),
    ).toEqual({ title: "Bob in Climbing", body: "hi" });
  });

  it("names a group's members in its header, the user as You", () => {
    const members = [
      { id: "00", name: "Ann", picture: null, role: "owner" as const, me: true, blocked: false },
      { id: "01", name: "Bob", picture: null, role: "member" as const, me: false, blocked: false },
    ];
    expect(groupSubtitle(members, 2)).toBe("Bob, You");
    expect(groupSubtitle([], 3)).toBe("3 members");
  });
});
