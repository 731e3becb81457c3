import {
  type ConnectionStatus,
  type DeviceStore,
  fetchServerInfo,
  type InvitedEvent,
  type MembershipEvent,
  type MessageEvent,
  ParleyClient,
  type SafetyNumberResult,
  TypingNotifier,
  TypingRoster,
} from "@parley/client";
import { canonicalRoomId, type InfoResponse, type RoomView } from "@parley/protocol";
import { eraseAccount, getSetting, openAccountStore, setSetting } from "../platform/idb-store.js";
import { describeError } from "./errors.js";
import { History } from "./history.js";
import {
  type ChatMessage,
  connection,
  invitations,
  keepHistory,
  me,
  members,
  messages,
  notice,
  people,
  persistent,
  rooms,
  route,
  selectedRoom,
  serverInfo,
  trust,
  typing,
  unread,
} from "./model.js";

/**
 * The one place that talks to the SDK and writes the model's signals. Components call these
 * actions; every failure surfaces as a thrown error with a readable message (describeError) or
 * as a notice, never as a silent drop.
 */

const LAST_ACCOUNT = "last-account";

let client: ParleyClient | undefined;
let account: string | undefined;
let history: History | undefined;
let localCounter = 0;
const outbox: { key: string; roomId: string; text: string }[] = [];
let flushing = false;
/** Who is typing where (the `typing` signal follows it). */
const typists = new TypingRoster((roomId, list) => {
  typing.value = { ...typing.value, [roomId]: Object.fromEntries(list.map((t) => [t.userId, t.username])) };
});
/** This user's own typing, told to the room it happens in. */
const ownTyping = new TypingNotifier((roomId, active) => {
  if (connection.value.state === "connected") client?.typing(roomId, active);
});

function makeClient(store: DeviceStore): ParleyClient {
  return new ParleyClient({
    baseUrl: location.origin,
    fetch: (url, init) => fetch(url, { ...init, credentials: "same-origin", cache: "no-store" }),
    WebSocket,
    store,
  });
}

function active(): ParleyClient {
  if (client === undefined) throw new Error("not signed in");
  return client;
}

// ------------------------------------------------------------------------------- start-up

export async function loadServerInfo(): Promise<InfoResponse | undefined> {
  try {
    serverInfo.value = await fetchServerInfo(location.origin, (url, init) =>
      fetch(url, { ...init, cache: "no-store" }),
    );
    return serverInfo.value;
  } catch {
    return undefined;
  }
}

/** Restores the last account's session from this browser, if it kept one. */
export async function resumeLastSession(): Promise<boolean> {
  const last = await getSetting(LAST_ACCOUNT);
  if (last === undefined) return false;
  const opened = await openAccountStore(last);
  const candidate = makeClient(opened.store);
  try {
    if (!(await candidate.resume())) return false;
  } catch {
    return false;
  }
  await begin(candidate, last, opened.store, opened.persistent);
  return true;
}

export async function signIn(username: string, password: string): Promise<void> {
  const opened = await openAccountStore(username);
  const candidate = makeClient(opened.store);
  await candidate.login(username, password);
  await begin(candidate, username, opened.store, opened.persistent);
}

export async function register(username: string, password: string, inviteCode?: string): Promise<void> {
  const opened = await openAccountStore(username);
  const candidate = makeClient(opened.store);
  await candidate.register(username, password, inviteCode);
  await begin(candidate, username, opened.store, opened.persistent);
}

async function begin(
  c: ParleyClient,
  username: string,
  store: DeviceStore,
  canPersist: boolean,
): Promise<void> {
  client = c;
  account = username;
  persistent.value = canPersist;
  me.value = c.user;
  await setSetting(LAST_ACCOUNT, username);
  keepHistory.value = canPersist && (await getSetting(historySetting())) === "on";
  history = new History(store);
  addEventListener("pagehide", () => void history?.flush());
  wire(c);
  route.value = "app";
  if (keepHistory.value) messages.value = await history.loadAll();
  try {
    await c.connect();
  } catch (e) {
    notice.value = describeError(e);
  }
}

