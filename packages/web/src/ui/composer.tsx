import { excerpt } from "@parley/client";
import { useEffect, useId, useLayoutEffect, useRef, useState } from "preact/hooks";
import type { VoiceNote } from "../media/voice-recorder.js";
import { describeError } from "../state/errors.js";
import { localId, type StagedFile } from "../state/files.js";
import { chat, composing, connection, me, members, notice, serverInfo } from "../state/model.js";
import { editMessage, filePolicy, sendAttachments, sendMessage, typingInRoom } from "../state/session.js";
import { AttachButton, StagedList, stageFiles } from "./attach.js";
import { EMOJI_GROUPS } from "./emoji.js";
import { SendHorizontal, Smile, X } from "./icons.js";
import { maxMessageChars } from "./limits.js";
import { VoiceButton } from "./voice-record.js";

/** Suggestions shown at most for an @name being typed (CHAT-5). */
const SUGGESTIONS = 6;
/** "@" and the start of a name just before the caret, at the start or after a space. */
const MENTION_AT_CARET = /(^|\s)@([A-Za-z0-9._-]*)$/;

export function Composer({ roomId, blocked }: { roomId: string; blocked: boolean }) {
  const [text, setText] = useState("");
  const [picker, setPicker] = useState(false);
  const [caret, setCaret] = useState(0);
  const [choice, setChoice] = useState(0);
  const [dismissed, setDismissed] = useState<string | undefined>();
  const [staged, setStaged] = useState<StagedFile[]>([]);
  const [refused, setRefused] = useState<string[]>([]);
  const [dragging, setDragging] = useState(false);
  const area = useRef<HTMLTextAreaElement>(null);
  const listId = useId();
  const max = maxMessageChars(serverInfo.value?.limits.maxFrameBytes);
  const length = [...text].length;
  const editingNow = composing.value?.roomId === roomId && composing.value.mode === "edit";
  // Files go with a new message, never into an edit.
  const policy = editingNow ? undefined : filePolicy();
  const over = length > max;
  const mode = composing.value?.roomId === roomId ? composing.value : undefined;
  const target =
    mode === undefined
      ? undefined
      : chat.value.messages[roomId]?.find((m) => m.key === mode.key && m.fromId === mode.fromId);
  // Editing starts from the message's text, with the caret at its end, before the frame that
  // shows "Editing your message" is painted: what is typed at once goes after the text.
  // Leaving edit mode starts from nothing again.
  const editing = mode?.mode === "edit" ? mode.key : undefined;
  useLayoutEffect(() => {
    if (editing === undefined) return;
    const original = target?.text ?? "";
    setText(original);
    const box = area.current;
    if (box === null) return;
    box.value = original;
    box.focus();
    box.setSelectionRange(original.length, original.length);
    setCaret(original.length);
  }, [editing]);
  useEffect(() => {
    if (mode?.mode === "reply") area.current?.focus();
  }, [mode?.key, mode?.mode]);
  const cancel = () => {
    if (mode?.mode === "edit") setText("");
    composing.value = undefined;
  };

  // CHAT-5: "@" and the start of a member's name before the caret offers the names that fit.
  const typed = MENTION_AT_CARET.exec(text.slice(0, caret));
  const prefix = typed?.[2]?.toLowerCase();
  const self = me.value?.id;
  const suggestions =
    prefix === undefined || dismissed === text
      ? []
      : (members.value[roomId] ?? [])
          .filter((m) => m.userId !== self && m.username.toLowerCase().startsWith(prefix))
          .slice(0, SUGGESTIONS);
  const active = suggestions.length === 0 ? undefined : suggestions[Math.min(choice, suggestions.length - 1)];
  const complete = (username: string) => {
    const start = caret - (typed?.[2]?.length ?? 0);
    const next = `${text.slice(0, start)}${username} ${text.slice(caret)}`;
    const at = start + username.length + 1;
    setText(next);
    setCaret(at);
    setChoice(0);
    requestAnimationFrame(() => {
      area.current?.focus();
      area.current?.setSelectionRange(at, at);
    });
  };

  const send = () => {
    const value = text.replace(/\s+$/, "");
    if ((value.trim().length === 0 && staged.length === 0) || over || blocked) return;
    const hasText = value.trim().length > 0;
    if (staged.length > 0 && mode?.mode !== "edit") void sendAttachments(roomId, staged);
    if (hasText && mode?.mode === "edit") {
      editMessage(mode, value).catch((error: unknown) => {
        notice.value = describeError(error);
      });
    } else if (hasText) {
      sendMessage(roomId, value, mode?.mode === "reply" ? mode : undefined);
    }
    composing.value = undefined;
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
    if (active !== undefined && !e.isComposing) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        const n = suggestions.length;
        setChoice((Math.min(choice, n - 1) + (e.key === "ArrowDown" ? 1 : n - 1)) % n);
        return;
      }
      if (e.key === "Enter" || e.key === "Tab") {
        e.preventDefault();
        complete(active.username);
        return;
      }
      if (e.key === "Escape") {
        e.preventDefault();
        setDismissed(text);
        return;
      }
    }
    if (e.key === "Escape" && mode !== undefined) {
      e.preventDefault();
      cancel();
      return;
    }
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
      {mode !== undefined && (
        <div class="composing" data-testid="composing">
          <span>
            {mode.mode === "reply" ? (
              <>
                Replying to <strong>{target?.fromName ?? "a message"}</strong>
                {target !== undefined && target.deleted !== true ? `: ${excerpt(target.text, 60)}` : ""}
              </>
            ) : (
              "Editing your message"
            )}
          </span>
          <button type="button" class="small" onClick={cancel}>
            <X />
            {mode.mode === "reply" ? "Cancel reply" : "Cancel edit"}
          </button>
        </div>
      )}
      {suggestions.length > 0 && (
        <div class="mention-suggestions" id={listId} role="listbox" aria-label="Mention suggestions">
          {suggestions.map((m) => (
            <div
              key={m.userId}
              id={`${listId}-${m.userId}`}
              role="option"
              tabIndex={-1}
              aria-selected={m === active}
              class={m === active ? "active" : ""}
              onMouseDown={(e) => {
                e.preventDefault();
                complete(m.username);
              }}
            >
              @{m.username}
            </div>
          ))}
        </div>
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
          <Smile />
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
          aria-autocomplete="list"
          aria-controls={suggestions.length > 0 ? listId : undefined}
          aria-activedescendant={active !== undefined ? `${listId}-${active.userId}` : undefined}
          onInput={(e) => {
            setText(e.currentTarget.value);
            setCaret(e.currentTarget.selectionStart ?? e.currentTarget.value.length);
            setChoice(0);
            if (e.currentTarget.value.length > 0) typingInRoom(roomId);
          }}
          onSelect={(e) => setCaret(e.currentTarget.selectionStart ?? 0)}
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
          class="primary send"
          disabled={blocked || over || (text.trim().length === 0 && staged.length === 0)}
        >
          <SendHorizontal />
          <span class="button-label">{mode?.mode === "edit" ? "Save" : "Send"}</span>
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
