import { formatRetention, parseRetention, RETENTION_DAYS } from "@parley/client";
import { useEffect, useState } from "preact/hooks";
import { describeError } from "../state/errors.js";
import {
  adminOpen,
  badge,
  connection,
  conversationName,
  directPeer,
  invitations,
  me,
  notice,
  people,
  persistent,
  readReceipts,
  retention,
  rooms,
  selectedRoom,
  type ThemeChoice,
  theme,
  unread,
} from "../state/model.js";
import { showBadge } from "../state/notifications.js";
import {
  blockUser,
  declineInvitation,
  joinRoom,
  openDirect,
  selectRoom,
  setReadReceipts,
  setRetention,
  signOut,
} from "../state/session.js";
import {
  BlockedSection,
  ChangePasswordSection,
  DeleteAccountSection,
  RecoveryCodesSection,
  SessionsSection,
} from "./account.js";
import { AdminArea } from "./admin.js";
import { Avatar } from "./avatar.js";
import { Conversation } from "./conversation.js";
import { DevicesSection } from "./devices.js";
import { Dialog } from "./dialog.js";
import { FollowButton, FollowedPosts } from "./following.js";
import { LogIn, LogOut, MessageSquarePlus, Search, Settings, ShieldCheck, X } from "./icons.js";
import { NotificationSettings } from "./notify.js";
import { JoinRoomDialog, NewRoomDialog } from "./rooms.js";
import { SearchDialog } from "./search.js";
import { PolicyWarning, ServerPanel } from "./server-policy.js";
import { RecoveryCodesOnce, TwoFactorSection } from "./two-factor.js";

export function Shell() {
  const [dialog, setDialog] = useState<"new" | "join" | "settings" | "search" | undefined>();
  const room = rooms.value.find((r) => r.id === selectedRoom.value);
  const count = badge.value;
  useEffect(() => showBadge(count), [count]);
  return (
    // On a phone the main pane replaces the sidebar while it shows something: a conversation,
    // or the admin area (else an admin's tap on Admin showed nothing until a room was picked).
    <div
      class={`shell${room !== undefined || (adminOpen.value && me.value?.isAdmin === true) ? " has-conversation" : ""}`}
    >
      <header class="topbar">
        <span class="logo">Parley</span>
        <ConnectionStatus />
        {me.value !== undefined && <Avatar userId={me.value.id} name={me.value.username} size="sm" />}
        <span class="me" data-testid="me">
          {me.value?.username}
        </span>
        {me.value?.isAdmin === true && (
          <button
            type="button"
            class="icon-button"
            aria-pressed={adminOpen.value}
            onClick={() => (adminOpen.value = !adminOpen.value)}
          >
            <ShieldCheck />
            <span class="button-label">Admin</span>
          </button>
        )}
        <button type="button" class="icon-button" onClick={() => setDialog("settings")}>
          <Settings />
          <span class="button-label">Settings</span>
        </button>
      </header>
      <PolicyWarning />
      {dialog !== "settings" && <RecoveryCodesOnce />}
      <aside class="sidebar">
        <div class="sidebar-actions">
          <button type="button" onClick={() => setDialog("new")}>
            <MessageSquarePlus />
            New room
          </button>
          <button type="button" onClick={() => setDialog("join")}>
            <LogIn />
            Join room
          </button>
          <button type="button" onClick={() => setDialog("search")}>
            <Search />
            Search
          </button>
        </div>
        <Invitations />
        <FollowedPosts />
        <nav aria-label="Conversations">
          <h2 class="section-title">Conversations</h2>
          {rooms.value.length === 0 && <p class="muted small-text">No conversations yet.</p>}
          <ul>
            {[...rooms.value]
              .sort((a, b) => conversationName(a).localeCompare(conversationName(b)))
              .map((r) => {
                const n = unread.value[r.id] ?? 0;
                const peer = r.kind === "direct" ? directPeer(r.id) : undefined;
                return (
                  <li key={r.id}>
                    <button
                      type="button"
                      class={`conversation-link${r.id === selectedRoom.value ? " selected" : ""}`}
                      aria-current={r.id === selectedRoom.value ? "true" : undefined}
                      onClick={() => selectRoom(r.id)}
                    >
                      <Avatar
                        userId={peer?.id ?? r.id}
                        name={conversationName(r)}
                        room={peer === undefined}
                      />
                      <span class="conversation-name">{conversationName(r)}</span>
                      {n > 0 && (
                        <span class="badge" data-testid="unread">
                          <span aria-hidden="true">{n}</span>
                          <span class="sr-only">, {n} unread</span>
                        </span>
                      )}
                    </button>
                  </li>
                );
              })}
          </ul>
        </nav>
        <People />
      </aside>
      <main class="main">
        {adminOpen.value && me.value?.isAdmin === true ? (
          <AdminArea />
        ) : room !== undefined ? (
          <Conversation key={room.id} room={room} />
        ) : (
          <section class="welcome">
            <h2>Welcome{me.value ? `, ${me.value.username}` : ""}</h2>
            <p class="muted">
              Pick a conversation, create a room, or message someone from People. Everything you send is
              end-to-end encrypted: the server only relays ciphertext.
            </p>
          </section>
        )}
      </main>
      <p class="notice" role="status" aria-live="polite">
        {notice.value !== undefined && (
          <>
            {notice.value}{" "}
            <button type="button" class="small" onClick={() => (notice.value = undefined)}>
              Dismiss
            </button>
          </>
        )}
      </p>
      {dialog === "new" && <NewRoomDialog onClose={() => setDialog(undefined)} />}
      {dialog === "join" && <JoinRoomDialog onClose={() => setDialog(undefined)} />}
      {dialog === "settings" && <SettingsDialog onClose={() => setDialog(undefined)} />}
      {dialog === "search" && <SearchDialog onClose={() => setDialog(undefined)} />}
    </div>
  );
}

