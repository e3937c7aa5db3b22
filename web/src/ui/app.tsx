// The top level: which screen the profile's state calls for, and an
// invitation link the page was opened with (kept in memory only).

import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import type { Backend } from "../backend";
import { errorMessage } from "../errors";
import type { ParsedLink } from "../invite-link";
import { GroupPictures } from "./group-pictures";
import { Main } from "./main";
import { Moved } from "./moved";
import { Unlock } from "./unlock";
import { Welcome } from "./welcome";

type Phase =
  | { name: "loading" }
  | { name: "welcome" }
  | { name: "locked" }
  | { name: "unlocked" }
  | { name: "moved" }
  | { name: "error"; message: string };

export interface AppProps {
  backend: Backend;
  /** The invitation in the page's address, if it was opened with one. */
  initialInvite?: ParsedLink | null;
}

export function App({ backend, initialInvite = null }: AppProps) {
  const [phase, setPhase] = useState<Phase>({ name: "loading" });
  const [invite, setInvite] = useState<ParsedLink | null>(initialInvite);
  /** The notification sound setting as last unlocked: the lock screen's notification follows it. */
  const sound = useRef(false);
  const keepSound = useCallback((on: boolean) => {
    sound.current = on;
  }, []);

  useEffect(() => {
    backend.profileState().then(
      (state) => setPhase({ name: state === "none" ? "welcome" : state } as Phase),
      (error: unknown) => setPhase({ name: "error", message: errorMessage(error) }),
    );
    return backend.subscribe((event) => {
      if (event.type === "locked") setPhase({ name: "locked" });
      if (event.type === "moved") setPhase({ name: "moved" });
    });
  }, [backend]);

  const lock = useCallback(() => {
    // Drop the UI's copies of chat data at once, whatever the core says.
    setPhase({ name: "locked" });
    backend.lock().catch(() => undefined);
  }, [backend]);

  switch (phase.name) {
    case "loading":
      return (
        <div class="center-screen" role="status">
          <p>Opening Sotto…</p>
        </div>
      );
    case "error":
      return (
        <div class="center-screen">
          <div class="card" role="alert">
            <h1>Sotto cannot start</h1>
            <p>{phase.message}</p>
          </div>
        </div>
      );
    case "welcome":
      return <Welcome backend={backend} onReady={() => setPhase({ name: "unlocked" })} />;
    case "moved":
      return <Moved backend={backend} onStartOver={() => setPhase({ name: "welcome" })} />;
    case "locked":
      return <Unlock backend={backend} onUnlocked={() => setPhase({ name: "unlocked" })} sound={sound.current} />;
    case "unlocked":
      return (
        <GroupPictures backend={backend}>
          <Main
            backend={backend}
            onLock={lock}
            onSoundSetting={keepSound}
            invite={invite}
            onInviteHandled={() => setInvite(null)}
          />
        </GroupPictures>
      );
  }
}
