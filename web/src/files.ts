// Files on the page's side: what a picked, dropped or pasted file is sent as,
// and saving a received one. A file is saved by streaming its plaintext
// straight into a file the user picks (the File System Access API's
// `showSaveFilePicker`), so that a large file never sits whole in the page's
// memory; where the browser lacks it (Firefox, Safari) only a small file is
// saved, through a `Blob` and a download link.

import type { Backend, ChatId, FileView, MessageNumber } from "./backend";

/** The largest file saved through a `Blob` where the browser cannot stream to disk. */
export const BLOB_SAVE_LIMIT = 64 * 1024 * 1024;

/** The largest image shown from memory (decrypted into a `Blob`). */
export const IMAGE_VIEW_LIMIT = 32 * 1024 * 1024;

/** The longest file name a message carries, in UTF-8 bytes. */
const MAX_NAME_BYTES = 255;

/** The choices of the automatic download limit offered in the settings. */
export const AUTO_DOWNLOAD_CHOICES: readonly (number | null)[] = [
  null,
  1024 * 1024,
  5 * 1024 * 1024,
  20 * 1024 * 1024,
  100 * 1024 * 1024,
];

/** The name a file is sent as: its own, cut to what a message carries; a pasted image has none. */
export function sendName(file: Blob, fallback: string): string {
  const name = file instanceof File && file.name !== "" ? file.name : fallback;
  const encoder = new TextEncoder();
  let cut = name;
  while (encoder.encode(cut).length > MAX_NAME_BYTES) cut = cut.slice(0, -1);
  return cut;
}

/** The media type a file is sent as (printable ASCII, or the generic one). */
export function sendType(file: Blob): string {
  const type = file.type.split(";")[0]?.trim() ?? "";
  return /^[\x21-\x7e]{1,127}$/.test(type) ? type : "application/octet-stream";
}

/** The name of an image pasted from the clipboard. */
export function pastedName(type: string, at: Date): string {
  const extension = type.split("/")[1]?.replace(/[^a-z0-9]/gi, "") || "png";
  const stamp = at.toISOString().slice(0, 19).replace(/[-:]/g, "").replace("T", "-");
  return `pasted-${stamp}.${extension}`;
}

/** Whether the file is an image the page can show inline. */
export function isImage(file: FileView): boolean {
  return /^image\/(png|jpeg|gif|webp|avif|bmp)$/.test(file.media_type);
}

/** What a failure says to the user. */
export function failureText(file: FileView): string {
  switch (file.failure) {
    case "cancelled":
      return "Cancelled.";
    case null:
      return "The transfer failed.";
    default:
      return `The transfer failed: ${file.failure}.`;
  }
}

interface SaveFilePicker {
  showSaveFilePicker(options: { suggestedName: string }): Promise<{
    createWritable(): Promise<{
      write(data: Uint8Array): Promise<void>;
      close(): Promise<void>;
      abort(): Promise<void>;
    }>;
  }>;
}

/** Whether this browser saves a file of `size` bytes (streaming it, or small enough for a `Blob`). */
export function canSave(size: number): boolean {
  return "showSaveFilePicker" in window || size <= BLOB_SAVE_LIMIT;
}

/**
 * Saves a received file where the user chooses. Resolves `false` when the
 * user dismissed the dialog; rejects with what went wrong.
 */
export async function saveFile(
  backend: Backend,
  chat: ChatId,
  number: MessageNumber,
  file: FileView,
): Promise<boolean> {
  if ("showSaveFilePicker" in window) {
    let handle;
    try {
      handle = await (window as unknown as SaveFilePicker).showSaveFilePicker({ suggestedName: file.name });
    } catch (error) {
      if (error instanceof DOMException && error.name === "AbortError") return false;
      throw error;
    }
    const writable = await handle.createWritable();
    try {
      await backend.readFile(chat, number, (bytes) => writable.write(bytes), true);
      await writable.close();
    } catch (error) {
      await writable.abort().catch(() => undefined);
      throw error;
    }
    return true;
  }
  if (file.size > BLOB_SAVE_LIMIT)
    throw new Error(
      "This browser cannot save a file this large: open the chat in Chrome or Edge, or with the sotto command.",
    );
  const blob = await fileBlob(backend, chat, number, file, true);
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = file.name;
  link.click();
  window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return true;
}

/** A received (or sent) file, whole, as a `Blob`: for a small file only; `save` as `Backend.readFile`'s. */
export async function fileBlob(
  backend: Backend,
  chat: ChatId,
  number: MessageNumber,
  file: FileView,
  save = false,
): Promise<Blob> {
  const parts: Uint8Array[] = [];
  await backend.readFile(
    chat,
    number,
    (bytes) => {
      parts.push(bytes);
    },
    save,
  );
  return new Blob(parts as BlobPart[], { type: file.media_type });
}

/** The longest preview a file message carries, in bytes. */
export const MAX_PREVIEW_BYTES = 8192;
/** The most waveform samples a voice message carries. */
export const WAVEFORM_SAMPLES = 64;

