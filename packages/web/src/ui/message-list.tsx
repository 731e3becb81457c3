import type { OutgoingStatus } from "@parley/client";
import { Fragment } from "preact";
import { useLayoutEffect, useRef, useState } from "preact/hooks";
import { type DeviceNote, notesAbout } from "../state/device-notes.js";
import { type ChatMessage, me, members, messages, retention, serverInfo, typing } from "../state/model.js";
import { retry } from "../state/session.js";
import { AttachmentSlot } from "./attachment-slot.js";
import { dayNumber, formatDay, formatFull, formatTime } from "./format.js";
import { Markdown } from "./markdown.js";
import { MessageInfoDialog } from "./message-info.js";

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
  });
  const onScroll = () => {
    const el = ref.current;
    if (el !== null) stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < STICKY_PX;
  };
  const typists = (typing.value[roomId] ?? []).map((t) => t.username);
  const roomMembers = members.value[roomId] ?? [];
  const notes = notesAbout(roomMembers.map((m) => m.userId));
  const nameOf = (userId: string) =>
    userId === me.value?.id ? "You" : (roomMembers.find((m) => m.userId === userId)?.username ?? "Someone");
  // Quiet lines between the messages they came between.
  const notesBetween = (from: number, to: number) =>
    notes
      .filter((n) => n.at >= from && n.at < to)
      .map((n) => <DeviceLine key={`${n.userId}/${n.deviceId}`} note={n} name={nameOf(n.userId)} />);
  return (
    <>
      <div class="messages" ref={ref} onScroll={onScroll} role="log" aria-label="Messages" aria-live="polite">
        {list.length === 0 && <EmptyConversation />}
        {list.map((m, i) => {
          const prev = list[i - 1];
          const newDay = prev === undefined || dayNumber(prev.ts) !== dayNumber(m.ts);
          const burst =
            !newDay && prev !== undefined && prev.fromId === m.fromId && m.ts - prev.ts < BURST_MS;
          return (
            <Fragment key={m.key}>
              {notesBetween(prev?.ts ?? Number.NEGATIVE_INFINITY, m.ts)}
              {newDay && (
                <h3 class="day" data-testid="day">
                  {formatDay(m.ts)}
                </h3>
              )}
              <Message message={m} continued={burst} />
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

/** "bob added a device": a person's new certified device, shown as news, not as an alarm. */
function DeviceLine({ note, name }: { note: DeviceNote; name: string }) {
  return (
    <p class="system-line muted" data-testid="device-line">
      <time dateTime={new Date(note.at).toISOString()} title={formatFull(note.at)}>
        {formatTime(note.at)}
      </time>{" "}
      {name} added a device
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
const STATUS_MARK: Record<OutgoingStatus, string> = {
  sending: "🕓",
  sent: "✓",
  delivered: "✓✓",
  read: "✓✓",
  failed: "!",
};

function Message({ message: m, continued }: { message: ChatMessage; continued: boolean }) {
  if (m.system === true) return <SystemLine message={m} />;
  const statusLabel = m.status === undefined ? undefined : STATUS_LABEL[m.status];
  const [info, setInfo] = useState(false);
  const progress =
    m.status === "sent" && m.progress !== undefined && m.progress.of > 0
      ? ` (${m.progress.delivered} of ${m.progress.of} devices)`
      : "";
  return (
    <article
      class={`message${m.own ? " own" : ""}${continued ? " continued" : ""}`}
      data-testid="message"
      data-from={m.fromName}
      data-status={m.status}
      aria-label={`${m.fromName} at ${formatTime(m.ts)}`}
    >
      <header class={continued ? "sr-only" : "message-header"}>
        <span class="sender">{m.fromName}</span>
        {m.trust === "verified" && (
          <span class="verified" title="Verified">
            <span aria-hidden="true">✓</span>
            <span class="sr-only">verified</span>
          </span>
        )}
        <time dateTime={new Date(m.ts).toISOString()} title={formatFull(m.ts)}>
          {formatTime(m.ts)}
        </time>
      </header>
      <div class="body" data-testid="body">
        {m.text !== "" && <Markdown text={m.text} />}
        {m.attachment !== undefined && <AttachmentSlot messageKey={m.key} file={m.attachment} />}
      </div>
      {statusLabel !== undefined && (
        <footer class={`status status-${m.status}`}>
          <span title={`${statusLabel}${progress}`} data-testid="ticks">
            <span aria-hidden="true">{m.status === undefined ? "" : STATUS_MARK[m.status]}</span>
            <span class="sr-only">{`${statusLabel}${progress}`}</span>
          </span>
          {m.status !== "failed" && (
            <button type="button" class="small" onClick={() => setInfo(true)}>
              Info
            </button>
          )}
          {info && <MessageInfoDialog messageKey={m.key} onClose={() => setInfo(false)} />}
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