function ConnectionStatus() {
  const s = connection.value;
  const [now, setNow] = useState(Date.now());
  const [since, setSince] = useState(Date.now());
  useEffect(() => setSince(Date.now()), [s]);
  useEffect(() => {
    if (s.state !== "reconnecting") return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [s]);
  const text =
    s.state === "connected"
      ? "Connected"
      : s.state === "connecting"
        ? "Connecting"
        : s.state === "reconnecting"
          ? `Reconnecting in ${Math.max(0, Math.ceil((s.inMs - (now - since)) / 1000))} s`
          : "Offline";
  return (
    <span class={`connection connection-${s.state}`} role="status" data-testid="connection">
      <span class="dot" aria-hidden="true" />
      {text}
    </span>
  );
}

function Invitations() {
  if (invitations.value.length === 0) return null;
  return (
    <section class="invitations">
      <h2 class="section-title">Invitations</h2>
      <ul aria-label="Invitations">
        {invitations.value.map((i) => (
          <li key={i.room.id}>
            <span>
              {i.by.username} invited you to <strong>{i.room.name}</strong>
            </span>
            <span class="row">
              <button
                type="button"
                class="small primary"
                onClick={() =>
                  joinRoom(i.room.id).catch((e: unknown) => {
                    notice.value = describeError(e);
                  })
                }
              >
                Join {i.room.name}
              </button>
              <button type="button" class="small" onClick={() => declineInvitation(i.room.id)}>
                Decline {i.room.name}
              </button>
              <button
                type="button"
                class="small danger"
                onClick={() =>
                  blockUser(i.by.id).then(
                    () =>
                      (notice.value = `${i.by.username} is blocked: their invitations will not reach you.`),
                    (e: unknown) => (notice.value = describeError(e)),
                  )
                }
              >
                Block {i.by.username}
              </button>
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}

/**
 * How many people the sidebar lists before "Show all": the list holds every account on the
 * server, and a server of a thousand would hold the page's thread for a second at each cold
 * load and each presence change (issue 20), for a list nobody scrolls through.
 */
const PEOPLE_SHOWN = 50;
const byName = new Intl.Collator().compare;

function People() {
  const [all, setAll] = useState(false);
  const self = me.value?.id;
  const others = people.value.filter((p) => p.id !== self);
  const sorted = others.sort((a, b) => Number(b.online) - Number(a.online) || byName(a.username, b.username));
  const shown = all ? sorted : sorted.slice(0, PEOPLE_SHOWN);
  return (
    <section class="people" aria-label="People">
      <h2 class="section-title">People</h2>
      <ul>
        {shown.map((p) => (
          <li key={p.id} data-user={p.username} data-presence={p.online ? "online" : "offline"}>
            <button
              type="button"
              class="person"
              aria-label={`Message ${p.username}`}
              onClick={() => {
                openDirect(p.id).catch((e: unknown) => {
                  notice.value = describeError(e);
                });
              }}
            >
              <span class="avatar-with-presence">
                <Avatar userId={p.id} name={p.username} />
                <span class={`dot ${p.online ? "online" : "offline"}`} aria-hidden="true" />
              </span>
              <span class="person-name">{p.username}</span>
            </button>
            <span class="sr-only">{p.online ? "online" : "offline"}</span>
            <FollowButton userId={p.id} username={p.username} />
            <button
              type="button"
              class="small subtle"
              aria-label={`Block ${p.username}`}
              title={`Block ${p.username}'s invitations`}
              onClick={() =>
                blockUser(p.id).then(
                  () => (notice.value = `${p.username} is blocked: their invitations will not reach you.`),
                  (e: unknown) => (notice.value = describeError(e)),
                )
              }
            >
              Block
            </button>
          </li>
        ))}
      </ul>
      {shown.length < sorted.length && (
        <button type="button" class="small subtle" onClick={() => setAll(true)}>
          Show all {sorted.length} people
        </button>
      )}
    </section>
  );
}

function SettingsDialog({ onClose }: { onClose: () => void }) {
  const [erase, setErase] = useState(false);
  return (
    <Dialog title="Settings" onClose={onClose}>
      <div class="settings-form">
        <fieldset class="settings-group">
          <legend>Appearance</legend>
          <label class="field">
            <span class="field-label">Theme</span>
            <select
              value={theme.value}
              onChange={(e) => (theme.value = e.currentTarget.value as ThemeChoice)}
            >
              <option value="system">System</option>
              <option value="modern-light">Modern light</option>
              <option value="modern-dark">Modern dark</option>
              <option value="terminal">Terminal</option>
            </select>
          </label>
        </fieldset>
        <fieldset class="settings-group">
          <legend>Privacy</legend>
          <label class="field">
            <span class="field-label">History on this device</span>
            <select
              value={formatRetention(retention.value)}
              disabled={!persistent.value}
              onChange={(e) => {
                const next = parseRetention(e.currentTarget.value);
                if (next !== undefined) void setRetention(next);
              }}
            >
              <option value="all">Keep</option>
              {RETENTION_DAYS.map((d) => (
                <option key={d} value={`${d}d`}>
                  Keep for {d === 1 ? "1 day" : `${d} days`}
                </option>
              ))}
              <option value="none">Keep nothing</option>
            </select>
          </label>
          <p class="field-help muted small-text">
            Kept messages, unread counts and read positions stay in this browser, encrypted with a key the
            page cannot export. Keep nothing: messages live in this page's memory only.
          </p>
          <label class="check">
            <input
              type="checkbox"
              checked={readReceipts.value}
              onChange={(e) => void setReadReceipts(e.currentTarget.checked)}
            />
            Send read receipts
          </label>
          <p class="field-help muted small-text">
            Off: nobody sees when you read their messages, and you see nobody's.
          </p>
        </fieldset>
        <div class="settings-group">
          <NotificationSettings />
        </div>
        <div class="settings-group">
          <DevicesSection />
        </div>
        <div class="settings-group">
          <SessionsSection />
        </div>
        <div class="settings-group">
          <ChangePasswordSection />
        </div>
        <div class="settings-group">
          <RecoveryCodesSection />
        </div>
        <div class="settings-group">
          <TwoFactorSection />
          <RecoveryCodesOnce />
        </div>
        <div class="settings-group">
          <ServerPanel />
        </div>
        <div class="settings-group">
          <BlockedSection />
        </div>
        <div class="settings-group">
          <DeleteAccountSection />
        </div>
        <fieldset class="settings-group">
          <legend>Sign out</legend>
          <label class="check">
            <input type="checkbox" checked={erase} onChange={(e) => setErase(e.currentTarget.checked)} />
            Erase this device's keys and history
          </label>
        </fieldset>
      </div>
      <div class="dialog-actions">
        <button type="button" class={erase ? "danger" : ""} onClick={() => void signOut(erase)}>
          <LogOut />
          Sign out
        </button>
        <button type="button" onClick={onClose}>
          <X />
          Close
        </button>
      </div>
    </Dialog>
  );
}
