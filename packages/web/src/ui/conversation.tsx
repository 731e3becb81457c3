import type { RoomView } from "@parley/protocol";
import { useEffect, useId, useRef, useState } from "preact/hooks";
import { describeError } from "../state/errors.js";
import { conversationName, directPeer, disappearing, me, members, notice, trust } from "../state/model.js";
import { inviteUser, leaveRoom, selectRoom, setDisappearing } from "../state/session.js";
import { Avatar } from "./avatar.js";
import { Composer } from "./composer.js";
import { Dialog } from "./dialog.js";
import {
  ArrowLeft,
  DoorOpen,
  EllipsisVertical,
  Lock,
  LockOpen,
  SlidersHorizontal,
  UserPlus,
  Users,
} from "./icons.js";
import { MessageList } from "./message-list.js";
import { NotifySelect } from "./notify.js";
import { RoomSettingsDialog } from "./room-settings.js";
import { SafetyDialog } from "./safety-dialog.js";
import { SuiteLabel } from "./suite-label.js";

type TrustLevel = "verified" | "not verified" | "key changed";

/** The conversation's overall trust: changed if anyone's key changed, verified only if everyone is. */
function roomTrust(userIds: readonly string[]): TrustLevel {
  const states = userIds.map((id) => trust.value[id] ?? "unverified");
  if (states.includes("changed")) return "key changed";
  if (states.length > 0 && states.every((s) => s === "verified")) return "verified";
  return "not verified";
}

