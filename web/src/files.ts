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
      await backend.readFile(chat, number, (bytes) => writable.write(bytes));
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
  const blob = await fileBlob(backend, chat, number, file);
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = file.name;
  link.click();
  window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return true;
}

/** A received (or sent) file, whole, as a `Blob`: for a small file only. */
export async function fileBlob(backend: Backend, chat: ChatId, number: MessageNumber, file: FileView): Promise<Blob> {
  const parts: Uint8Array[] = [];
  await backend.readFile(chat, number, (bytes) => {
    parts.push(bytes);
  });
  return new Blob(parts as BlobPart[], { type: file.media_type });
}
