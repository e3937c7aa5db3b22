// Reading QR codes with the camera: getUserMedia, then a frame drawn into a
// canvas a few times a second and decoded.
//
// The decoder is jsQR (npm `jsqr`, Apache-2.0): pure JavaScript with no
// dependencies, widely used for exactly this (a camera frame's RGBA pixels
// in, the code's text out), and maintained as a small fixed library rather
// than a framework. The browser's own BarcodeDetector would be the first
// choice, but Chromium has none on Linux or Windows, nor have Firefox and
// Safari on desktop; zxing-js is several times larger,
// and WebAssembly ports of zbar add a second module to load. jsQR is loaded
// only when a scan starts, so the page's first load does not pay for it.

/** Frames decoded per second: enough to feel immediate, little CPU on a phone. */
const SCAN_INTERVAL_MS = 200;
/** Frames are scaled down to this many pixels on their long side before decoding. */
const MAX_FRAME_SIDE = 640;

/** Why the camera cannot be used. */
export type CameraProblem = "unsupported" | "denied" | "no-camera" | "busy" | "failed";

/** What to tell the user about a camera problem. */
export function cameraProblemMessage(problem: CameraProblem): string {
  switch (problem) {
    case "unsupported":
      return "This browser cannot use a camera on this page. Paste the link instead.";
    case "denied":
      return "Camera access was refused. Allow the camera for this page in the browser's site settings and try again, or paste the link instead.";
    case "no-camera":
      return "No camera was found on this device. Paste the link instead.";
    case "busy":
      return "The camera is in use by another application. Close it and try again.";
    case "failed":
      return "The camera could not be started. Try again, or paste the link instead.";
  }
}

/** The problem a getUserMedia refusal stands for (DOMException names, per the Media Capture spec). */
export function cameraProblem(error: unknown): CameraProblem {
  const name = error instanceof Error || error instanceof DOMException ? error.name : "";
  switch (name) {
    case "NotAllowedError":
    case "SecurityError":
      return "denied";
    case "NotFoundError":
    case "OverconstrainedError":
      return "no-camera";
    case "NotReadableError":
    case "AbortError":
      return "busy";
    default:
      return "failed";
  }
}

/** Turns a frame's RGBA pixels into the text of the QR code they show, if any. */
export type QrDecoder = (pixels: Uint8ClampedArray, width: number, height: number) => string | null;

/** jsQR, loaded on first use. */
export async function loadDecoder(): Promise<QrDecoder> {
  const { default: jsQR } = await import("jsqr");
  // Our codes (and a phone screen's) are dark on light: no inverted pass,
  // which halves the work per frame.
  return (pixels, width, height) => jsQR(pixels, width, height, { inversionAttempts: "dontInvert" })?.data ?? null;
}

/**
 * Where scanned texts come from. `start` calls `onText` with each code seen
 * until the returned function stops it (and the camera); it rejects with a
 * `CameraProblem` when there is no way to scan.
 */
export interface QrSource {
  start(video: HTMLVideoElement, onText: (text: string) => void): Promise<() => void>;
}

/** The device's camera, decoded with jsQR. */
export const cameraSource: QrSource = {
  async start(video, onText) {
    if (typeof navigator === "undefined" || !navigator.mediaDevices?.getUserMedia) throw "unsupported";
    const decoderLoad = loadDecoder();
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: false,
        // The back camera on a phone; any camera elsewhere.
        video: { facingMode: { ideal: "environment" } },
      });
    } catch (error) {
      throw cameraProblem(error);
    }
    let stopped = false;
    let timer: number | undefined;
    const stop = () => {
      stopped = true;
      window.clearTimeout(timer);
      for (const track of stream.getTracks()) track.stop();
      video.srcObject = null;
    };
    try {
      video.srcObject = stream;
      await video.play();
    } catch {
      // Autoplay of a muted, inline video is allowed; were it refused, frames
      // still arrive and are drawn from the paused element.
    }
    let decode: QrDecoder;
    try {
      decode = await decoderLoad;
    } catch {
      stop();
      throw "failed";
    }
    const canvas = document.createElement("canvas");
    const context = canvas.getContext("2d", { willReadFrequently: true });
    if (!context) {
      stop();
      throw "failed";
    }
    const tick = () => {
      if (stopped) return;
      const text = readFrame(video, canvas, context, decode);
      if (text !== null) onText(text);
      if (!stopped) timer = window.setTimeout(tick, SCAN_INTERVAL_MS);
    };
    timer = window.setTimeout(tick, SCAN_INTERVAL_MS);
    return stop;
  },
};

/** Decodes the video's current frame, scaled down to MAX_FRAME_SIDE; null without a code (or a frame). */
function readFrame(
  video: HTMLVideoElement,
  canvas: HTMLCanvasElement,
  context: CanvasRenderingContext2D,
  decode: QrDecoder,
): string | null {
  const { videoWidth, videoHeight } = video;
  if (video.readyState < HTMLMediaElement.HAVE_CURRENT_DATA || videoWidth === 0 || videoHeight === 0) return null;
  const scale = Math.min(1, MAX_FRAME_SIDE / Math.max(videoWidth, videoHeight));
  const width = Math.max(1, Math.round(videoWidth * scale));
  const height = Math.max(1, Math.round(videoHeight * scale));
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  context.drawImage(video, 0, 0, width, height);
  return decode(context.getImageData(0, 0, width, height).data, width, height);
}
