// A file in a message: its name, size and type; a progress bar and a cancel
// button while it travels either way; a download button while it is only
// offered; a save button once it is here. An image shows inline once here
// (downloaded on view, or by itself under the automatic download limit) and
// opens whole in a lightbox.

import { createContext } from "preact";
import { createPortal } from "preact/compat";
import { useContext, useEffect, useState } from "preact/hooks";
import type { Backend, ChatId, FileView, MessageItem } from "../backend";
import { errorMessage } from "../errors";
import { canSave, failureText, fileBlob, IMAGE_VIEW_LIMIT, isImage, saveFile } from "../files";
import { fileSize } from "../user-text";
import { Dialog } from "./dialog";
import { IconClose, IconDownload, IconFile } from "./icons";

/** What a file card needs from its conversation. */
export interface FileActions {
  backend: Backend;
  chat: ChatId;
  /** Shows an error as the conversation's banner. */
  onError: (message: string) => void;
}

export const FileActionsContext = createContext<FileActions | null>(null);

/** `file_progress` of one item: bytes moved and in all, while it travels. */
function useProgress(actions: FileActions | null, item: MessageItem): { done: number; total: number } | null {
  const [progress, setProgress] = useState<{ done: number; total: number } | null>(null);
  useEffect(() => {
    if (!actions) return;
    return actions.backend.subscribe((event) => {
      if (event.type === "file_progress" && event.chat === item.chat && event.number === item.number)
        setProgress({ done: event.done, total: event.total });
    });
  }, [actions, item.chat, item.number]);
  return progress;
}

/** The image of a file that is here, as an object URL while shown. */
function useImage(actions: FileActions | null, item: MessageItem, file: FileView): string | null {
  const [url, setUrl] = useState<string | null>(null);
  const here = file.state === "received" || file.state === "sent";
  useEffect(() => {
    if (!actions || !here || !isImage(file) || file.size > IMAGE_VIEW_LIMIT) return;
    let alive = true;
    let made: string | null = null;
    fileBlob(actions.backend, item.chat, item.number, file).then(
      (blob) => {
        if (!alive) return;
        made = URL.createObjectURL(blob);
        setUrl(made);
      },
      () => undefined,
    );
    return () => {
      alive = false;
      if (made) URL.revokeObjectURL(made);
      setUrl(null);
    };
  }, [actions, here, item.chat, item.number, file]);
  return url;
}

export function FileCard({ item, file }: { item: MessageItem; file: FileView }) {
  const actions = useContext(FileActionsContext);
  const progress = useProgress(actions, item);
  const image = useImage(actions, item, file);
  const [viewing, setViewing] = useState(false);
  const travelling = file.state === "uploading" || file.state === "downloading";
  const percent =
    progress && progress.total > 0 ? Math.min(100, Math.floor((progress.done * 100) / progress.total)) : 0;

  const run = (action: (actions: FileActions) => Promise<unknown>) => () => {
    if (!actions) return;
    action(actions).catch((error: unknown) =>
      actions.onError(error instanceof Error ? error.message : errorMessage(error)),
    );
  };
  const download = run((a) => a.backend.downloadFile(item.chat, item.number));
  const cancel = run((a) => a.backend.cancelFile(item.chat, item.number));
  const save = run((a) => saveFile(a.backend, item.chat, item.number, file));

  return (
    <div class={`file-card${image ? " with-image" : ""}`} aria-label={`File ${file.name}`}>
      {image && (
        <button type="button" class="file-image" aria-label={`View ${file.name}`} onClick={() => setViewing(true)}>
          <img src={image} alt={file.name} />
        </button>
      )}
      <div class="file-row">
        <IconFile />
        <div class="file-text">
          <span class="file-name private" dir="auto">
            {file.name}
          </span>
          <span class="file-meta">
            {fileSize(file.size)} · {file.media_type}
          </span>
        </div>
        {file.state === "available" && (
          <button type="button" class="icon-button" aria-label={`Download ${file.name}`} onClick={download}>
            <IconDownload />
          </button>
        )}
        {(file.state === "received" || file.state === "sent") && canSave(file.size) && (
          <button type="button" class="link file-save" onClick={save}>
            Save
          </button>
        )}
        {travelling && (
          <button type="button" class="icon-button" aria-label={`Cancel ${file.name}`} onClick={cancel}>
            <IconClose />
          </button>
        )}
      </div>
      {travelling && (
        <div class="file-progress">
          <progress
            max={100}
            value={percent}
            aria-label={`${file.state === "uploading" ? "Sending" : "Downloading"} ${file.name}`}
          />
          <span>{file.state === "uploading" && !progress ? "Encrypting…" : `${percent}%`}</span>
        </div>
      )}
      {file.state === "failed" && (
        <p class="file-failure" role="status">
          {failureText(file)}{" "}
          {item.direction === "incoming" && (
            <button type="button" class="link" onClick={download}>
              Try again
            </button>
          )}
        </p>
      )}
      {viewing &&
        image &&
        // Over the whole page, not inside the timeline's moving rows.
        createPortal(
          <Dialog title={file.name} onClose={() => setViewing(false)} wide>
            <img class="lightbox-image" src={image} alt={file.name} />
            <div class="lightbox-actions">
              {canSave(file.size) && (
                <button type="button" onClick={save}>
                  Save
                </button>
              )}
              <button type="button" onClick={() => setViewing(false)}>
                Close
              </button>
            </div>
          </Dialog>,
          document.body,
        )}
    </div>
  );
}