function historySetting(): string {
  return `history:${account ?? ""}`;
}

// ------------------------------------------------------------------------------- SDK events

function wire(c: ParleyClient): void {
  c.on("status", (status) => onStatus(c, status));
  c.on("message", (m) => onMessage(m));
  c.on("presence", (p) => setOnline(p.userId, p.username, p.online));
  c.on("typing", (t) => {
    if (t.userId === me.value?.id) return;
    typists.update(t);
  });
  c.on("membership", (m) => void onMembership(c, m));
  c.on("invited", (i) => onInvited(i));
  c.on("room", (room) => void addRoom(c, room));
  c.on("key_changed", (change) => {
    trust.value = { ...trust.value, [change.userId]: "changed" };
  });
  c.on("queue_missed", (m) => {
    notice.value = `${m.dropped} message${m.dropped === 1 ? "" : "s"} sent while this device was away did not wait for it (the server keeps only the newest).`;
  });
  c.on("error", (e) => {
    if (e.messageId !== undefined) notice.value = "A message could not be decrypted on this device.";
  });
}

function onStatus(c: ParleyClient, status: ConnectionStatus): void {
  connection.value = status;
  if (status.state === "connected") {
    me.value = c.user;
    void refreshAll(c);
    void flushOutbox();
  } else if (status.state === "offline") {
    for (const item of outbox.splice(0)) setStatus(item.key, "failed");
  }
}

async function refreshAll(c: ParleyClient): Promise<void> {
  try {
    const [list, users] = await Promise.all([c.rooms(), c.users()]);
    rooms.value = list;
    people.value = users;
    await Promise.all(list.map((r) => loadMembers(c, r.id)));
  } catch (e) {
    notice.value = describeError(e);
  }
}

async function loadMembers(c: ParleyClient, roomId: string): Promise<void> {
  try {
    const list = await c.members(roomId);
    members.value = { ...members.value, [roomId]: list };
    const self = me.value?.id;
    const states = await Promise.all(
      list.filter((m) => m.userId !== self).map(async (m) => [m.userId, await c.trust(m.userId)] as const),
    );
    trust.value = { ...trust.value, ...Object.fromEntries(states) };
  } catch {
    // The room may have gone (left, removed) between the list and this call.
  }
}

async function addRoom(c: ParleyClient, room: RoomView): Promise<void> {
  rooms.value = [...rooms.value.filter((r) => r.id !== room.id), room];
  invitations.value = invitations.value.filter((i) => i.room.id !== room.id);
  await loadMembers(c, room.id);
}

function dropRoom(roomId: string): void {
  rooms.value = rooms.value.filter((r) => r.id !== roomId);
  const { [roomId]: _gone, ...rest } = members.value;
  members.value = rest;
  if (selectedRoom.value === roomId) selectedRoom.value = undefined;
}

async function onMembership(c: ParleyClient, m: MembershipEvent): Promise<void> {
  if (m.source !== "room") return;
  if (m.userId === me.value?.id && (m.event === "left" || m.event === "removed")) {
    dropRoom(m.roomId);
    if (m.event === "removed") notice.value = "You were removed from a room.";
    return;
  }
  await loadMembers(c, m.roomId);
}

function onInvited(i: InvitedEvent): void {
  if (rooms.value.some((r) => r.id === i.room.id)) return;
  invitations.value = [...invitations.value.filter((x) => x.room.id !== i.room.id), i];
}

function onMessage(m: MessageEvent): void {
  if (m.text === undefined) return; // attachments arrive with the files feature
  const self = me.value?.id;
  receive({
    key: m.id,
    roomId: m.roomId,
    fromId: m.from.userId,
    fromName: m.from.username,
    ts: m.ts,
    text: m.text,
    own: m.from.userId === self,
    trust: m.trust,
  });
}

