// Browser notifications for incoming messages while the tab is hidden,
// following the preview setting and per-chat mute.

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
): NotificationContent | null {
  if (chat?.muted) return null;
  return notificationContent(preview, chat?.name ?? "A contact", text);
}

export function notificationsSupported(): boolean {
  return typeof Notification !== "undefined";
}

/** Shows a notification if the page is hidden, the chat is not muted and permission was granted. */
export function notify(content: NotificationContent, tag: string, onClick: () => void): void {
  // Visibility first: reading the permission costs a call into the browser.
  if (document.visibilityState !== "hidden") return;
  if (!notificationsSupported() || Notification.permission !== "granted") return;
  // The tag replaces the chat's previous notification instead of stacking them.
  const notification = new Notification(content.title, { body: content.body, tag });
  notification.onclick = () => {
    window.focus();
    onClick();
    notification.close();
  };
}
