import { isParleyClientError } from "@parley/client";
import { ROOM_MEMBERS_CAP_MAX, ROOM_MEMBERS_CAP_MIN, type RoomView } from "@parley/protocol";
import { useEffect, useState } from "preact/hooks";
import { describeError } from "../state/errors.js";
import { rooms } from "../state/model.js";
import { createRoom, discoverRooms, joinRoom } from "../state/session.js";
import { Dialog } from "./dialog.js";

/** A number field's value: undefined when empty. */
export function capOf(value: FormDataEntryValue | null): number | undefined {
  const text = String(value ?? "").trim();
  return text === "" ? undefined : Number(text);
}

/** The "New room" dialog: a name, private (the default) or public, an optional cap and passphrase (ROOM-2, 14, 15). */
export function NewRoomDialog({ onClose }: { onClose: () => void }) {
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const [isPublic, setPublic] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const name = String(form.get("name") ?? "").trim();
    const maxMembers = capOf(form.get("maxMembers"));
    const passphrase = String(form.get("passphrase") ?? "");
    setBusy(true);
    try {
      await createRoom(name, {
        isPublic,
        ...(maxMembers !== undefined ? { maxMembers } : {}),
        ...(isPublic && passphrase !== "" ? { passphrase } : {}),
      });
      onClose();
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  };
  return (
    <Dialog title="New room" onClose={onClose}>
      <form onSubmit={submit}>
        <label>
          Room name
          <input name="name" required autoComplete="off" spellcheck={false} />
        </label>
        <fieldset class="choice">
          <legend>Who can join</legend>
          <label class="check">
            <input type="radio" name="privacy" checked={!isPublic} onChange={() => setPublic(false)} />
            Private: only people you invite
          </label>
          <label class="check">
            <input type="radio" name="privacy" checked={isPublic} onChange={() => setPublic(true)} />
            Public: listed in the directory, anyone may join
          </label>
        </fieldset>
        <label>
          Member limit (optional)
          <input
            name="maxMembers"
            type="number"
            min={ROOM_MEMBERS_CAP_MIN}
            max={ROOM_MEMBERS_CAP_MAX}
            inputMode="numeric"
          />
        </label>
        {isPublic && (
          <label>
            Join passphrase (optional)
            <input name="passphrase" type="password" minLength={4} autoComplete="new-password" />
          </label>
        )}
        {error !== undefined && <p role="alert">{error}</p>}
        <div class="dialog-actions">
          <button type="submit" class="primary" disabled={busy}>
            Create
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/**
 * "Join room": the public-room directory (ROOM-11), searchable and a page at a time, and a field
 * for a room id or a public room's name. Asks for the passphrase when the room wants one.
 */
export function JoinRoomDialog({ onClose }: { onClose: () => void }) {
  const [query, setQuery] = useState("");
  const [page, setPage] = useState<{ rooms: RoomView[]; next?: string } | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [needsPassphrase, setNeedsPassphrase] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const mine = new Set(rooms.value.map((r) => r.id));

  const load = async (q: string, after?: string) => {
    try {
      const next = await discoverRooms(q, after);
      setPage((prev) =>
        after !== undefined && prev !== undefined ? { ...next, rooms: [...prev.rooms, ...next.rooms] } : next,
      );
    } catch (err) {
      setError(describeError(err));
    }
  };
  useEffect(() => {
    const t = setTimeout(() => void load(query), 250);
    return () => clearTimeout(t);
  }, [query]);

  const join = async (target: string, passphrase?: string) => {
    setBusy(true);
    setError(undefined);
    try {
      await joinRoom(target, passphrase);
      onClose();
    } catch (err) {
      if (isParleyClientError(err, "passphrase_required")) setNeedsPassphrase(target);
      else setError(describeError(err));
      setBusy(false);
    }
  };
  const submit = (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const target = needsPassphrase ?? String(form.get("room") ?? "").trim();
    const passphrase = String(form.get("passphrase") ?? "");
    void join(target, passphrase === "" ? undefined : passphrase);
  };

  return (
    <Dialog title="Join room" onClose={onClose} wide>
      <label>
        Search public rooms
        <input
          type="search"
          value={query}
          onInput={(e) => setQuery(e.currentTarget.value)}
          autoComplete="off"
          spellcheck={false}
        />
      </label>
      <ul class="directory" aria-label="Public rooms">
        {page?.rooms.length === 0 && (
          <li class="muted small-text">No public rooms{query ? " with that name" : ""}.</li>
        )}
        {page?.rooms.map((r) => (
          <li key={r.id} data-room={r.name}>
            <span class="directory-room">
              <strong>{r.name}</strong>
              <span class="muted small-text">
                {" "}
                {r.memberCount ?? 0}
                {r.maxMembers !== undefined ? ` of ${r.maxMembers}` : ""} members
                {r.hasPassphrase ? ", passphrase" : ""}
              </span>
              {r.topic && <span class="small-text"> {r.topic}</span>}
            </span>
            {mine.has(r.id) ? (
              <span class="muted small-text">Joined</span>
            ) : (
              <button type="button" class="small" disabled={busy} onClick={() => void join(r.id)}>
                Join {r.name}
              </button>
            )}
          </li>
        ))}
      </ul>
      {page?.next !== undefined && (
        <button type="button" class="small" onClick={() => void load(query, page.next)}>
          More rooms
        </button>
      )}
      <form onSubmit={submit}>
        {needsPassphrase === undefined ? (
          <label>
            Room id or name
            <input name="room" required autoComplete="off" spellcheck={false} />
          </label>
        ) : (
          <label>
            Passphrase
            <input name="passphrase" type="password" required autoComplete="off" />
          </label>
        )}
        <p class="muted small-text">
          {needsPassphrase === undefined
            ? "A private room's id (six letters and digits, like 7KQ2XM) only works with an invitation."
            : "This room asks for a passphrase: its owner can tell you."}
        </p>
        {error !== undefined && <p role="alert">{error}</p>}
        <div class="dialog-actions">
          <button type="submit" class="primary" disabled={busy}>
            Join
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}