let receiving: Promise<void> = Promise.resolve();

/**
 * Shows a received message. With history kept, the message is written first, so what the
 * page has shown survives a reload that follows at once; arrivals keep their order.
 */
function receive(message: ChatMessage): void {
  const show = () => {
    append(message);
    typists.update({
      roomId: message.roomId,
      userId: message.fromId,
      username: message.fromName,
      active: false,
    });
    if (message.roomId !== selectedRoom.value || document.visibilityState !== "visible") {
      unread.value = { ...unread.value, [message.roomId]: (unread.value[message.roomId] ?? 0) + 1 };
    }
  };
  const kept = history;
  if (!keepHistory.value || kept === undefined) {
    show();
    return;
  }
  receiving = receiving.then(async () => {
    const list = messages.value[message.roomId] ?? [];
    if (!list.some((x) => x.key === message.key)) {
      try {
        await kept.saveNow(message.roomId, [...list, message]);
      } catch {
        notice.value = "This device could not keep a message in its history.";
      }
    }
    show();
  });
}

function setOnline(userId: string, username: string, online: boolean): void {
  // Someone who registered after this page loaded appears with their first presence.
  people.value = people.value.some((p) => p.id === userId)
    ? people.value.map((p) => (p.id === userId ? { ...p, online } : p))
    : [...people.value, { id: userId, username, online }];
  const next: Record<string, (typeof members.value)[string]> = {};
  for (const [roomId, list] of Object.entries(members.value)) {
    next[roomId] = list.map((m) => (m.userId === userId ? { ...m, online } : m));
  }
  members.value = next;
}

// ------------------------------------------------------------------------------- messages

function append(message: ChatMessage): void {
  const list = messages.value[message.roomId] ?? [];
  if (list.some((x) => x.key === message.key)) return;
  messages.value = { ...messages.value, [message.roomId]: [...list, message] };
  persist(message.roomId);
}

function update(key: string, change: (m: ChatMessage) => ChatMessage): void {
  for (const [roomId, list] of Object.entries(messages.value)) {
    const i = list.findIndex((m) => m.key === key);
    if (i < 0) continue;
    const copy = [...list];
    copy[i] = change(copy[i]!);
    messages.value = { ...messages.value, [roomId]: copy };
    persist(roomId);
    return;
  }
}

function setStatus(key: string, status: NonNullable<ChatMessage["status"]>): void {
  update(key, (m) => ({ ...m, status }));
}

function persist(roomId: string): void {
  if (keepHistory.value) history?.save(roomId, messages.value[roomId] ?? []);
}

/** Sends a text to a conversation: at once when connected, else when the connection is back. */
export function sendMessage(roomId: string, text: string): void {
  const user = me.value;
  if (user === undefined) return;
  localCounter += 1;
  const key = `local-${Date.now()}-${localCounter}`;
  append({
    key,
    roomId,
    fromId: user.id,
    fromName: user.username,
    ts: Date.now(),
    text,
    own: true,
    status: "sending",
  });
  outbox.push({ key, roomId, text });
  ownTyping.stop();
  void flushOutbox();
}

/** Sends a failed message again. */
export function retry(key: string): void {
  for (const list of Object.values(messages.value)) {
    const m = list.find((x) => x.key === key && x.status === "failed");
    if (m === undefined) continue;
    setStatus(key, "sending");
    outbox.push({ key, roomId: m.roomId, text: m.text });
    void flushOutbox();
    return;
  }
}

async function flushOutbox(): Promise<void> {
  if (flushing) return;
  flushing = true;
  try {
    while (outbox.length > 0 && client !== undefined && connection.value.state === "connected") {
      const item = outbox[0]!;
      try {
        const ack = await client.send(item.roomId, item.text);
        outbox.shift();
        update(item.key, (m) => ({ ...m, key: ack.id, ts: ack.ts, status: "delivered" }));
      } catch (e) {
        outbox.shift();
        setStatus(item.key, "failed");
        notice.value = describeError(e);
      }
    }
  } finally {
    flushing = false;
  }
}

