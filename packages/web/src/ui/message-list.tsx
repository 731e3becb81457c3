import {
  type DeviceNote,
  deviceNotesIn,
  mentionParts,
  type OutgoingStatus,
  reactionGroups,
} from "@parley/client";
import type { MemberView } from "@parley/protocol";
import { Fragment } from "preact";
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import {
  type ChatMessage,
  chat,
  focused,
  me,
  members,
  messages,
  retention,
  serverInfo,
  typing,
} from "../state/model.js";
import { jumpTo, quoteOf, react, retry } from "../state/session.js";
import { AttachmentSlot } from "./attachment-slot.js";
import { Avatar } from "./avatar.js";
import { dayNumber, formatDay, formatFull, formatTime } from "./format.js";
import { Check, CheckCheck, CircleAlert, Clock, ShieldCheck } from "./icons.js";
import { type Decorate, Markdown } from "./markdown.js";
import { MessageActions } from "./message-actions.js";

/** How long a press on a message (touch) takes to open its actions. */
const LONG_PRESS_MS = 500;
/** How long a message opened from a quote or a search stays marked. */
const FLASH_MS = 2_000;

/** Messages of one sender closer together than this share one header (a burst). */
const BURST_MS = 5 * 60_000;
/** Within this distance of the bottom, new messages scroll into view; further up, the reader stays put. */
const STICKY_PX = 80;

export function MessageList({ roomId }: { roomId: string }) {
  const list = messages.value[roomId] ?? [];
  const ref = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  useLayoutEffect(() => {
    const el = ref.current;
    if (el !== null && stick.current) el.scrollTop = el.scrollHeight;
    // Messages that change size without a render (a theme switch's font, a font or a photo
    // arriving, a narrower window) keep the newest message in view while the reader is at the end.
    if (el !== null) for (const child of el.children) observer.current?.observe(child);
  });
  const observer = useRef<ResizeObserver | undefined>(undefined);
  useEffect(() => {
    const el = ref.current;
    if (el === null) return;
    const o = new ResizeObserver(() => {
      if (stick.current) el.scrollTop = el.scrollHeight;
    });
    o.observe(el);
    for (const child of el.children) o.observe(child);
    observer.current = o;
    return () => {
      o.disconnect();
      observer.current = undefined;
    };
  }, []);
  const onScroll = () => {
    const el = ref.current;
    if (el !== null) stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < STICKY_PX;
  };
  // A quote or a search hit opened a message here: it is scrolled to, focused and marked.
  const target = focused.value;
  useEffect(() => {
    const el = ref.current;
    if (target === undefined || target.roomId !== roomId || el === null) return;
    const node = [...el.querySelectorAll<HTMLElement>('[data-testid="message"]')].find(
      (n) => n.dataset.key === target.key && n.dataset.fromId === target.fromId,
    );
    if (node === undefined) return;
    stick.current = false;
    node.scrollIntoView({ block: "center" });
    node.focus({ preventScroll: true });
    node.classList.add("flash");
    const t = setTimeout(() => node.classList.remove("flash"), FLASH_MS);
    return () => clearTimeout(t);
  }, [target, roomId]);
  const typists = (typing.value[roomId] ?? []).map((t) => t.username);
  const roomMembers = members.value[roomId] ?? [];
  const notes = deviceNotesIn(chat.value, roomId);
  const nameOf = (userId: string) =>
    userId === me.value?.id ? "You" : (roomMembers.find((m) => m.userId === userId)?.username ?? "Someone");
  // Quiet lines between the messages they came between.
  const notesBetween = (from: number, to: number) =>
    notes
      .filter((n) => n.at >= from && n.at < to)
      .map((n) => (
        <DeviceLine key={`${n.userId}/${n.deviceId}/${n.kind}`} note={n} name={nameOf(n.userId)} />
      ));
  return (
    <>
      <div class="messages" ref={ref} onScroll={onScroll} role="log" aria-label="Messages" aria-live="polite">
        {list.length === 0 && <EmptyConversation />}
        {list.map((m, i) => {
          const prev = list[i - 1];
          const newDay = prev === undefined || dayNumber(prev.ts) !== dayNumber(m.ts);
          // A line about the room ("bob joined") is no message: the one after it shows its sender.
          const burst =
            !newDay &&
            prev !== undefined &&
            prev.system !== true &&
            prev.fromId === m.fromId &&
            m.ts - prev.ts < BURST_MS;
          return (
            <Fragment key={m.key}>
              {notesBetween(prev?.ts ?? Number.NEGATIVE_INFINITY, m.ts)}
              {newDay && (
                <h3 class="day" data-testid="day">
                  {formatDay(m.ts)}
                </h3>
              )}
              <Message message={m} continued={burst} roomMembers={roomMembers} />
            </Fragment>
          );
        })}
        {notesBetween(list.at(-1)?.ts ?? Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY)}
      </div>
      <p class="typing" data-testid="typing" aria-live="polite">
        {typists.length === 1
          ? `${typists[0]} is typing…`
          : typists.length > 1
            ? `${typists.slice(0, 3).join(", ")} are typing…`
            : ""}
      </p>
    </>
  );
}