export function Conversation({ room }: { room: RoomView }) {
  const self = me.value?.id;
  const list = members.value[room.id] ?? [];
  const others = list.filter((m) => m.userId !== self);
  const name = conversationName(room);
  const level = roomTrust(others.map((m) => m.userId));
  const changed = others.filter((m) => trust.value[m.userId] === "changed");
  // An identity change of someone never verified: said, but it does not block (issue 14).
  const changedUnverified = others.filter((m) => trust.value[m.userId] === "changed_unverified");
  const [verifying, setVerifying] = useState<{ userId: string; username: string } | undefined>();
  const [dialog, setDialog] = useState<"invite" | "leave" | "room" | undefined>();
  const [showMembers, setShowMembers] = useState(() => matchMedia("(min-width: 900px)").matches);
  const isRoom = room.kind === "room";
  const peer = isRoom ? undefined : directPeer(room.id);
  // On a phone the room's actions fold into one menu, so the header stays one row (issue 20).
  const [menuOpen, setMenuOpen] = useState(false);
  const menuId = useId();
  const headerRef = useRef<HTMLElement>(null);
  const toggleRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (!menuOpen) return;
    const outside = (e: PointerEvent) => {
      if (!(e.target instanceof Node) || headerRef.current?.contains(e.target) !== true) setMenuOpen(false);
    };
    const onEscape = (e: KeyboardEvent) => {
      if (e.key !== "Escape") return;
      setMenuOpen(false);
      toggleRef.current?.focus();
    };
    document.addEventListener("pointerdown", outside);
    document.addEventListener("keydown", onEscape);
    return () => {
      document.removeEventListener("pointerdown", outside);
      document.removeEventListener("keydown", onEscape);
    };
  }, [menuOpen]);
  /** Runs a menu item's action and folds the menu again. */
  const pick = (action: () => void) => () => {
    setMenuOpen(false);
    action();
  };

  const openLock = () => {
    if (peer !== undefined) setVerifying({ userId: peer.id, username: peer.username });
    else setShowMembers(true);
  };

  return (
    <section class="conversation" aria-labelledby="conversation-title">
      <header class="conversation-header" ref={headerRef}>
        <button
          type="button"
          class="back icon-button"
          aria-label="Back to conversations"
          title="Conversations"
          onClick={() => selectRoom(undefined)}
        >
          <ArrowLeft />
        </button>
        <Avatar userId={peer?.id ?? room.id} name={name} room={isRoom} />
        <div class="conversation-title">
          <h2 id="conversation-title">{name}</h2>
          {isRoom && (
            <span class="room-id">
              {room.isPublic ? "public" : "private"}, id <span data-testid="room-id">{room.id}</span>
            </span>
          )}
          {isRoom && room.topic && (
            <span class="room-topic small-text" data-testid="room-topic">
              {room.topic}
            </span>
          )}
        </div>
        <button
          type="button"
          class={`lock lock-${level.replace(" ", "-")}`}
          aria-label={`Encryption: ${level}`}
          title={`End-to-end encrypted, ${level}`}
          onClick={openLock}
        >
          {level === "key changed" ? <LockOpen class="lock-icon" /> : <Lock class="lock-icon" />}
          <span aria-hidden="true" class="lock-text">
            {level === "verified" ? "Verified" : level === "key changed" ? "Key changed" : "Unverified"}
          </span>
        </button>
        <button
          type="button"
          ref={toggleRef}
          class="menu-toggle icon-button"
          aria-label={isRoom ? "Room menu" : "Conversation menu"}
          aria-expanded={menuOpen}
          aria-controls={menuId}
          onClick={() => setMenuOpen(!menuOpen)}
        >
          <EllipsisVertical />
        </button>
        <div class={`conversation-actions${menuOpen ? " open" : ""}`} id={menuId}>
          <DisappearingSelect roomId={room.id} />
          <NotifySelect roomId={room.id} />
          {isRoom && (
            <>
              <button
                type="button"
                aria-expanded={showMembers}
                title={`Members (${list.length})`}
                onClick={pick(() => setShowMembers(!showMembers))}
              >
                <Users />
                <span class="button-label">Members ({list.length})</span>
              </button>
              <button type="button" title="Invite" onClick={pick(() => setDialog("invite"))}>
                <UserPlus />
                <span class="button-label">Invite</span>
              </button>
              <button type="button" title="Room settings" onClick={pick(() => setDialog("room"))}>
                <SlidersHorizontal />
                <span class="button-label">Room settings</span>
              </button>
              <button type="button" title="Leave" onClick={pick(() => setDialog("leave"))}>
                <DoorOpen />
                <span class="button-label">Leave</span>
              </button>
            </>
          )}
        </div>
      </header>
      {changed.map((m) => (
        <div key={m.userId} role="alert" class="banner banner-danger">
          <span>
            {m.username}'s security key changed since you verified it. They may have reset their identity, or
            someone may be in the middle. Compare safety numbers before you go on.
          </span>
          <button type="button" onClick={() => setVerifying({ userId: m.userId, username: m.username })}>
            Review safety number
          </button>
        </div>
      ))}
      {changedUnverified.map((m) => (
        <div key={m.userId} role="status" class="banner banner-notice">
          <span>
            {m.username}'s security key changed: they may have reset their identity. You had not verified
            them; compare safety numbers to be sure.
          </span>
          <button type="button" onClick={() => setVerifying({ userId: m.userId, username: m.username })}>
            Review safety number
          </button>
        </div>
      ))}
      {isRoom && showMembers && <SuiteLabel roomId={room.id} members={list.length} />}
      {(isRoom ? showMembers : false) && (
        <ul class="members" aria-label="Members">
          {list.map((m) => (
            <li key={m.userId} data-user={m.username} data-presence={m.online ? "online" : "offline"}>
              <span class="avatar-with-presence">
                <Avatar userId={m.userId} name={m.username} size="sm" />
                <span class={`dot ${m.online ? "online" : "offline"}`} aria-hidden="true" />
              </span>
              <span>
                {m.username}
                {m.role !== "member" ? ` (${m.role})` : ""}
                {m.userId === self ? " (you)" : ""}
              </span>
              <span class="sr-only">{m.online ? "online" : "offline"}</span>
              {m.userId !== self && (
                <button
                  type="button"
                  class="small"
                  onClick={() => setVerifying({ userId: m.userId, username: m.username })}
                >
                  Verify {m.username}
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      <MessageList roomId={room.id} />
      <Composer roomId={room.id} blocked={changed.length > 0} />
      {verifying !== undefined && (
        <SafetyDialog
          userId={verifying.userId}
          username={verifying.username}
          roomId={room.id}
          onClose={() => setVerifying(undefined)}
        />
      )}
      {dialog === "invite" && <InviteDialog roomId={room.id} onClose={() => setDialog(undefined)} />}
      {dialog === "leave" && <LeaveDialog room={room} onClose={() => setDialog(undefined)} />}
      {dialog === "room" && <RoomSettingsDialog room={room} onClose={() => setDialog(undefined)} />}
    </section>
  );
}

function InviteDialog({ roomId, onClose }: { roomId: string; onClose: () => void }) {
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const username = String(new FormData(e.currentTarget as HTMLFormElement).get("username") ?? "");
    setBusy(true);
    try {
      await inviteUser(roomId, username);
      onClose();
    } catch (err) {
      setError(err instanceof Error && !("code" in err) ? err.message : describeError(err));
      setBusy(false);
    }
  };
  return (
    <Dialog title="Invite" onClose={onClose}>
      <form onSubmit={submit}>
        <label>
          Username
          <input name="username" required autoCapitalize="none" spellcheck={false} autoComplete="off" />
        </label>
        {error !== undefined && <p role="alert">{error}</p>}
        <div class="dialog-actions">
          <button type="submit" class="primary" disabled={busy}>
            Send invite
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function LeaveDialog({ room, onClose }: { room: RoomView; onClose: () => void }) {
  const [error, setError] = useState<string | undefined>();
  const leave = async () => {
    try {
      await leaveRoom(room.id);
      onClose();
    } catch (err) {
      setError(describeError(err));
    }
  };
  return (
    <Dialog title="Leave room" onClose={onClose}>
      <p>
        Leave {room.name}? You will stop receiving its messages; someone has to invite you again if it is
        private.
      </p>
      {error !== undefined && <p role="alert">{error}</p>}
      <div class="dialog-actions">
        <button type="button" class="danger" onClick={() => void leave()}>
          Leave room
        </button>
        <button type="button" onClick={onClose}>
          Cancel
        </button>
      </div>
    </Dialog>
  );
}

/** A padlock drawn in SVG, so it shows on systems without an emoji font. */

const TIMERS: readonly [number, string][] = [
  [0, "Off"],
  [3_600, "1 hour"],
  [86_400, "1 day"],
  [604_800, "1 week"],
];

/** The conversation's disappearing-message timer: shown to all, set by any member for everyone. */
function DisappearingSelect({ roomId }: { roomId: string }) {
  const seconds = disappearing.value[roomId] ?? 0;
  return (
    <label class="disappearing" title="Messages sent from now on disappear from every member's device">
      <span class="small-text">Disappearing</span>
      <select
        aria-label="Disappearing messages"
        value={String(seconds)}
        onChange={(e) => {
          const next = Number(e.currentTarget.value);
          setDisappearing(roomId, next).catch((error: unknown) => {
            notice.value = describeError(error);
          });
        }}
      >
        {TIMERS.map(([value, label]) => (
          <option key={value} value={String(value)}>
            {label}
          </option>
        ))}
      </select>
    </label>
  );
}
