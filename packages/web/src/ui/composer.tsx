import { useRef, useState } from "preact/hooks";
import type { VoiceNote } from "../media/voice-recorder.js";
import { localId, type StagedFile } from "../state/files.js";
import { connection, serverInfo } from "../state/model.js";
import { filePolicy, sendAttachments, sendMessage, typingInRoom } from "../state/session.js";
import { AttachButton, StagedList, stageFiles } from "./attach.js";
import { EMOJI_GROUPS } from "./emoji.js";
import { maxMessageChars } from "./limits.js";
import { VoiceButton } from "./voice-record.js";

export function Composer({ roomId, blocked }: { roomId: string; blocked: boolean }) {
  const [text, setText] = useState("");
  const [picker, setPicker] = useState(false);
  const [staged, setStaged] = useState<StagedFile[]>([]);
  const [refused, setRefused] = useState<string[]>([]);
  const [dragging, setDragging] = useState(false);
  const area = useRef<HTMLTextAreaElement>(null);
  const max = maxMessageChars(serverInfo.value?.limits.maxFrameBytes);
  const policy = filePolicy();
  const length = [...text].length;
  const over = length > max;
  const send = () => {
    const value = text.replace(/\s+$/, "");
    if ((value.trim().length === 0 && staged.length === 0) || over || blocked) return;
    if (staged.length > 0) void sendAttachments(roomId, staged);
    if (value.trim().length > 0) sendMessage(roomId, value);
    setText("");
    setStaged([]);
    setRefused([]);
    area.current?.focus();
  };
  // Issue 17: every file is checked against the server's limits here, before any upload.
  const addFiles = (files: Iterable<File>) => {
    if (policy === undefined || blocked) return;
    const result = stageFiles(files, policy, localId);
    setRefused(result.refused);
    if (result.staged.length > 0) setStaged((s) => [...s, ...result.staged]);
  };
  const addVoice = (note: VoiceNote) => {
    if (policy === undefined) return;
    const name = `voice-note.${note.mime.split("/")[1] ?? "webm"}`;
    const result = stageFiles([new File([note.blob], name, { type: note.mime })], policy, localId);
    setRefused(result.refused);
    const [first] = result.staged;
    if (first !== undefined) setStaged((s) => [...s, { ...first, kind: "voice", voice: note }]);
  };
  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send();
    }
  };
  const insert = (emoji: string) => {
    const el = area.current;
    const start = el?.selectionStart ?? text.length;
    const end = el?.selectionEnd ?? text.length;
    const next = text.slice(0, start) + emoji + text.slice(end);
    setText(next);
    setPicker(false);
    requestAnimationFrame(() => {
      el?.focus();
      el?.setSelectionRange(start + emoji.length, start + emoji.length);
    });
  };
  const offline = connection.value.state !== "connected";
  return (
    <form
      class={`composer${dragging ? " dragging" : ""}`}
      aria-label="Write a message"
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
      onDragOver={(e) => {
        if (policy === undefined || !e.dataTransfer?.types.includes("Files")) return;
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={(e) => {
        setDragging(false);
        if (policy === undefined || e.dataTransfer === null || e.dataTransfer.files.length === 0) return;
        e.preventDefault();
        addFiles(e.dataTransfer.files);
      }}
    >
      {refused.map((message) => (
        <p key={message} role="alert" class="attach-error" data-testid="attach-error">
          {message}
        </p>
      ))}
      {policy !== undefined && (
        <StagedList items={staged} keepSeconds={policy.ttlSeconds} onChange={setStaged} />
      )}
      {picker && (
        <fieldset class="emoji-picker">
          <legend class="sr-only">Emoji</legend>
          {EMOJI_GROUPS.map((g) => (
            <fieldset key={g.name}>
              <legend>{g.name}</legend>
              {g.emoji.map(([emoji, name]) => (
                <button key={name} type="button" aria-label={name} title={name} onClick={() => insert(emoji)}>
                  {emoji}
                </button>
              ))}
            </fieldset>
          ))}
        </fieldset>
      )}
      <div class="composer-row">
        <button
          type="button"
          class="icon"
          aria-label="Emoji"
          aria-expanded={picker}
          disabled={blocked}
          onClick={() => setPicker(!picker)}
        >
          <span aria-hidden="true">☺</span>
        </button>
        {policy !== undefined && <AttachButton disabled={blocked} onFiles={addFiles} />}
        <textarea
          ref={area}
          aria-label="Message"
          rows={1}
          placeholder={
            blocked
              ? "Review the key change first"
              : offline
                ? "Offline: messages go out on reconnect"
                : "Message"
          }
          value={text}
          disabled={blocked}
          onInput={(e) => {
            setText(e.currentTarget.value);
            if (e.currentTarget.value.length > 0) typingInRoom(roomId);
          }}
          onKeyDown={onKeyDown}
          onPaste={(e) => {
            const files = e.clipboardData?.files;
            if (policy === undefined || files === undefined || files.length === 0) return;
            e.preventDefault();
            addFiles(files);
          }}
        />
        {policy !== undefined && (
          <VoiceButton disabled={blocked} onRecorded={addVoice} onError={(m) => setRefused([m])} />
        )}
        <button
          type="submit"
          class="primary"
          disabled={blocked || over || (text.trim().length === 0 && staged.length === 0)}
        >
          Send
        </button>
      </div>
      <p
        class={`char-count${over ? " over" : ""}`}
        data-testid="char-count"
        aria-live={over ? "polite" : "off"}
      >
        {length} / {max}
      </p>
    </form>
  );
}
