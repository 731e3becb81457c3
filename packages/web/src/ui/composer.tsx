import { useRef, useState } from "preact/hooks";
import { connection, serverInfo } from "../state/model.js";
import { sendMessage, typingInRoom } from "../state/session.js";
import { EMOJI_GROUPS } from "./emoji.js";
import { maxMessageChars } from "./limits.js";

export function Composer({ roomId, blocked }: { roomId: string; blocked: boolean }) {
  const [text, setText] = useState("");
  const [picker, setPicker] = useState(false);
  const area = useRef<HTMLTextAreaElement>(null);
  const max = maxMessageChars(serverInfo.value?.limits.maxFrameBytes);
  const length = [...text].length;
  const over = length > max;
  const send = () => {
    const value = text.replace(/\s+$/, "");
    if (value.trim().length === 0 || over || blocked) return;
    sendMessage(roomId, value);
    setText("");
    area.current?.focus();
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
      class="composer"
      aria-label="Write a message"
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
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
        />
        <button type="submit" class="primary" disabled={blocked || over || text.trim().length === 0}>
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
