import { type RoomSettings, roleIn } from "@parley/client";
import { ROOM_MEMBERS_CAP_MAX, ROOM_MEMBERS_CAP_MIN, type RoomView } from "@parley/protocol";
import { useEffect, useState } from "preact/hooks";
import { describeError } from "../state/errors.js";
import { chat, me, members } from "../state/model.js";
import {
  banMember,
  bansOf,
  deleteRoom,
  removeMember,
  setMemberRole,
  unbanUser,
  updateRoom,
} from "../state/session.js";
import { Dialog } from "./dialog.js";
import { X } from "./icons.js";
import { capOf } from "./rooms.js";

/**
 * A room's settings (ROOM-16): name and topic for the owner and moderators; privacy, member
 * limit and passphrase for the owner; members with their roles, to promote or remove; and for
 * the owner, deleting the room. Every change is a line in the conversation for every member.
 */
export function RoomSettingsDialog({ room, onClose }: { room: RoomView; onClose: () => void }) {
  const self = me.value?.id;
  const list = members.value[room.id] ?? [];
  const role = roleIn(chat.value, room.id, self);
  const owner = role === "owner";
  const moderator = owner || role === "moderator";
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const [isPublic, setPublic] = useState(room.isPublic);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [bans, setBans] = useState<{ id: string; username: string; by: string | undefined }[]>([]);
  const loadBans = async () => {
    const list = await bansOf(room.id);
    setBans(list.map((b) => ({ id: b.user.id, username: b.user.username, by: b.by?.username })));
  };
  useEffect(() => {
    if (moderator) loadBans().catch((err: unknown) => setError(describeError(err)));
  }, [room.id, moderator]);

  const act = async (what: () => Promise<void>, close = false) => {
    setBusy(true);
    setError(undefined);
    try {
      await what();
      if (close) onClose();
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  const save = (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const settings: RoomSettings = {};
    const name = String(form.get("name") ?? "").trim();
    const topic = String(form.get("topic") ?? "").trim();
    if (name !== room.name) settings.name = name;
    if (topic !== (room.topic ?? "")) settings.topic = topic;
    if (owner) {
      if (isPublic !== room.isPublic) settings.isPublic = isPublic;
      const cap = capOf(form.get("maxMembers")) ?? null;
      if (cap !== (room.maxMembers ?? null)) settings.maxMembers = cap;
      const passphrase = String(form.get("passphrase") ?? "");
      if (form.get("clearPassphrase") === "on") settings.passphrase = null;
      else if (passphrase !== "") settings.passphrase = passphrase;
    }
    void act(() => updateRoom(room.id, settings), true);
  };

  return (
    <Dialog title="Room settings" onClose={onClose} wide>
      <form onSubmit={save}>
        <label>
          Name
          <input name="name" defaultValue={room.name} required disabled={!moderator} autoComplete="off" />
        </label>
        <label>
          Topic
          <input name="topic" defaultValue={room.topic ?? ""} disabled={!moderator} autoComplete="off" />
        </label>
        <fieldset class="choice" disabled={!owner}>
          <legend>Who can join</legend>
          <label class="check">
            <input type="radio" name="privacy" checked={!isPublic} onChange={() => setPublic(false)} />
            Private: only people invited
          </label>
          <label class="check">
            <input type="radio" name="privacy" checked={isPublic} onChange={() => setPublic(true)} />
            Public: listed in the directory, anyone may join
          </label>
        </fieldset>
        <label>
          Member limit
          <input
            name="maxMembers"
            type="number"
            min={ROOM_MEMBERS_CAP_MIN}
            max={ROOM_MEMBERS_CAP_MAX}
            defaultValue={room.maxMembers !== undefined ? String(room.maxMembers) : ""}
            disabled={!owner}
          />
        </label>
        <label>
          {room.hasPassphrase ? "New join passphrase" : "Join passphrase"}
          <input
            name="passphrase"
            type="password"
            minLength={4}
            disabled={!owner}
            autoComplete="new-password"
          />
        </label>
        {room.hasPassphrase && (
          <label class="check">
            <input type="checkbox" name="clearPassphrase" disabled={!owner} />
            Remove the passphrase
          </label>
        )}
        {moderator && (
          <div class="dialog-actions">
            <button type="submit" class="primary" disabled={busy}>
              Save
            </button>
          </div>
        )}
      </form>
      <h3>Members</h3>
      <ul class="members" aria-label="Room members">
        {list.map((m) => (
          <li key={m.userId} data-user={m.username}>
            <span>
              {m.username}
              {m.role !== "member" ? ` (${m.role})` : ""}
              {m.userId === self ? " (you)" : ""}
            </span>
            {owner && m.role !== "owner" && (
              <button
                type="button"
                class="small"
                disabled={busy}
                onClick={() =>
                  void act(() =>
                    setMemberRole(room.id, m.userId, m.role === "moderator" ? "member" : "moderator"),
                  )
                }
              >
                {m.role === "moderator" ? `Make ${m.username} a member` : `Make ${m.username} a moderator`}
              </button>
            )}
            {m.userId !== self && (owner ? m.role !== "owner" : moderator && m.role === "member") && (
              <button
                type="button"
                class="small danger"
                disabled={busy}
                onClick={() => void act(() => removeMember(room.id, m.userId))}
              >
                Remove {m.username}
              </button>
            )}
            {m.userId !== self && (owner ? m.role !== "owner" : moderator && m.role === "member") && (
              <button
                type="button"
                class="small danger"
                disabled={busy}
                onClick={() =>
                  void act(async () => {
                    await banMember(room.id, m.userId);
                    await loadBans();
                  })
                }
              >
                Ban {m.username}
              </button>
            )}
          </li>
        ))}
      </ul>
      {moderator && (
        <>
          <h3>Banned</h3>
          {bans.length === 0 ? (
            <p class="small-text">Nobody is banned from this room.</p>
          ) : (
            <ul class="members" aria-label="Banned users">
              {bans.map((b) => (
                <li key={b.id} data-user={b.username}>
                  <span>
                    {b.username}
                    {b.by !== undefined ? ` (banned by ${b.by})` : ""}
                  </span>
                  <button
                    type="button"
                    class="small"
                    disabled={busy}
                    onClick={() =>
                      void act(async () => {
                        await unbanUser(room.id, b.id);
                        await loadBans();
                      })
                    }
                  >
                    Unban {b.username}
                  </button>
                </li>
              ))}
            </ul>
          )}
        </>
      )}
      {error !== undefined && <p role="alert">{error}</p>}
      <div class="dialog-actions">
        {owner &&
          (confirmDelete ? (
            <button
              type="button"
              class="danger"
              disabled={busy}
              onClick={() => void act(() => deleteRoom(room.id), true)}
            >
              Delete {room.name} for everyone
            </button>
          ) : (
            <button type="button" class="danger" onClick={() => setConfirmDelete(true)}>
              Delete room
            </button>
          ))}
        <button type="button" onClick={onClose}>
          <X />
          Close
        </button>
      </div>
    </Dialog>
  );
}
