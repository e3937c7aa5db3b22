// Browser notifications for incoming messages while Sotto is not in front
// (the tab hidden, or another window or tab focused), following the preview
// setting and per-chat mute, with an optional short sound.

import type { NotificationPreview } from "./backend";

export interface NotificationContent {
  title: string;
  body: string;
}

/** What a notification shows for a message, given the preview setting. */
export function notificationContent(preview: NotificationPreview, name: string, text: string): NotificationContent {
  switch (preview) {
    case "name-and-text":
      return { title: name, body: text.length > 200 ? `${text.slice(0, 199)}…` : text };
    case "name-only":
      return { title: name, body: "New message" };
    case "nothing":
      return { title: "Sotto", body: "New message" };
  }
}

/** What a notification for a new message in `chat` shows, or null when the chat is muted. */
export function messageNotification(
  preview: NotificationPreview,
  chat: { name: string; muted: boolean } | undefined,
  text: string,
  group?: { sender: string; mentionsMe: boolean },
): NotificationContent | null {
  // A mention of the user notifies even in a muted group, as WhatsApp does.
  if (chat?.muted && !group?.mentionsMe) return null;
  const name = chat?.name ?? "A contact";
  if (!group) return notificationContent(preview, name, text);
  const title = group.mentionsMe ? `${group.sender} mentioned you in ${name}` : `${group.sender} in ${name}`;
  return notificationContent(preview, title, text);
}

/**
 * What a notification says of something that arrived while Sotto is locked:
 * nothing about it (it stays sealed until the next unlock), whatever the
 * preview setting.
 */
export const LOCKED_NOTIFICATION: NotificationContent = {
  title: "New activity in Sotto",
  body: "Unlock Sotto to see it.",
};

/** The lock screen's line for `count` deliveries waiting, or "" for none. */
export function heldNotice(count: number): string {
  if (count <= 0) return "";
  return count === 1
    ? "1 new delivery while locked. Unlock to see it."
    : `${count} new deliveries while locked. Unlock to see them.`;
}

/** The tab title while locked: the count of what waits, never a name or text. */
export function lockedTitle(count: number): string {
  return count > 0 ? `(${count}) Sotto` : "Sotto";
}

export function notificationsSupported(): boolean {
  return typeof Notification !== "undefined";
}

/** Whether the user may not be looking at Sotto: its tab hidden, or its window not focused. */
export function outOfSight(): boolean {
  return document.visibilityState === "hidden" || !document.hasFocus();
}

/**
 * Shows a notification if Sotto is out of sight and permission was granted
 * (the caller leaves muted chats out), with a sound if asked for.
 */
export function notify(content: NotificationContent, tag: string, onClick: () => void, sound = false): void {
  // Focus first: reading the permission costs a call into the browser.
  if (!outOfSight()) return;
  if (!notificationsSupported() || Notification.permission !== "granted") return;
  if (sound) chime();
  // The tag replaces the chat's previous notification instead of stacking them.
  const notification = new Notification(content.title, { body: content.body, tag });
  notification.onclick = () => {
    window.focus();
    onClick();
    notification.close();
  };
}

let audio: AudioContext | null = null;

/** A short, quiet two-note chime, made on the spot (no sound file is fetched). */
export function chime(): void {
  if (typeof AudioContext === "undefined") return;
  try {
    audio ??= new AudioContext();
    const start = audio.currentTime;
    for (const [index, frequency] of [880, 1175].entries()) {
      const tone = audio.createOscillator();
      const level = audio.createGain();
      tone.frequency.value = frequency;
      const at = start + index * 0.12;
      level.gain.setValueAtTime(0.0001, at);
      level.gain.exponentialRampToValueAtTime(0.15, at + 0.02);
      level.gain.exponentialRampToValueAtTime(0.0001, at + 0.25);
      tone.connect(level).connect(audio.destination);
      tone.start(at);
      tone.stop(at + 0.3);
    }
  } catch {
    // No sound (the browser refused audio before any user gesture): the notification still shows.
  }
}
