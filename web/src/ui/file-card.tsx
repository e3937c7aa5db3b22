// A file in a message: its name, size and type; a progress bar and a cancel
// button while it travels either way; a download button while it is only
// offered; a save button once it is here. An image shows inline once here
// (downloaded on view, or by itself under the automatic download limit) and
// opens whole in a lightbox.

import { createContext } from "preact";
import { createPortal } from "preact/compat";
import { useContext, useEffect, useRef, useState } from "preact/hooks";
import type { Backend, ChatId, FileView, MessageItem } from "../backend";
import { errorMessage } from "../errors";
import { canSave, durationText, failureText, fileBlob, IMAGE_VIEW_LIMIT, isImage, saveFile } from "../files";
import { fileSize } from "../user-text";
import { Dialog } from "./dialog";
import { IconClose, IconDownload, IconFile, IconPause, IconPlay } from "./icons";

/** What a file card needs from its conversation. */
export interface FileActions {
  backend: Backend;
  chat: ChatId;
  /** The chat blocks saving its media: files show, but are not saved out of the profile. */
  blockSaving: boolean;
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

/** Whether the file is a voice message (audio with a duration). */
function isVoice(file: FileView): boolean {
  return file.media_type.startsWith("audio/") && file.duration_ms !== null;
}

/**
 * A voice message: play and pause, its waveform (click or arrow keys to seek),
 * its length. Played from the file once here; Play downloads it first.
 */
function VoicePlayer({ actions, item, file }: { actions: FileActions | null; item: MessageItem; file: FileView }) {
  const audio = useRef<HTMLAudioElement | null>(null);
  const [url, setUrl] = useState<string | null>(null);
  const [playing, setPlaying] = useState(false);
  const [position, setPosition] = useState(0);
  const [wantPlay, setWantPlay] = useState(false);
  const duration = file.duration_ms ?? 0;
  const here = file.state === "received" || file.state === "sent";
  useEffect(() => {
    if (!actions || !here || file.size > IMAGE_VIEW_LIMIT) return;
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
    };
  }, [actions, here, item.chat, item.number, file]);
  useEffect(() => {
    if (wantPlay && url && audio.current) {
      setWantPlay(false);
      void audio.current.play();
    }
  }, [wantPlay, url]);

  const toggle = () => {
    if (!actions) return;
    if (!url) {
      setWantPlay(true);
      if (file.state === "available" || file.state === "failed")
        actions.backend
          .downloadFile(item.chat, item.number)
          .catch((error: unknown) => actions.onError(errorMessage(error)));
      return;
    }
    if (audio.current?.paused) void audio.current.play();
    else audio.current?.pause();
  };
  const seek = (fraction: number) => {
    const element = audio.current;
    if (!element || !url) return;
    const length = Number.isFinite(element.duration) ? element.duration : duration / 1000;
    element.currentTime = Math.max(0, Math.min(1, fraction)) * length;
    setPosition(element.currentTime * 1000);
  };
  const bars = file.waveform.length > 0 ? file.waveform : new Array<number>(32).fill(40);
  const played = duration > 0 ? position / duration : 0;
  return (
    <div class="voice">
      <button
        type="button"
        class="icon-button"
        aria-label={playing ? "Pause voice message" : "Play voice message"}
        onClick={toggle}
      >
        {playing ? <IconPause /> : <IconPlay />}
      </button>
      <div
        class="waveform"
        role="slider"
        tabIndex={0}
        aria-label="Voice message position"
        aria-valuemin={0}
        aria-valuemax={Math.round(duration / 1000)}
        aria-valuenow={Math.round(position / 1000)}
        aria-valuetext={`${durationText(position)} of ${durationText(duration)}`}
        onClick={(event) => {
          const box = event.currentTarget.getBoundingClientRect();
          seek((event.clientX - box.left) / box.width);
        }}
        onKeyDown={(event) => {
          if (event.key === "ArrowRight") seek(played + 0.05);
          else if (event.key === "ArrowLeft") seek(played - 0.05);
        }}
      >
        {bars.map((level, index) => (
          <span
            key={index}
            class={index / bars.length < played ? "played" : ""}
            style={{ height: `${Math.max(8, Math.round((level / 255) * 100))}%` }}
          />
        ))}
      </div>
      <span class="file-meta">{durationText(playing || position > 0 ? position : duration)}</span>
      {url && (
        <audio
          ref={audio}
          src={url}
          preload="metadata"
          onPlay={() => setPlaying(true)}
          onPause={() => setPlaying(false)}
          onEnded={() => {
            setPlaying(false);
            setPosition(0);
          }}
          onTimeUpdate={(event) => setPosition(event.currentTarget.currentTime * 1000)}
        />
      )}
    </div>
  );
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
  const savable = canSave(file.size) && !actions?.blockSaving;
  // Where saving is blocked the page does not offer the image to drag or save either.
  const guard = actions?.blockSaving
    ? { draggable: false, onContextMenu: (event: Event) => event.preventDefault() }
    : {};

  return (
    <div class={`file-card${image ? " with-image" : ""}`} aria-label={`File ${file.name}`}>
      {!image && file.preview && isImage(file) && (
        <img class="file-preview" src={`data:image/webp;base64,${file.preview}`} alt={`Preview of ${file.name}`} />
      )}
      {isVoice(file) && <VoicePlayer actions={actions} item={item} file={file} />}
      {image && (
        <button type="button" class="file-image" aria-label={`View ${file.name}`} onClick={() => setViewing(true)}>
          <img src={image} alt={file.name} {...guard} />
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
        {(file.state === "received" || file.state === "sent") && savable && (
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
            <img class="lightbox-image" src={image} alt={file.name} {...guard} />
            <div class="lightbox-actions">
              {actions?.blockSaving && <span class="muted small">Saving media is blocked in this chat.</span>}
              {savable && (
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
