// The camera's picture while a QR code is scanned. The camera runs only while
// this is shown: closing the dialog (or a code that is accepted) stops it.

import { createContext } from "preact";
import { useContext, useEffect, useRef, useState } from "preact/hooks";
import { cameraProblemMessage, cameraSource, type CameraProblem, type QrSource } from "../qr-scan";

/** Where scanned codes come from: the camera, or a test's own source. */
export const QrSourceContext = createContext<QrSource>(cameraSource);

const PROBLEMS: readonly CameraProblem[] = ["unsupported", "denied", "no-camera", "busy", "failed"];

/**
 * Scans until `onText` returns true (the code was what was wanted); a code it
 * does not want leaves the camera running. `label` names the picture.
 */
export function QrScanner({ label, onText }: { label: string; onText: (text: string) => boolean }) {
  const source = useContext(QrSourceContext);
  const video = useRef<HTMLVideoElement>(null);
  const [problem, setProblem] = useState<CameraProblem | null>(null);
  const [starting, setStarting] = useState(true);
  const latest = useRef(onText);
  latest.current = onText;

  useEffect(() => {
    const element = video.current;
    if (!element) return;
    let stop: (() => void) | null = null;
    let closed = false;
    let last = "";
    source
      .start(element, (text) => {
        // The same code seen frame after frame is handled once.
        if (closed || text === last) return;
        last = text;
        if (latest.current(text)) {
          closed = true;
          stop?.();
        }
      })
      .then(
        (stopCamera) => {
          stop = stopCamera;
          if (closed) return stopCamera();
          setStarting(false);
          // On a phone the dialog is taller than the screen: show the picture.
          element.scrollIntoView?.({ block: "nearest" });
        },
        (error: unknown) => {
          if (closed) return;
          setStarting(false);
          setProblem(PROBLEMS.includes(error as CameraProblem) ? (error as CameraProblem) : "failed");
        },
      );
    return () => {
      closed = true;
      stop?.();
    };
  }, [source]);

  return (
    <div class="scanner">
      <video ref={video} class="scanner-video" aria-label={label} muted playsInline hidden={problem !== null} />
      {problem ? (
        <p class="error" role="alert">
          {cameraProblemMessage(problem)}
        </p>
      ) : (
        <p class="muted small" role="status">
          {starting ? "Starting the camera…" : "Point the camera at the QR code."}
        </p>
      )}
    </div>
  );
}