/**
 * "bob added a device", "bob removed a device": a person's devices changing, shown as news, not
 * as an alarm (their identity key is the same).
 */
function DeviceLine({ note, name }: { note: DeviceNote; name: string }) {
  return (
    <p class="system-line muted" data-testid="device-line" data-kind={note.kind}>
      <time dateTime={new Date(note.at).toISOString()} title={formatFull(note.at)}>
        {formatTime(note.at)}
      </time>{" "}
      {name} {note.kind} a device
    </p>
  );
}

/** What a new conversation says: who can read it, and what this device and the server keep. */
function EmptyConversation() {
  const keepsNothing = retention.value.keep === "none";
  const serverKeepsNothing = serverInfo.value?.storage.messages === "none";
  return (
    <div class="empty muted">
      <p>No messages yet. Say hello: only the members can read it.</p>
      {keepsNothing && <p data-testid="device-storage">This device keeps no history.</p>}
      {serverKeepsNothing && (
        <p data-testid="server-storage">
          This server keeps no messages: a message reaches a teammate's device only while it, or one of you,
          is online.
        </p>
      )}
    </div>
  );
}

/** A line about the conversation (a timer set), not a message from a person. */
function SystemLine({ message: m }: { message: ChatMessage }) {
  return (
    <p class="system-line muted" data-testid="system-line">
      <time dateTime={new Date(m.ts).toISOString()} title={formatFull(m.ts)}>
        {formatTime(m.ts)}
      </time>{" "}
      {m.text}
    </p>
  );
}

/** RCPT-2: what each state of an own message is called, and its tick. */
const STATUS_LABEL: Record<OutgoingStatus, string> = {
  sending: "Sending",
  sent: "Sent",
  delivered: "Delivered",
  read: "Read",
  failed: "Not sent",
};
/** The tick drawn for each state: one check once the server has it, two once a device has it. */
const STATUS_MARK: Record<OutgoingStatus, typeof Check> = {
  sending: Clock,
  sent: Check,
  delivered: CheckCheck,
  read: CheckCheck,
  failed: CircleAlert,
};

