// A chat's media settings in its info panel: automatic downloads on this
// device, and "block saving media" for both sides (the peer is told, and
// its clients stop offering to save the chat's files as ours do).

import type { AutoDownloadSetting, Backend, ChatView } from "../backend";

export function MediaSettings({
  backend,
  chat,
  run,
}: {
  backend: Backend;
  chat: ChatView;
  /** Runs a change and shows what went wrong, as the panel does for its other settings. */
  run: (task: Promise<void>) => void;
}) {
  return (
    <fieldset>
      <legend>Media</legend>
      <label>
        Automatic downloads in this chat
        <select
          value={chat.auto_download}
          onChange={(e) => run(backend.setChatAutoDownload(chat.id, e.currentTarget.value as AutoDownloadSetting))}
        >
          <option value="default">As in settings</option>
          <option value="on">Every file</option>
          <option value="off">None</option>
        </select>
      </label>
      <label class="choice">
        <input
          type="checkbox"
          checked={chat.block_saving}
          disabled={chat.blocked}
          onChange={(e) => run(backend.setBlockSaving(chat.id, e.currentTarget.checked))}
        />
        Block saving media
      </label>
      <p class="muted small">
        Neither of you can save this chat's files out of Sotto or export them with the chat; files still show in the
        chat. Either of you can turn it off again.
      </p>
    </fieldset>
  );
}
