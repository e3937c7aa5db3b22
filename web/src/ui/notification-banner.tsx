// The banner above the chat list that offers notifications until the browser
// was asked (or the user said not now): the permission prompt only ever
// follows a click here or in the settings.

import { useState } from "preact/hooks";
import { notificationsSupported } from "../notifications";

/** Where "Not now" is remembered (in this browser only; it says nothing about the profile). */
const DISMISSED_KEY = "sotto.notifications-banner-dismissed";

function dismissed(): boolean {
  try {
    return window.localStorage.getItem(DISMISSED_KEY) === "1";
  } catch {
    return false;
  }
}

export function NotificationBanner() {
  const [shown, setShown] = useState(
    () => notificationsSupported() && Notification.permission === "default" && !dismissed(),
  );
  if (!shown) return null;
  return (
    <div class="notice-banner" role="region" aria-label="Notification permission">
      <p>Get notified of new messages while Sotto is in the background.</p>
      <div class="buttons">
        <button
          type="button"
          class="primary"
          onClick={() => {
            void Notification.requestPermission().finally(() => setShown(Notification.permission === "default"));
          }}
        >
          Allow notifications
        </button>
        <button
          type="button"
          onClick={() => {
            try {
              window.localStorage.setItem(DISMISSED_KEY, "1");
            } catch {
              // Not remembered: the banner comes back at the next unlock.
            }
            setShown(false);
          }}
        >
          Not now
        </button>
      </div>
    </div>
  );
}