function Message({
  message: m,
  continued,
  roomMembers,
}: {
  message: ChatMessage;
  continued: boolean;
  roomMembers: readonly MemberView[];
}) {
  if (m.system === true) return <SystemLine message={m} />;
  const statusLabel = m.status === undefined ? undefined : STATUS_LABEL[m.status];
  const [pressed, setPressed] = useState(false);
  const press = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const progress =
    m.status === "sent" && m.progress !== undefined && m.progress.of > 0
      ? ` (${m.progress.delivered} of ${m.progress.of} devices)`
      : "";
  const self = me.value?.id;
  const mentionsMe = self !== undefined && m.mentions?.includes(self) === true;
  const endPress = () => {
    if (press.current !== undefined) clearTimeout(press.current);
    press.current = undefined;
  };
  // CHAT-5: the members a text names are marked, this user most.
  const decorate: Decorate = (text) => {
    const parts = mentionParts(text, roomMembers);
    if (parts.length === 1 && parts[0]?.userId === undefined) return text;
    return parts.map((p, i) =>
      p.userId === undefined ? (
        p.text
      ) : (
        <mark key={i} class={`mention${p.userId === self ? " mention-me" : ""}`} data-testid="mention">
          {p.text}
        </mark>
      ),
    );
  };
  return (
    <article
      class={`message${m.own ? " own" : ""}${continued ? " continued" : ""}${mentionsMe ? " mentions-me" : ""}${pressed ? " actions-open" : ""}`}
      data-testid="message"
      data-from={m.fromName}
      data-from-id={m.fromId}
      data-key={m.key}
      data-status={m.status}
      data-deleted={m.deleted === true ? "true" : undefined}
      // biome-ignore lint/a11y/noNoninteractiveTabindex: a tab stop per message, as in the ARIA feed pattern, so the keyboard reaches its actions
      tabIndex={0}
      aria-label={`${m.fromName} at ${formatTime(m.ts)}`}
      onPointerDown={(e) => {
        if (e.pointerType !== "touch" || m.deleted === true) return;
        endPress();
        press.current = setTimeout(() => setPressed(true), LONG_PRESS_MS);
      }}
      onPointerUp={endPress}
      onPointerCancel={endPress}
      onPointerLeave={endPress}
      onContextMenu={(e) => {
        // The long press opened the actions: no browser menu over them.
        if (pressed) e.preventDefault();
      }}
    >
      {!m.own && !continued && <Avatar userId={m.fromId} name={m.fromName} />}
      <header class={continued ? "sr-only" : "message-header"}>
        {/* One's own name on one's own bubbles says nothing: the side and colour say it is yours. */}
        {!m.own && <span class="sender">{m.fromName}</span>}
        {m.trust === "verified" && (
          <span class="verified" title="Verified">
            <ShieldCheck size={14} />
            <span class="sr-only">verified</span>
          </span>
        )}
        <time dateTime={new Date(m.ts).toISOString()} title={formatFull(m.ts)}>
          {formatTime(m.ts)}
        </time>
      </header>
      {m.replyTo !== undefined && <QuoteLine message={m} />}
      <div class="body" data-testid="body">
        {m.deleted === true ? (
          <p class="deleted muted" data-testid="deleted">
            message deleted
          </p>
        ) : (
          <>
            {m.text !== "" && <Markdown text={m.text} decorate={decorate} />}
            {m.attachment !== undefined && <AttachmentSlot messageKey={m.key} file={m.attachment} />}
          </>
        )}
      </div>
      {m.edited !== undefined && m.deleted !== true && (
        <span class="edited muted" data-testid="edited" title={`Edited ${formatFull(m.edited.at)}`}>
          edited
        </span>
      )}
      <Reactions message={m} />
      {m.deleted !== true && m.status !== "sending" && m.status !== "failed" && (
        <MessageActions message={m} onDone={() => setPressed(false)} />
      )}
      {statusLabel !== undefined && (
        <footer class={`status status-${m.status}`}>
          <span title={`${statusLabel}${progress}`} data-testid="ticks" data-ticks={m.status}>
            {m.status !== undefined && <Tick status={m.status} />}
            <span class="sr-only">{`${statusLabel}${progress}`}</span>
          </span>
          {m.status === "failed" && (
            <button type="button" class="small" onClick={() => retry(m.key)}>
              Retry
            </button>
          )}
        </footer>
      )}
    </article>
  );
}

function Tick({ status }: { status: OutgoingStatus }) {
  const Mark = STATUS_MARK[status];
  return <Mark size={18} strokeWidth={2.25} class="tick" />;
}

/** CHAT-1: the message a reply answers, quoted; a click opens it. */
function QuoteLine({ message: m }: { message: ChatMessage }) {
  const q = quoteOf(m);
  if (q === undefined) return null;
  const what =
    q.state === "shown"
      ? q.excerpt
      : q.state === "deleted"
        ? "message deleted"
        : "a message not on this device";
  const who = q.fromName ?? "someone";
  return (
    <button
      type="button"
      class="quote"
      data-testid="quote"
      data-state={q.state}
      disabled={q.state === "missing"}
      aria-label={`In reply to ${who}: ${what} (show that message)`}
      onClick={() => jumpTo({ roomId: m.roomId, key: q.key, fromId: q.fromId })}
    >
      <span class="quote-sender">{who}</span> <span class="quote-text">{what}</span>
    </button>
  );
}

/** CHAT-2: reactions by emoji, with how many and who; this user's own is pressed, and a click toggles it. */
function Reactions({ message: m }: { message: ChatMessage }) {
  const groups = reactionGroups(m, me.value?.id);
  if (groups.length === 0 || m.deleted === true) return null;
  return (
    <fieldset class="reactions">
      <legend class="sr-only">Reactions</legend>
      {groups.map((g) => (
        <button
          key={g.emoji}
          type="button"
          class={`reaction${g.mine ? " mine" : ""}`}
          data-testid="reaction"
          aria-pressed={g.mine}
          aria-label={`${g.emoji} ${g.count}: ${g.usernames.join(", ")}`}
          title={g.usernames.join(", ")}
          onClick={() => react(m, g.emoji)}
        >
          <span aria-hidden="true">
            {g.emoji} {g.count}
          </span>
        </button>
      ))}
    </fieldset>
  );
}