/**
 * A small preview of an image (WebP, or JPEG where WebP cannot be made) of at
 * most MAX_PREVIEW_BYTES, or null when the file does not decode as an image.
 */
export async function makePreview(file: Blob): Promise<Uint8Array | null> {
  return makeThumbnail(file, [160, 112, 80, 56], MAX_PREVIEW_BYTES);
}

/**
 * An image made small in the page: its longer side at the first of `sides`
 * (in pixels) whose WebP (or JPEG) takes at most `maxBytes`, or null when the
 * file does not decode as an image or nothing fits.
 */
export async function makeThumbnail(
  file: Blob,
  sides: readonly number[],
  maxBytes: number,
): Promise<Uint8Array | null> {
  if (!file.type.startsWith("image/") || typeof createImageBitmap !== "function") return null;
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    return null;
  }
  try {
    for (const side of sides) {
      const scale = Math.min(1, side / Math.max(bitmap.width, bitmap.height));
      const canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(bitmap.width * scale));
      canvas.height = Math.max(1, Math.round(bitmap.height * scale));
      canvas.getContext("2d")?.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      for (const [type, quality] of [
        ["image/webp", 0.6],
        ["image/webp", 0.4],
        ["image/jpeg", 0.5],
      ] as const) {
        const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, type, quality));
        if (blob && blob.type === type && blob.size <= maxBytes) return new Uint8Array(await blob.arrayBuffer());
      }
    }
    return null;
  } finally {
    bitmap.close();
  }
}

/** `levels` (any count, 0..1) as WAVEFORM_SAMPLES bytes (0..255): the loudest of each slice. */
export function waveformBytes(levels: number[]): Uint8Array {
  const out = new Uint8Array(levels.length === 0 ? 0 : WAVEFORM_SAMPLES);
  if (levels.length === 0) return out;
  const peak = Math.max(...levels, 1e-6);
  for (let i = 0; i < out.length; i++) {
    const from = Math.floor((i * levels.length) / out.length);
    const to = Math.max(from + 1, Math.floor(((i + 1) * levels.length) / out.length));
    const slice = levels.slice(from, to);
    out[i] = Math.round((Math.max(...slice) / peak) * 255);
  }
  return out;
}

/** A duration as `m:ss`. */
export function durationText(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}

/** A recording of the microphone under way (Opus), with its loudness sampled as it goes. */
export interface Recording {
  /** Milliseconds recorded so far. */
  elapsed(): number;
  /** Stops; resolves with the recording and what a voice message carries. */
  finish(): Promise<{ blob: Blob; type: string; durationMs: number; waveform: Uint8Array }>;
  /** Stops and throws the recording away. */
  cancel(): void;
}

/** Starts recording the microphone (asks for it first); rejects when there is none or it is refused. */
export async function startRecording(): Promise<Recording> {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  const type = ["audio/ogg;codecs=opus", "audio/webm;codecs=opus"].find((candidate) =>
    MediaRecorder.isTypeSupported(candidate),
  );
  const recorder = new MediaRecorder(stream, type ? { mimeType: type } : undefined);
  const parts: Blob[] = [];
  recorder.ondataavailable = (event) => {
    if (event.data.size > 0) parts.push(event.data);
  };
  const audio = new AudioContext();
  const analyser = audio.createAnalyser();
  analyser.fftSize = 1024;
  audio.createMediaStreamSource(stream).connect(analyser);
  const levels: number[] = [];
  const samples = new Float32Array(analyser.fftSize);
  const sampler = window.setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const sample of samples) sum += sample * sample;
    levels.push(Math.sqrt(sum / samples.length));
  }, 50);
  const started = performance.now();
  recorder.start(250);
  let stopped: Promise<void> | null = null;
  // Once, however often it is asked (finishing, cancelling, the composer closing).
  const stop = (): Promise<void> => (stopped ??= halt());
  const halt = (): Promise<void> =>
    new Promise((resolve) => {
      window.clearInterval(sampler);
      recorder.onstop = () => resolve();
      if (recorder.state !== "inactive") recorder.stop();
      else resolve();
      stream.getTracks().forEach((track) => track.stop());
      audio.close().catch(() => undefined);
    });
  return {
    elapsed: () => performance.now() - started,
    finish: async () => {
      const durationMs = performance.now() - started;
      await stop();
      const recorded = (recorder.mimeType || type || "audio/webm").split(";")[0] ?? "audio/webm";
      return {
        blob: new Blob(parts, { type: recorded }),
        type: recorded,
        durationMs,
        waveform: waveformBytes(levels),
      };
    },
    cancel: () => void stop(),
  };
}

/** The name of a voice message recorded at `at`. */
export function voiceName(type: string, at: Date): string {
  const extension = type.includes("ogg") ? "ogg" : "webm";
  const stamp = at.toISOString().slice(0, 19).replace(/[-:]/g, "").replace("T", "-");
  return `voice-${stamp}.${extension}`;
}
