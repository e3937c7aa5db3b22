import { describe, expect, it } from "vitest";
import { parseInviteLink, parseInviteLocation } from "../src/invite-link";

const origin = "https://relay.example";

describe("invitation links", () => {
  it("reads the payload from the fragment only", () => {
    expect(parseInviteLocation({ origin, pathname: "/invite", hash: "#i1.QUJD-_x" })).toEqual({
      kind: "invite",
      payload: "i1.QUJD-_x",
      link: `${origin}/invite#i1.QUJD-_x`,
    });
  });

  it("accepts the trailing slash the relay redirects to", () => {
    expect(parseInviteLocation({ origin, pathname: "/invite/", hash: "#abc" })?.payload).toBe("abc");
  });

  it("reads contact addresses", () => {
    expect(parseInviteLocation({ origin, pathname: "/contact", hash: "#a1.xyz" })?.kind).toBe("contact");
  });

  it("reads group links", () => {
    expect(parseInviteLocation({ origin, pathname: "/group", hash: "#AQMxyz" })).toEqual({
      kind: "group",
      payload: "AQMxyz",
      link: `${origin}/group#AQMxyz`,
    });
    expect(parseInviteLink("https://relay.example/group/#AQMxyz")?.kind).toBe("group");
  });

  it("ignores other pages and empty or malformed fragments", () => {
    expect(parseInviteLocation({ origin, pathname: "/", hash: "#abc" })).toBeNull();
    expect(parseInviteLocation({ origin, pathname: "/invites", hash: "#abc" })).toBeNull();
    expect(parseInviteLocation({ origin, pathname: "/invite", hash: "" })).toBeNull();
    expect(parseInviteLocation({ origin, pathname: "/invite", hash: "#" })).toBeNull();
    expect(parseInviteLocation({ origin, pathname: "/invite", hash: "#<script>" })).toBeNull();
    expect(parseInviteLocation({ origin, pathname: "/invite", hash: `#${"A".repeat(20_000)}` })).toBeNull();
  });

  it("parses pasted links, ignoring the query and refusing other schemes", () => {
    expect(parseInviteLink("  https://other.relay:8443/invite#i1.abc \n")?.link).toBe(
      "https://other.relay:8443/invite#i1.abc",
    );
    expect(parseInviteLink("https://relay.example/invite?x=1#i1.abc")).toBeNull();
    expect(parseInviteLink("javascript:alert(1)//invite#abc")).toBeNull();
    expect(parseInviteLink("not a link")).toBeNull();
    expect(parseInviteLink("https://relay.example/invite")).toBeNull();
  });
});