/** Tells the room this user is typing (repeated while typing, stopped after a pause). */
export function typingInRoom(roomId: string): void {
  if (client === undefined || connection.value.state !== "connected") return;
  ownTyping.typed(roomId);
}

export function selectRoom(roomId: string | undefined): void {
  selectedRoom.value = roomId;
  if (roomId !== undefined && (unread.value[roomId] ?? 0) > 0) {
    unread.value = { ...unread.value, [roomId]: 0 };
  }
}

// ------------------------------------------------------------------------------- rooms

export async function createRoom(name: string): Promise<void> {
  const c = active();
  const room = await c.createRoom(name);
  await addRoom(c, room);
  selectRoom(room.id);
}

export async function joinRoom(roomId: string): Promise<void> {
  const c = active();
  const room = await c.join(canonicalRoomId(roomId.trim()));
  await addRoom(c, room);
  selectRoom(room.id);
}

export function declineInvitation(roomId: string): void {
  invitations.value = invitations.value.filter((i) => i.room.id !== roomId);
}

export async function leaveRoom(roomId: string): Promise<void> {
  await active().leave(roomId);
  dropRoom(roomId);
  if (keepHistory.value) await history?.remove(roomId);
  const { [roomId]: _gone, ...rest } = messages.value;
  messages.value = rest;
}

export async function inviteUser(roomId: string, username: string): Promise<void> {
  const c = active();
  const wanted = username.trim().toLowerCase();
  let user = people.value.find((p) => p.username.toLowerCase() === wanted);
  if (user === undefined) {
    people.value = await c.users();
    user = people.value.find((p) => p.username.toLowerCase() === wanted);
  }
  if (user === undefined) throw new Error(`There is no user called ${username.trim()}.`);
  await c.invite(roomId, user.id);
  await loadMembers(c, roomId);
}

export async function openDirect(userId: string): Promise<void> {
  const c = active();
  const room = await c.openDirect(userId);
  await addRoom(c, room);
  selectRoom(room.id);
}

// ------------------------------------------------------------------------------- identity

export function safetyNumber(userId: string): Promise<SafetyNumberResult> {
  return active().safetyNumber(userId);
}

export async function markVerified(userId: string): Promise<void> {
  await active().markVerified(userId);
  trust.value = { ...trust.value, [userId]: "verified" };
}

export async function acceptKeyChange(userId: string): Promise<void> {
  await active().acceptKeyChange(userId);
  trust.value = { ...trust.value, [userId]: await active().trust(userId) };
}

// ------------------------------------------------------------------------------- settings, sign-out

export async function setKeepHistory(on: boolean): Promise<void> {
  keepHistory.value = on;
  await setSetting(historySetting(), on ? "on" : undefined);
  if (on) {
    for (const [roomId, list] of Object.entries(messages.value)) history?.save(roomId, list);
  } else {
    await history?.clear();
  }
}

/** Ends the session; with `erase`, also removes this account's keys and history from this browser. */
export async function signOut(erase: boolean): Promise<void> {
  const c = client;
  const name = account;
  client = undefined;
  account = undefined;
  outbox.length = 0;
  if (c !== undefined) {
    try {
      await c.logout();
    } catch {
      // Signed out locally anyway; the server's session expires on its own.
    }
    await c.close();
  }
  await history?.flush();
  history = undefined;
  if (erase && name !== undefined) await eraseAccount(name);
  await setSetting(LAST_ACCOUNT, undefined);
  typists.clear();
  ownTyping.stop();
  me.value = undefined;
  rooms.value = [];
  people.value = [];
  members.value = {};
  messages.value = {};
  unread.value = {};
  typing.value = {};
  trust.value = {};
  invitations.value = [];
  selectedRoom.value = undefined;
  connection.value = { state: "offline", reason: "signed_out" };
  route.value = "signin";
}
