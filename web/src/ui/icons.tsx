// Small inline SVG icons (no icon font, no request). Decorative unless labelled.

import type { ComponentChildren } from "preact";
import type { MessageStatus } from "../backend";
import { receiptLabel } from "../format";

function Svg({ children, label, class: className }: { children: ComponentChildren; label?: string; class?: string }) {
  return (
    <svg
      class={`icon ${className ?? ""}`}
      viewBox="0 0 24 24"
      width="20"
      height="20"
      fill="none"
      stroke="currentColor"
      stroke-width="2"
      stroke-linecap="round"
      stroke-linejoin="round"
      role={label ? "img" : undefined}
      aria-label={label}
      aria-hidden={label ? undefined : true}
      focusable="false"
    >
      {children}
    </svg>
  );
}

export function Logo() {
  return (
    <svg class="logo" viewBox="0 0 48 48" width="48" height="48" aria-hidden="true" focusable="false">
      <rect x="2" y="2" width="44" height="44" rx="14" fill="var(--accent)" />
      <path
        d="M15 30c2 3 5 4 9 4 5 0 9-2 9-6s-4-5-9-6-8-2-8-5 3-5 8-5c3 0 6 1 8 3"
        fill="none"
        stroke="#fff"
        stroke-width="3.5"
        stroke-linecap="round"
      />
    </svg>
  );
}

export const IconSearch = () => (
  <Svg>
    <circle cx="11" cy="11" r="7" />
    <path d="m20 20-3.5-3.5" />
  </Svg>
);
export const IconPlus = () => (
  <Svg>
    <path d="M12 5v14M5 12h14" />
  </Svg>
);
export const IconGroup = () => (
  <Svg>
    <circle cx="9" cy="8" r="3" />
    <circle cx="17" cy="9" r="2.5" />
    <path d="M3 19c0-3.3 2.7-5 6-5s6 1.7 6 5M15 14.5c3 0 6 1.3 6 4.5" />
  </Svg>
);
export const IconLock = () => (
  <Svg>
    <rect x="5" y="11" width="14" height="10" rx="2" />
    <path d="M8 11V7a4 4 0 0 1 8 0v4" />
  </Svg>
);
export const IconSettings = () => (
  <Svg>
    <circle cx="12" cy="12" r="3" />
    <path d="M19.4 15a1.7 1.7 0 0 0 .3 1.8l.1.1a2 2 0 1 1-2.8 2.8l-.1-.1a1.7 1.7 0 0 0-1.8-.3 1.7 1.7 0 0 0-1 1.5V21a2 2 0 1 1-4 0v-.1a1.7 1.7 0 0 0-1.1-1.5 1.7 1.7 0 0 0-1.8.3l-.1.1a2 2 0 1 1-2.8-2.8l.1-.1a1.7 1.7 0 0 0 .3-1.8 1.7 1.7 0 0 0-1.5-1H3a2 2 0 1 1 0-4h.1a1.7 1.7 0 0 0 1.5-1.1 1.7 1.7 0 0 0-.3-1.8l-.1-.1a2 2 0 1 1 2.8-2.8l.1.1a1.7 1.7 0 0 0 1.8.3H9a1.7 1.7 0 0 0 1-1.5V3a2 2 0 1 1 4 0v.1a1.7 1.7 0 0 0 1 1.5 1.7 1.7 0 0 0 1.8-.3l.1-.1a2 2 0 1 1 2.8 2.8l-.1.1a1.7 1.7 0 0 0-.3 1.8V9a1.7 1.7 0 0 0 1.5 1H21a2 2 0 1 1 0 4h-.1a1.7 1.7 0 0 0-1.5 1z" />
  </Svg>
);
export const IconPeople = () => (
  <Svg>
    <circle cx="9" cy="8" r="4" />
    <path d="M2 21v-1a6 6 0 0 1 12 0v1M16 4a4 4 0 0 1 0 8M22 21v-1a6 6 0 0 0-4-5.6" />
  </Svg>
);
export const IconBack = () => (
  <Svg>
    <path d="M15 18l-6-6 6-6" />
  </Svg>
);
export const IconDown = () => (
  <Svg>
    <path d="m6 9 6 6 6-6" />
  </Svg>
);
export const IconClose = () => (
  <Svg>
    <path d="M18 6 6 18M6 6l12 12" />
  </Svg>
);
export const IconMore = () => (
  <Svg>
    <circle cx="12" cy="5" r="1" />
    <circle cx="12" cy="12" r="1" />
    <circle cx="12" cy="19" r="1" />
  </Svg>
);
export const IconSend = () => (
  <Svg>
    <path d="M22 2 11 13M22 2l-7 20-4-9-9-4z" />
  </Svg>
);
export const IconTimer = ({ label }: { label?: string }) => (
  <Svg {...(label ? { label } : {})}>
    <circle cx="12" cy="13" r="8" />
    <path d="M12 9v4l2 2M9 2h6" />
  </Svg>
);
export const IconMuted = () => (
  <Svg label="Muted">
    <path d="M11 5 6 9H2v6h4l5 4zM23 9l-6 6M17 9l6 6" />
  </Svg>
);
export const IconShield = ({ label }: { label?: string }) => (
  <Svg {...(label ? { label } : {})}>
    <path d="M12 22s8-4 8-10V5l-8-3-8 3v7c0 6 8 10 8 10z" />
    <path d="m9 12 2 2 4-4" />
  </Svg>
);
export const IconWarning = () => (
  <Svg>
    <path d="M10.3 3.9 1.8 18a2 2 0 0 0 1.7 3h17a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0zM12 9v4M12 17h.01" />
  </Svg>
);
export const IconReply = () => (
  <Svg>
    <path d="M9 17 4 12l5-5M20 18v-2a4 4 0 0 0-4-4H4" />
  </Svg>
);

