import { reactionGroups } from "@parley/client";
import { useState } from "preact/hooks";
import { describeError } from "../state/errors.js";
import { type ChatMessage, composing, me, notice } from "../state/model.js";
import { canDelete, canEdit, deleteMessage, react } from "../state/session.js";
import { Dialog } from "./dialog.js";
import { EMOJI_GROUPS } from "./emoji.js";
import { formatFull } from "./format.js";
import { Copy, Info, Pencil, Reply, SmilePlus, Trash2, X } from "./icons.js";
import { MessageInfoDialog } from "./message-info.js";

/** The reactions offered first; "More" opens every emoji the picker has. */
const QUICK: readonly (readonly [string, string])[] = [
  ["👍", "thumbs up"],
  ["❤️", "red heart"],
  ["😂", "face with tears of joy"],
  ["😮", "face with open mouth"],
  ["😢", "crying face"],
  ["🎉", "party popper"],
];

/**
 * What can be done with a message (CHAT-1..4): shown on hover, on keyboard focus and after a
 * long press (the dialogs it opens sit beside it, so hiding it never hides them), each action
 * a button with its own name ("Reply", "React", "Edit", "Delete",
 * "Copy", "Info"). Edit and Delete only on this user's messages while they may.
 */
export function MessageActions({ message: m, onDone }: { message: ChatMessage; onDone: () => void }) {
  const [open, setOpen] = useState<"react" | "delete" | "info" | undefined>();
  const close = () => {
    setOpen(undefined);
    onDone();
  };
  const ref = { roomId: m.roomId, key: m.key, fromId: m.fromId };
  const copy = () => {
    const done = () => {
      notice.value = "Copied.";
    };
    if (navigator.clipboard === undefined) {
      notice.value = "Copying is not available on this page.";
      return;
    }
    navigator.clipboard.writeText(m.text).then(done, () => {
      notice.value = "Could not copy the message.";
    });
    onDone();
  };
  return (
    <>
      <div class="message-actions" role="toolbar" aria-label="Message actions">
        <button
          type="button"
          class="small"
          onClick={() => {
            composing.value = { ...ref, mode: "reply" };
            onDone();
          }}
        >
          <Reply />
          Reply
        </button>
        <button type="button" class="small" aria-expanded={open === "react"} onClick={() => setOpen("react")}>
          <SmilePlus />
          React
        </button>
        {canEdit(m) && (
          <button
            type="button"
            class="small"
            onClick={() => {
              composing.value = { ...ref, mode: "edit" };
              onDone();
            }}
          >
            <Pencil />
            Edit
          </button>
        )}
        {canDelete(m) && (
          <button type="button" class="small" onClick={() => setOpen("delete")}>
            <Trash2 />
            Delete
          </button>
        )}
        <button type="button" class="small" onClick={copy}>
          <Copy />
          Copy
        </button>
        <button type="button" class="small" onClick={() => setOpen("info")}>
          <Info />
          Info
        </button>
      </div>
      {open === "react" && <ReactionPicker message={m} onClose={close} />}
      {open === "delete" && <DeleteDialog message={m} onClose={close} />}
      {open === "info" &&
        (m.status !== undefined ? (
          <MessageInfoDialog messageKey={m.key} onClose={close} />
        ) : (
          <AboutDialog message={m} onClose={close} />
        ))}
    </>
  );
}

/** CHAT-2: any emoji; the ones this user already gave are marked and taken back when picked. */
function ReactionPicker({ message: m, onClose }: { message: ChatMessage; onClose: () => void }) {
  const [all, setAll] = useState(false);
  const mine = new Set(
    reactionGroups(m, me.value?.id)
      .filter((g) => g.mine)
      .map((g) => g.emoji),
  );
  const pick = (emoji: string) => {
    react(m, emoji);
    onClose();
  };
  const button = ([emoji, name]: readonly [string, string]) => (
    <button
      key={name}
      type="button"
      class="emoji"
      aria-label={name}
      aria-pressed={mine.has(emoji)}
      title={name}
      onClick={() => pick(emoji)}
    >
      {emoji}
    </button>
  );
  return (
    <Dialog title="React" onClose={onClose}>
      <fieldset class="reaction-picker">
        <legend class="sr-only">Quick reactions</legend>
        {QUICK.map(button)}
      </fieldset>
      {all ? (
        EMOJI_GROUPS.map((g) => (
          <fieldset key={g.name} class="reaction-picker">
            <legend>{g.name}</legend>
            {g.emoji.map(button)}
          </fieldset>
        ))
      ) : (
        <button type="button" onClick={() => setAll(true)}>
          More emoji
        </button>
      )}
      <div class="dialog-actions">
        <button type="button" onClick={onClose}>
          Cancel
        </button>
      </div>
    </Dialog>
  );
}

/** CHAT-4: deleting for everyone cannot be undone, so it is asked once. */
function DeleteDialog({ message: m, onClose }: { message: ChatMessage; onClose: () => void }) {
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const remove = async () => {
    setBusy(true);
    try {
      await deleteMessage(m);
      onClose();
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  };
  return (
    <Dialog title="Delete message" onClose={onClose}>
      <p>Delete this message for everyone? It is removed from every member's device, this one included.</p>
      {error !== undefined && <p role="alert">{error}</p>}
      <div class="dialog-actions">
        <button type="button" class="danger" disabled={busy} onClick={() => void remove()}>
          Delete for everyone
        </button>
        <button type="button" onClick={onClose}>
          Cancel
        </button>
      </div>
    </Dialog>
  );
}

/** Someone else's message (or one from another device of this user): who and when. */
function AboutDialog({ message: m, onClose }: { message: ChatMessage; onClose: () => void }) {
  return (
    <Dialog title="Message info" onClose={onClose}>
      <p>
        From {m.fromName}, written {formatFull(m.ts)}.
      </p>
      {m.edited !== undefined && <p>Edited {formatFull(m.edited.at)}.</p>}
      <p class="muted">End-to-end encrypted: only the members' devices can read it.</p>
      <div class="dialog-actions">
        <button type="button" onClick={onClose}>
          <X />
          Close
        </button>
      </div>
    </Dialog>
  );
}
