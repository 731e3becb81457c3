import { excerpt, queryWords } from "@parley/client";
import { useState } from "preact/hooks";
import { chat, conversationName, rooms } from "../state/model.js";
import { jumpTo, search } from "../state/session.js";
import { Dialog } from "./dialog.js";
import { formatFull, formatTime } from "./format.js";
import { X } from "./icons.js";

/** The characters of a hit shown around the first word found. */
const HIT_CHARS = 120;

/**
 * CHAT-6: search over the history this device keeps (the server has nothing to search). Hits
 * come newest first with their conversation, sender and time; opening one shows it in its
 * conversation, scrolled to and marked.
 */
export function SearchDialog({ onClose }: { onClose: () => void }) {
  const [query, setQuery] = useState("");
  // Read so that hits follow new, edited and deleted messages while the dialog is open.
  void chat.value;
  const hits = query.trim() === "" ? [] : search(query);
  const words = queryWords(query);
  return (
    <Dialog title="Search messages" onClose={onClose} wide>
      <form onSubmit={(e) => e.preventDefault()}>
        <label>
          Words to find
          <input
            type="search"
            value={query}
            autoFocus
            autoComplete="off"
            spellcheck={false}
            onInput={(e) => setQuery(e.currentTarget.value)}
          />
        </label>
      </form>
      <p class="muted small-text">
        Searches the history kept on this device only: the server cannot read messages.
      </p>
      {query.trim() !== "" && (
        <p role="status" data-testid="search-count">
          {hits.length === 0 ? "Nothing found." : `${hits.length}${hits.length >= 50 ? "+" : ""} found.`}
        </p>
      )}
      {hits.length > 0 && (
        <ul class="search-results" aria-label="Search results">
          {hits.map((m) => {
            const room = rooms.value.find((r) => r.id === m.roomId);
            const where = room === undefined ? m.roomId : conversationName(room);
            return (
              <li key={`${m.roomId} ${m.fromId} ${m.key}`}>
                <button
                  type="button"
                  class="search-hit"
                  data-testid="search-hit"
                  onClick={() => {
                    jumpTo(m);
                    onClose();
                  }}
                >
                  <span class="search-where">
                    {room?.kind === "direct" ? "@" : "#"}
                    {where} · {m.fromName} ·{" "}
                    <time dateTime={new Date(m.ts).toISOString()} title={formatFull(m.ts)}>
                      {formatTime(m.ts)}
                    </time>
                  </span>
                  <span class="search-text">
                    <Highlighted text={around(m.text, words)} words={words} />
                  </span>
                </button>
              </li>
            );
          })}
        </ul>
      )}
      <div class="dialog-actions">
        <button type="button" onClick={onClose}>
          <X />
          Close
        </button>
      </div>
    </Dialog>
  );
}

/** A hit's text on one line, starting a little before the first word found when it is long. */
function around(text: string, words: readonly string[]): string {
  const line = text.replace(/\s+/g, " ").trim();
  if ([...line].length <= HIT_CHARS) return line;
  const lower = line.toLowerCase();
  const at = Math.min(...words.map((w) => lower.indexOf(w)).filter((i) => i >= 0), line.length);
  const start = Math.max(0, at - 30);
  return `${start > 0 ? "…" : ""}${excerpt(line.slice(start), HIT_CHARS)}`;
}

/** The query's words marked where they occur as typed (case aside). */
function Highlighted({ text, words }: { text: string; words: readonly string[] }) {
  const lower = text.toLowerCase();
  const marks: [number, number][] = [];
  for (const w of words) {
    for (let i = lower.indexOf(w); i >= 0 && w !== ""; i = lower.indexOf(w, i + w.length))
      marks.push([i, i + w.length]);
  }
  marks.sort((a, b) => a[0] - b[0]);
  const out: (string | preact.JSX.Element)[] = [];
  let at = 0;
  for (const [from, to] of marks) {
    if (from < at) continue;
    if (from > at) out.push(text.slice(at, from));
    out.push(<mark key={from}>{text.slice(from, to)}</mark>);
    at = to;
  }
  out.push(text.slice(at));
  return <>{out}</>;
}
