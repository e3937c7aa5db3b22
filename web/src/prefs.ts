// The UI's own preferences (mute, notification preview, app lock, blur): one
// JSON record that the wasm bridge stores sealed beside the core's records, so
// they survive a reload and never sit in the browser unencrypted.

import type { ChatId, NotificationPreview } from "./backend";
import { DEFAULT_SETTINGS } from "./backend";

/** The UI's preferences, stored sealed in the profile. */
export interface Prefs {
  muted: ChatId[];
  notificationPreview: NotificationPreview;
  notificationSound: boolean;
  lockAfterSeconds: number;
  privacyBlur: boolean;
}

const PREVIEWS: readonly NotificationPreview[] = ["name-and-text", "name-only", "nothing"];

/** Reads stored preferences, keeping the defaults for anything missing or malformed. */
export function parsePrefs(json: string): Prefs {
  const prefs: Prefs = {
    muted: [],
    notificationPreview: DEFAULT_SETTINGS.notificationPreview,
    notificationSound: DEFAULT_SETTINGS.notificationSound,
    lockAfterSeconds: DEFAULT_SETTINGS.lockAfterSeconds,
    privacyBlur: DEFAULT_SETTINGS.privacyBlur,
  };
  let stored: unknown;
  try {
    stored = json ? JSON.parse(json) : null;
  } catch {
    return prefs;
  }
  if (typeof stored !== "object" || stored === null) return prefs;
  const value = stored as Record<string, unknown>;
  // Chat ids were stored as decimal strings before they were the core's numbers.
  if (Array.isArray(value.muted))
    prefs.muted = value.muted
      .map((id: unknown) => (typeof id === "string" && /^\d+$/.test(id) ? Number(id) : id))
      .filter((id): id is ChatId => typeof id === "number" && Number.isSafeInteger(id) && id >= 0);
  if (PREVIEWS.includes(value.notificationPreview as NotificationPreview))
    prefs.notificationPreview = value.notificationPreview as NotificationPreview;
  if (typeof value.lockAfterSeconds === "number" && Number.isFinite(value.lockAfterSeconds))
    prefs.lockAfterSeconds = Math.max(0, value.lockAfterSeconds);
  if (typeof value.privacyBlur === "boolean") prefs.privacyBlur = value.privacyBlur;
  if (typeof value.notificationSound === "boolean") prefs.notificationSound = value.notificationSound;
  return prefs;
}