/** The receipt tick of an outgoing message, named for screen readers. */
export function ReceiptTick({ status }: { status: MessageStatus }) {
  const label = receiptLabel(status);
  if (status === "pending") {
    return (
      <Svg label={label} class="tick pending">
        <circle cx="12" cy="12" r="8" />
        <path d="M12 8v4l3 2" />
      </Svg>
    );
  }
  if (status === "failed") {
    return (
      <Svg label={label} class="tick failed">
        <circle cx="12" cy="12" r="9" />
        <path d="M12 8v5M12 16h.01" />
      </Svg>
    );
  }
  return (
    <Svg label={label} class={`tick ${status}`}>
      {status === "sent" ? <path d="m5 12 5 5 9-10" /> : <path d="m2 12 5 5 9-10M12 16l1 1 9-10" />}
    </Svg>
  );
}
export const IconPin = ({ label }: { label?: string }) => (
  <Svg {...(label ? { label } : {})}>
    <path d="M12 17v5M9 3h6l-1 7 4 3v2H6v-2l4-3z" />
  </Svg>
);
export const IconArchive = () => (
  <Svg>
    <path d="M3 4h18v4H3zM5 8v12h14V8M10 12h4" />
  </Svg>
);
export const IconEmoji = () => (
  <Svg>
    <circle cx="12" cy="12" r="9" />
    <path d="M8.5 14.5c.9 1.3 2.1 2 3.5 2s2.6-.7 3.5-2" />
    <path d="M9 9.5h.01M15 9.5h.01" />
  </Svg>
);
export const IconAttach = () => (
  <Svg>
    <path d="m21 11-8.6 8.6a5 5 0 0 1-7-7L14 4a3.5 3.5 0 0 1 5 5l-8.6 8.6a2 2 0 0 1-2.9-2.9L16 7.3" />
  </Svg>
);
export const IconDownload = () => (
  <Svg>
    <path d="M12 4v11M7 10l5 5 5-5M5 20h14" />
  </Svg>
);
export const IconFile = () => (
  <Svg>
    <path d="M14 3H7a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2V8z" />
    <path d="M14 3v5h5" />
  </Svg>
);
export const IconMic = () => (
  <Svg>
    <rect x="9" y="3" width="6" height="11" rx="3" />
    <path d="M5 11a7 7 0 0 0 14 0M12 18v3" />
  </Svg>
);
export const IconPlay = () => (
  <Svg>
    <path d="M7 4v16l13-8z" />
  </Svg>
);
export const IconPause = () => (
  <Svg>
    <path d="M8 5v14M16 5v14" />
  </Svg>
);
