// Groups' pictures as their avatars: read from the core when the list opens
// and again when a group's profile changes (`group_profile_changed`), a group
// is joined or a chat removed, shared by the chat list, the conversation's header and the
// info panel through a context. The object URLs are revoked when the
// profile locks.

import { createContext, type ComponentChildren } from "preact";
import { useContext, useEffect, useState } from "preact/hooks";
import type { Backend, ChatId, ChatView } from "../backend";
import { GroupPictureUrls } from "../group-pictures";
import { Avatar } from "./avatar";

export const GroupPicturesContext = createContext<ReadonlyMap<ChatId, string>>(new Map());

/** Gives the chats under it their groups' pictures, while the profile is unlocked. */
export function GroupPictures({ backend, children }: { backend: Backend; children: ComponentChildren }) {
  return <GroupPicturesContext.Provider value={useGroupPictures(backend)}>{children}</GroupPicturesContext.Provider>;
}

/** The object URLs of the groups' pictures, kept up to date while mounted. */
function useGroupPictures(backend: Backend): ReadonlyMap<ChatId, string> {
  const [pictures, setPictures] = useState<ReadonlyMap<ChatId, string>>(new Map());
  useEffect(() => {
    const urls = new GroupPictureUrls();
    let alive = true;
    let loading = false;
    let again = false;
    // One read at a time; changes during it read once more after it.
    const load = () => {
      if (loading) {
        again = true;
        return;
      }
      loading = true;
      backend
        .groups()
        .then(
          (groups) => alive && setPictures((previous) => urls.update(groups, previous)),
          () => undefined,
        )
        .finally(() => {
          loading = false;
          if (alive && again) {
            again = false;
            load();
          }
        });
    };
    load();
    const unsubscribe = backend.subscribe((event) => {
      // Not at each change of a group's chat: reading the groups reads each
      // one's whole state, long in a large group.
      if (event.type === "group_profile_changed" || event.type === "group_joined" || event.type === "chat_removed")
        load();
    });
    return () => {
      alive = false;
      unsubscribe();
      urls.clear();
    };
  }, [backend]);
  return pictures;
}

/** A chat's avatar: a group's picture where it has one, else the initials of its name. */
export function ChatAvatar({ chat, name }: { chat: Pick<ChatView, "id" | "members">; name: string }) {
  const picture = useContext(GroupPicturesContext).get(chat.id);
  return <PictureAvatar name={name} picture={chat.members == null ? undefined : picture} />;
}

/** A picture's object URL as an avatar, or the initials of `name` where there is none or it does not draw. */
export function PictureAvatar({ name, picture }: { name: string; picture: string | undefined }) {
  const [broken, setBroken] = useState<string | null>(null);
  if (picture === undefined || broken === picture) return <Avatar name={name} />;
  return (
    <img
      class="avatar picture"
      src={picture}
      alt=""
      aria-hidden="true"
      decoding="async"
      onError={() => setBroken(picture)}
    />
  );
}
