/** ChatModel: the chat both clients show (conversations, people, members, trust, typing, unread, outbox, messages) as one snapshot they subscribe to. */
import { canonicalRoomId, isRoomId, type RoomView } from "@parley/protocol";
import { bytesToBase64 } from "../base64.js";
import type { CreateRoomOptions, ParleyClient, RoomSettings } from "../client.js";
import type { ConnectionStatus } from "../connection.js";
import { type Content, newMessageId } from "../content.js";
import { ParleyClientError } from "../errors.js";
import type {
  DeliveryEvent,
  FollowedPostEvent,
  InvitedEvent,
  MembershipEvent,
  MessageEvent,
  PresenceEvent,
} from "../events.js";
import type { FileDescriptor, FileMeta, FileSink, FileSource } from "../files.js";
import { defaultTimers, type Timers } from "../platform.js";
import type { ServerPolicyState, ServerPolicyWatch } from "../server-policy.js";
import { TypingNotifier, TypingRoster } from "../typing.js";
import {
  applyChange,
  applyPending,
  EDIT_WINDOW_MS,
  hasReacted,
  mentionsIn,
  PENDING_MAX,
  type Quote,
  quote,
  sameMessage,
} from "./changes.js";
import { type DeliveryInfo, deliveryInfo, forward, statusOf } from "./delivery.js";
import {
  type AlertInput,
  badgeCount,
  isAlertable,
  isNotifyLevel,
  mentionsUser,
  type NotifyLevel,
  notifyLevelIn,
  shouldAlert,
} from "./notify.js";
import {
  describeDisappearing,
  isDisappearingSeconds,
  nextRemoval,
  pruneMessages,
  RemovalTimer,
} from "./retention.js";
import { roomEventLines } from "./room-lines.js";
import { prepareSearch, type SearchOptions, searchMessages } from "./search.js";
import type {
  ChatAttachment,
  ChatChange,
  ChatClient,
  ChatHistory,
  ChatMessage,
  ChatRoomState,
  ChatSnapshot,
  ChatTransfer,
  DeviceNote,
  FollowedPost,
  MessageChange,
  MessageKey,
  PendingChange,
  Person,
} from "./types.js";

export interface ChatModelOptions {
  /** Where messages are kept between sessions; default none (memory only). See keepHistory(). */
  history?: ChatHistory;
  /**
   * Whether the user is looking at a conversation now: a message arriving there is not counted
   * as unread. Default: never.
   */
  isRead?: (roomId: string) => boolean;
  /**
   * Default true: a message sent while the connection is down waits in the outbox until it is
   * back (and fails if the client goes offline for good). False: it is handed to the client at
   * once, which waits for the connection as a request does and fails when it does not come.
   */
  holdWhileOffline?: boolean;
  /** Clock in ms, for local ids, times of messages being sent and removals. Default Date.now. */
  now?: () => number;
  /** For the typing indicators' and removals' timers. Default the host's. */
  timers?: Timers;
  /**
   * CHAT-3: how long after sending (ms) its author may edit a message; an edit that comes later
   * (by its sender's time) is ignored. Default EDIT_WINDOW_MS (24 hours).
   */
  editWindowMs?: number;
  /**
   * POLICY-2: the server's signed policy, checked again on every connection (a server restarted
   * with other settings is noticed at the reconnect, not at the next page load) and kept in
   * `snapshot.server`. Default none: `snapshot.server.policy` stays undefined.
   */
  serverPolicy?: ServerPolicyWatch;
}

interface OutboxItem {
  /** The message id (RCPT-3), chosen at compose time. */
  readonly key: string;
  readonly roomId: string;
  readonly text: string;
  readonly sentAt: number;
  readonly replyTo?: MessageKey | undefined;
  readonly mentions?: readonly string[] | undefined;
}

/** What send() may add to a text. */
export interface SendTextOptions {
  /** CHAT-1: the message this one replies to. */
  replyTo?: MessageKey;
}

interface Waiter {
  resolve(message: ChatMessage): void;
  reject(error: unknown): void;
}

/** The `data.kind` of the control message that sets a conversation's disappearing timer. */
const DISAPPEARING_KIND = "disappearing";
/** The `data.kind` of the control message that says a view-once attachment was opened. */
const VIEWED_KIND = "viewed";
/** Device lines kept (in memory and in the history): older ones drop off first. */
const MAX_DEVICE_NOTES = 200;

/** The snapshot of a model that is not signed in (or of none). */
export function emptyChatSnapshot(
  connection: ConnectionStatus = { state: "offline", reason: "not_started" },
): ChatSnapshot {
  return {
    me: undefined,
    connection,
    rooms: [],
    people: [],
    members: {},
    peers: {},
    trust: {},
    typing: {},
    unread: {},
    disappearing: {},
    messages: {},
    deviceNotes: [],
    invitations: [],
    transfers: {},
    notify: {},
    previews: false,
    following: [],
    followedPosts: [],
    server: { policy: undefined, policyError: undefined, totp: undefined },
  };
}

/** What a conversation shows of a file, from the sender's meta or a received descriptor. */
function attachmentOf(meta: FileMeta | FileDescriptor, size: number): ChatAttachment {
  const out: Record<string, unknown> = { name: meta.name, type: meta.type, size };
  for (const k of ["width", "height", "durationMs", "thumbnailType", "waveform"] as const) {
    if (meta[k] !== undefined) out[k] = meta[k];
  }
  if (meta.thumbnail !== undefined)
    out.thumbnail = typeof meta.thumbnail === "string" ? meta.thumbnail : bytesToBase64(meta.thumbnail);
  if (meta.viewOnce === true) out.viewOnce = true;
  return out as unknown as ChatAttachment;
}

/** The server's comparison of user names (storage/username-key.ts): NFKC, trimmed, lower case. */
export function usernameKey(name: string): string {
  return name.normalize("NFKC").trim().toLowerCase();
}

/**
 * The chat as both clients show it, built on one ParleyClient's public API and events:
 * conversations (with each direct conversation's other person), people and presence, members
 * and what this device's pins say about them, typing, unread counts, an outbox with retry, and
 * the messages (kept by a platform's ChatHistory, or in memory).
 *
 * A view reads `snapshot` (a new immutable value after every change) and subscribes to learn of
 * changes; it keeps only its own concerns (which conversation is open, dialogs, drafts). One
 * model per signed-in client: signing out is dispose() and a new model for the next client.
 */
export class ChatModel {
  readonly #client: ChatClient;
  readonly #o: ChatModelOptions;
  readonly #now: () => number;
  readonly #listeners = new Set<(change: ChatChange) => void>();
  readonly #unsubscribe: (() => void)[] = [];
  readonly #typists: TypingRoster;
  readonly #ownTyping: TypingNotifier;
  readonly #removals: RemovalTimer;
  readonly #outbox: OutboxItem[] = [];
  readonly #waiters = new Map<string, Waiter>();
  /** User id -> name, for everyone seen anywhere (people, members, senders, events). */
  readonly #names = new Map<string, string>();
  #snapshot: ChatSnapshot;
  #history: ChatHistory | undefined;
  #flushing = false;
  /** Own messages' ids whose read receipts went (RCPT-1), so each goes once. */
  readonly #readSent = new Set<string>();
  #refreshing: Promise<void> | undefined;
  /** The server listed the rooms: what the history kept of them is out of date. */
  #listed = false;
  /** Files being sent: their sources until sent (retry() uploads again), and cancel switches. */
  readonly #sources = new Map<string, { source: FileSource; meta: FileMeta }>();
  readonly #cancels = new Map<string, { aborted: boolean }>();
  /** CHAT-2..4: per conversation, changes whose message has not arrived yet. */
  #pending: Record<string, readonly PendingChange[]> = {};
  readonly #editWindowMs: number;
  /** Messages, conversations and membership changes are applied one at a time, in order. */
  #events: Promise<void> = Promise.resolve();
  #disposed = false;

  constructor(client: ChatClient, options: ChatModelOptions = {}) {
    this.#client = client;
    this.#o = options;
    this.#now = options.now ?? (() => Date.now());
    this.#history = options.history;
    this.#editWindowMs = options.editWindowMs ?? EDIT_WINDOW_MS;
    const timers = options.timers !== undefined ? { timers: options.timers } : {};
    this.#typists = new TypingRoster((roomId, list) => {
      this.#set({ typing: { ...this.#snapshot.typing, [roomId]: list } });
      this.#emit({ type: "typing", roomId });
    }, timers);
    this.#ownTyping = new TypingNotifier((roomId, active) => {
      if (this.#snapshot.connection.state === "connected") this.#client.typing(roomId, active);
    }, timers);
    this.#removals = new RemovalTimer(options.timers ?? defaultTimers, () => this.#sweep());
    const empty = emptyChatSnapshot(client.status);
    const policy = options.serverPolicy?.state;
    this.#snapshot = {
      ...empty,
      me: client.user,
      server: { ...empty.server, policy: policy?.check, policyError: policy?.error },
    };
    if (client.user !== undefined) this.#learn(client.user);
    this.#wire();
  }

  get snapshot(): ChatSnapshot {
    return this.#snapshot;
  }

  /** Calls `listener` after every change; returns a function that stops it. */
  subscribe(listener: (change: ChatChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Stops following the client: its events change nothing any more, timers stop, a typing
   * indicator this user showed is withdrawn, and messages waiting in the outbox fail (`closed`).
   */
  dispose(): void {
    if (this.#disposed) return;
    this.#ownTyping.stop();
    this.#removals.stop();
    this.#disposed = true;
    for (const off of this.#unsubscribe.splice(0)) off();
    this.#typists.clear();
    this.#outbox.length = 0;
    for (const [key, waiter] of this.#waiters) {
      this.#waiters.delete(key);
      waiter.reject(new ParleyClientError("closed"));
    }
    this.#listeners.clear();
  }

  // ------------------------------------------------------------------ reading

  /** A conversation by id, in any case. */
  room(roomId: string): RoomView | undefined {
    const id = canonicalRoomId(roomId);
    return this.#snapshot.rooms.find((r) => r.id === id);
  }

  /** A user's name, from anything the model has seen. */
  nameOf(userId: string): string | undefined {
    return this.#names.get(userId);
  }

  /** A user by name (compared as the server does); asks the server for the people list when unknown. */
  async findUser(name: string): Promise<Person | undefined> {
    const known = this.#byName(name);
    if (known !== undefined) return known;
    await this.refreshPeople();
    return this.#byName(name);
  }

  // ------------------------------------------------------------------ loading

  /**
   * Reads the rooms, the people and every room's members (and their trust) from the server. Done
   * by itself on each connection; concurrent calls share one pass. Rejects when it fails.
   */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#refreshAll().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  /** Reads the people list (with presence) from the server. */
  async refreshPeople(): Promise<void> {
    const people = await this.#client.users();
    if (this.#disposed) return;
    for (const p of people) this.#learn(p);
    this.#set({ people });
    this.#emit({ type: "state" });
  }

  /** Reads a room's members and what the pins say about each from the server. */
  async loadMembers(roomId: string): Promise<void> {
    const list = await this.#client.members(roomId);
    const self = this.#snapshot.me?.id;
    const states = await Promise.all(
      list
        .filter((m) => m.userId !== self)
        .map(async (m) => [m.userId, await this.#client.trust(m.userId)] as const),
    );
    if (this.#disposed) return;
    for (const m of list) this.#learn({ id: m.userId, username: m.username });
    const peers = { ...this.#snapshot.peers };
    const room = this.room(roomId);
    const other = list.find((m) => m.userId !== self);
    if (room?.kind === "direct" && peers[room.id] === undefined && other !== undefined) {
      peers[room.id] = { id: other.userId, username: other.username };
    }
    this.#set({
      members: { ...this.#snapshot.members, [canonicalRoomId(roomId)]: list },
      peers,
      trust: { ...this.#snapshot.trust, ...Object.fromEntries(states) },
    });
    this.#emit({ type: "state" });
  }

  /**
   * Shows the messages the history kept (replacing those in memory), with the unread counts and
   * timers it kept, less what retention or a timer removed meanwhile.
   */
  async restoreHistory(): Promise<void> {
    const history = this.#history;
    if (history === undefined) return;
    // The conversation list is shown as soon as it is read, before the messages (issue 20).
    const [messages, rooms] = await Promise.all([
      history.loadAll(),
      history.loadRooms?.().then((state) => {
        this.#showKeptRooms(state);
        return state;
      }),
    ]);
    if (this.#disposed) return;
    const { pending, rooms: _rooms, peers: _peers, ...kept } = rooms ?? {};
    this.#pending = { ...pending };
    this.#set({ messages, ...kept });
    this.#emit({ type: "state" });
    this.#sweep();
    this.#prepareSearch();
  }

  /** The conversations the history kept, until the server's list replaces them. */
  #showKeptRooms(state: ChatRoomState | undefined): void {
    if (this.#disposed || this.#listed || state?.rooms === undefined) return;
    this.#set({ rooms: state.rooms, peers: { ...state.peers, ...this.#snapshot.peers } });
    this.#emit({ type: "state" });
  }

  /**
   * Starts keeping messages in `history` (every conversation is saved now, less what its age
   * limit removes), or stops with undefined.
   */
  keepHistory(history: ChatHistory | undefined): void {
    this.#history = history;
    if (history === undefined) return;
    for (const [roomId, list] of Object.entries(this.#snapshot.messages)) history.save(roomId, list);
    this.#saveRooms();
    this.#sweep();
  }

  // ------------------------------------------------------------------ notifications

  /** Issue 18.5: this device's notification level for a conversation, chosen or its default. */
  notifyLevel(roomId: string): NotifyLevel {
    return notifyLevelIn(this.#snapshot, this.room(roomId)?.id ?? roomId);
  }

  /** Sets a conversation's notification level on this device (kept with the history). */
  setNotifyLevel(roomId: string, level: NotifyLevel): void {
    if (!isNotifyLevel(level))
      throw new TypeError(`notify level must be all, mentions or off, not ${String(level)}`);
    const id = this.room(roomId)?.id ?? roomId;
    this.#set({ notify: { ...this.#snapshot.notify, [id]: level } });
    this.#emit({ type: "state" });
  }

  /** Whether notifications on this device may show a message's text. */
  setPreviews(on: boolean): void {
    this.#set({ previews: on });
    this.#emit({ type: "state" });
  }

  /**
   * Whether an arriving message (a `message` change) alerts the person now: see shouldAlert().
   * `view` is what the client knows: is it in front of the person, which conversation is open.
   */
  alerts(m: ChatMessage, view: Pick<AlertInput, "visible" | "open">): boolean {
    if (!isAlertable(m)) return false;
    return shouldAlert({
      level: this.notifyLevel(m.roomId),
      mentioned: mentionsUser(m, this.#snapshot.me?.id),
      ...view,
    });
  }

  /** The count for a badge (page title, app icon): unread messages outside muted conversations. */
  badge(): number {
    return badgeCount(this.#snapshot.unread, (roomId) => this.notifyLevel(roomId));
  }

  // ------------------------------------------------------------------ following (SUB-1, SUB-2)

  /**
   * Follows a person: when they post in a public room this user is not in, followedPosts offers
   * it (who, which room, when; never what: only the room's members can read that).
   */
  async follow(userId: string): Promise<void> {
    await this.#client.subscribe(userId);
    const person = this.#person(userId);
    if (this.#snapshot.following.some((p) => p.id === userId)) return;
    this.#set({ following: [...this.#snapshot.following, person] });
    this.#emit({ type: "state" });
  }

  /** Stops following a person; their offers go too. */
  async unfollow(userId: string): Promise<void> {
    await this.#client.unsubscribe(userId);
    this.#set({
      following: this.#snapshot.following.filter((p) => p.id !== userId),
      followedPosts: this.#snapshot.followedPosts.filter((p) => p.by.id !== userId),
    });
    this.#emit({ type: "state" });
  }

  /** Whether this user follows `userId`. */
  follows(userId: string): boolean {
    return this.#snapshot.following.some((p) => p.id === userId);
  }

  /** Drops the offer of a room (the person does not want to join it). */
  dismissFollowedPost(roomId: string): void {
    const id = canonicalRoomId(roomId);
    this.#set({ followedPosts: this.#snapshot.followedPosts.filter((p) => p.roomId !== id) });
    this.#emit({ type: "state" });
  }

  #person(userId: string): Person {
    return { id: userId, username: this.nameOf(userId) ?? userId };
  }

  #onFollowedPost(e: FollowedPostEvent): void {
    const roomId = canonicalRoomId(e.roomId);
    if (this.room(roomId) !== undefined) return;
    this.#learn({ id: e.from.userId, username: e.from.username });
    const before = this.#snapshot.followedPosts.find((p) => p.roomId === roomId);
    const post: FollowedPost = {
      roomId,
      by: { id: e.from.userId, username: e.from.username },
      at: e.ts,
      count: (before?.count ?? 0) + 1,
    };
    this.#set({
      followedPosts: [post, ...this.#snapshot.followedPosts.filter((p) => p.roomId !== roomId)],
    });
    this.#emit({ type: "state" });
    this.#emit({ type: "followed_post", post, isNew: before === undefined });
  }

  // ------------------------------------------------------------------ messages

  /**
   * Sends a text: it shows at once as `sending`, goes out when connected (see
   * holdWhileOffline), then becomes `delivered` with the server's id and time. Resolves with the
   * message as sent; rejects when it fails (it stays in the conversation as `failed`, and
   * retry() sends it again).
   */
  send(roomId: string, text: string, options: SendTextOptions = {}): Promise<ChatMessage> {
    const me = this.#snapshot.me;
    if (me === undefined || this.#disposed) return Promise.reject(new ParleyClientError("not_signed_in"));
    const key = newMessageId();
    const sentAt = this.#now();
    const mentions = mentionsIn(text, this.#snapshot.members[roomId] ?? []);
    const { replyTo } = options;
    this.#append({
      key,
      roomId,
      fromId: me.id,
      fromName: me.username,
      ts: sentAt,
      text,
      own: true,
      status: "sending",
      ...(replyTo !== undefined ? { replyTo: { key: replyTo.key, fromId: replyTo.fromId } } : {}),
      ...(mentions.length > 0 ? { mentions } : {}),
    });
    this.#emit({ type: "state" });
    this.#ownTyping.stop();
    return this.#enqueue({ key, roomId, text, sentAt, replyTo, mentions });
  }

  /** A message of a conversation by its sender and id. */
  message(roomId: string, ref: MessageKey): ChatMessage | undefined {
    return (this.#snapshot.messages[canonicalRoomId(roomId)] ?? []).find((m) => sameMessage(m, ref));
  }

  /** CHAT-1: what a reply shows of the message it answers; undefined for a message that is no reply. */
  quoteOf(m: ChatMessage): Quote | undefined {
    if (m.replyTo === undefined) return undefined;
    return quote(this.message(m.roomId, m.replyTo), m.replyTo);
  }

  /** CHAT-3: whether this user may edit `m` now: their own, not deleted, sent, within the edit window. */
  canEdit(m: ChatMessage): boolean {
    return this.#canChange(m) && this.#now() - m.ts <= this.#editWindowMs;
  }

  /** CHAT-4: whether this user may delete `m` for everyone: their own, not deleted, and sent. */
  canDelete(m: ChatMessage): boolean {
    return this.#canChange(m);
  }

  #canChange(m: ChatMessage): boolean {
    return (
      m.fromId === this.#snapshot.me?.id &&
      m.system !== true &&
      m.deleted !== true &&
      m.status !== "sending" &&
      m.status !== "failed"
    );
  }

  /**
   * CHAT-2: reacts to a message with any emoji, or takes this user's reaction back when it is
   * there already (reacting again toggles). Resolves once the server accepted it.
   */
  async react(roomId: string, ref: MessageKey, emoji: string): Promise<void> {
    const m = this.#target(roomId, ref);
    const me = this.#me();
    const on = !hasReacted(m, me.id, emoji);
    await this.#sendChange(
      m,
      { reaction: { to: { id: m.key, from: m.fromId }, emoji, on } },
      {
        kind: "reaction",
        emoji,
        on,
      },
    );
  }

  /** CHAT-3: replaces the text of one of this user's messages for everyone, within the edit window. */
  async edit(roomId: string, ref: MessageKey, text: string): Promise<void> {
    const m = this.#target(roomId, ref);
    if (!this.canEdit(m)) throw new ParleyClientError("not_editable");
    const mentions = mentionsIn(text, this.#snapshot.members[m.roomId] ?? []);
    const extra = mentions.length > 0 ? { mentions } : {};
    await this.#sendChange(
      m,
      { edit: { to: { id: m.key, from: m.fromId }, text, ...extra } },
      {
        kind: "edit",
        text,
        ...extra,
      },
    );
  }

  /**
   * CHAT-4: deletes one of this user's messages for everyone: every device shows "message
   * deleted" in its place and keeps nothing of it.
   */
  async deleteForEveryone(roomId: string, ref: MessageKey): Promise<void> {
    const m = this.#target(roomId, ref);
    if (!this.canDelete(m)) throw new ParleyClientError("not_editable");
    await this.#sendChange(m, { delete: { to: { id: m.key, from: m.fromId } } }, { kind: "delete" });
  }

  /** CHAT-6: messages on this device holding every word of `query`, newest first (search.ts). */
  search(query: string, options: SearchOptions = {}): ChatMessage[] {
    const roomId = options.roomId === undefined ? {} : { roomId: canonicalRoomId(options.roomId) };
    return searchMessages(this.#snapshot.messages, query, { ...options, ...roomId });
  }

  /**
   * CHAT-6: indexes each kept conversation for search, one per turn of the event loop, so the
   * first search reads an index instead of folding every text while the user waits.
   */
  #prepareSearch(): void {
    const timers = this.#o.timers ?? defaultTimers;
    const lists = Object.values(this.#snapshot.messages);
    const step = () => {
      const list = lists.pop();
      if (list === undefined || this.#disposed) return;
      prepareSearch(list);
      timers.setTimeout(step, 0);
    };
    timers.setTimeout(step, 0);
  }

  #me(): Person {
    const me = this.#snapshot.me;
    if (me === undefined || this.#disposed) throw new ParleyClientError("not_signed_in");
    return { id: me.id, username: me.username };
  }

  #target(roomId: string, ref: MessageKey): ChatMessage {
    const m = this.message(roomId, ref);
    if (m === undefined || m.system === true || m.deleted === true)
      throw new ParleyClientError("message_unknown");
    return m;
  }

  /** Sends a reaction, an edit or a delete, and applies it here once the server accepted it. */
  async #sendChange(m: ChatMessage, content: Content, change: MessageChange): Promise<void> {
    const by = this.#me();
    const id = newMessageId();
    // After the change it replaces, even within one millisecond: the later one wins (CHAT-2, CHAT-3).
    const last =
      change.kind === "reaction"
        ? m.reactions?.find((r) => r.userId === by.id && r.emoji === change.emoji)?.at
        : change.kind === "edit"
          ? m.edited?.at
          : undefined;
    const at = Math.max(this.#now(), (last ?? -1) + 1);
    await this.#client.send(m.roomId, content, { messageId: id, sentAt: at });
    await this.#applyOrWait(m.roomId, { target: { key: m.key, fromId: m.fromId }, by, at, id, change });
  }

  /** Sends a failed message again; undefined when there is no failed message with that key. */
  retry(key: string): Promise<ChatMessage> | undefined {
    for (const list of Object.values(this.#snapshot.messages)) {
      const m = list.find((x) => x.key === key && x.status === "failed");
      if (m === undefined) continue;
      if (m.attachment !== undefined) return this.#retryFile(m);
      this.#update(key, (x) => ({ ...x, status: "sending" }));
      return this.#enqueue({
        key,
        roomId: m.roomId,
        text: m.text,
        sentAt: m.ts,
        replyTo: m.replyTo,
        mentions: m.mentions,
      });
    }
    return undefined;
  }

  /**
   * RCPT-2: who has one of this device's messages and who does not yet, device by device; undefined
   * for a message this device did not send.
   */
  deliveryInfo(key: string): DeliveryInfo | undefined {
    const m = this.#own(key);
    if (m?.status === undefined) return undefined;
    return deliveryInfo(m.status, this.#client.delivery(key), (id) => this.#names.get(id));
  }

  /** Whether this user shares read receipts (and sees other people's). */
  get readReceipts(): boolean {
    return this.#client.readReceipts;
  }

  /** Turns sharing read receipts on or off; off hides other people's too, on own messages already shown. */
  async setReadReceipts(on: boolean): Promise<void> {
    await this.#client.setReadReceipts(on);
    for (const list of Object.values(this.#snapshot.messages)) {
      for (const m of list) {
        if (m.status !== "read" && m.status !== "delivered") continue;
        const status = statusOf(this.#client.delivery(m.key));
        if (status !== m.status) this.#update(m.key, (x) => ({ ...x, status }));
      }
    }
  }

  /** The user has seen a conversation: its unread count is zero, and its senders learn it (RCPT-1). */
  markRead(roomId: string): void {
    this.#sendRead(roomId, this.#snapshot.messages[roomId] ?? []);
    if ((this.#snapshot.unread[roomId] ?? 0) === 0) return;
    this.#set({ unread: { ...this.#snapshot.unread, [roomId]: 0 } });
    this.#emit({ type: "state" });
  }

  /** Call on every keystroke that leaves text in a conversation's input: its members see "typing". */
  typed(roomId: string): void {
    if (this.#disposed || this.#snapshot.connection.state !== "connected") return;
    this.#ownTyping.typed(roomId);
  }

  /** The input was cleared or left: "typing" stops. */
  stopTyping(): void {
    this.#ownTyping.stop();
  }

  /**
   * Sets a conversation's disappearing-message timer (seconds: 0 off, 1 hour, 1 day, 1 week)
   * for every member: an encrypted control message in the group, which each member's client
   * applies to the messages sent after it. Resolves once the server accepted it.
   */
  async setDisappearing(roomId: string, seconds: number): Promise<void> {
    if (!isDisappearingSeconds(seconds)) throw new RangeError(`unsupported disappearing timer: ${seconds}`);
    const me = this.#snapshot.me;
    if (me === undefined || this.#disposed) throw new ParleyClientError("not_signed_in");
    const id = canonicalRoomId(roomId);
    const ack = await this.#client.send(id, { data: { kind: DISAPPEARING_KIND, seconds } });
    this.#applyTimer(id, seconds, {
      key: ack.messageId,
      ts: ack.sentAt,
      fromId: me.id,
      fromName: me.username,
      own: true,
    });
  }

  // ------------------------------------------------------------------ files (docs/PROTOCOL.md, "Files")

  /** The server's file settings (on or off, largest size, TTL, types): show or hide attaching with them. */
  fileLimits(refresh = false): ReturnType<ChatClient["fileLimits"]> {
    return this.#client.fileLimits(refresh);
  }

  /**
   * Sends a file, photo or voice note: it shows at once as a `sending` message with its
   * attachment (and `transfers[key]` counting the upload), is encrypted and uploaded, then
   * announced in the conversation. Rejects at once, before anything is uploaded or shown, with
   * `files_disabled`, `file_too_large` or `file_type_refused` when the server would refuse it;
   * later failures leave the message `failed` (retry() uploads again) and reject.
   */
  async sendFile(roomId: string, source: FileSource, meta: FileMeta): Promise<ChatMessage> {
    const me = this.#snapshot.me;
    if (me === undefined || this.#disposed) throw new ParleyClientError("not_signed_in");
    await this.#client.checkFile({ size: source.size, type: meta.type });
    const id = canonicalRoomId(roomId);
    const key = newMessageId();
    const sentAt = this.#now();
    this.#sources.set(key, { source, meta });
    this.#append({
      key,
      roomId: id,
      fromId: me.id,
      fromName: me.username,
      ts: sentAt,
      text: "",
      own: true,
      status: "sending",
      attachment: attachmentOf(meta, source.size),
    });
    this.#emit({ type: "state" });
    return this.#uploadAndSend(key, id, sentAt);
  }

  /**
   * Downloads a message's attachment into `sink`, decrypting and checking it on the way;
   * `transfers[key]` counts the bytes. Rejects with `file_expired`, `not_found`, `file_corrupt`
   * (discard what the sink got) or `transfer_cancelled`. A view-once attachment is opened by
   * this: once it downloaded, it is removed on every device of this user (an encrypted notice
   * in the group) and, in a direct conversation, deleted on the server; the view keeps what
   * the sink got only while it shows it.
   */
  async download(key: string, sink: FileSink): Promise<void> {
    const m = this.#find(key);
    const file = m?.attachment?.file;
    if (m === undefined || file === undefined) throw new ParleyClientError("not_found");
    const signal = { aborted: false };
    this.#cancels.set(key, signal);
    const total = file.size;
    this.#setTransfer(key, { roomId: m.roomId, direction: "download", done: 0, total, state: "running" });
    try {
      await this.#client.downloadFile(file, sink, {
        signal,
        onProgress: (p) =>
          this.#setTransfer(key, {
            roomId: m.roomId,
            direction: "download",
            done: p.done,
            total,
            state: "running",
          }),
      });
      // Cancelled during the last part: the caller gets no file.
      if (signal.aborted) throw new ParleyClientError("transfer_cancelled");
      this.#setTransfer(key, { roomId: m.roomId, direction: "download", done: total, total, state: "done" });
    } catch (error) {
      this.#endTransfer(key, m.roomId, "download", total, error);
      throw error;
    } finally {
      this.#cancels.delete(key);
    }
    if (m.attachment?.viewOnce === true && !m.own) await this.#openedOnce(m, file);
  }

  /** Stops an upload or download (its promise rejects with `transfer_cancelled`); false when none runs. */
  cancelTransfer(key: string): boolean {
    const signal = this.#cancels.get(key);
    if (signal === undefined) return false;
    signal.aborted = true;
    return true;
  }

  /** Forgets how a transfer ended (a view dismissed its bar). */
  clearTransfer(key: string): void {
    if (this.#snapshot.transfers[key] === undefined) return;
    const { [key]: _gone, ...transfers } = this.#snapshot.transfers;
    this.#set({ transfers });
    this.#emit({ type: "state" });
  }

  async #uploadAndSend(key: string, roomId: string, sentAt: number): Promise<ChatMessage> {
    const held = this.#sources.get(key);
    if (held === undefined) throw new ParleyClientError("not_found");
    const total = held.source.size;
    const signal = { aborted: false };
    this.#cancels.set(key, signal);
    this.#setTransfer(key, { roomId, direction: "upload", done: 0, total, state: "running" });
    try {
      let file = this.#find(key)?.attachment?.file;
      if (file === undefined) {
        file = await this.#client.uploadFile(roomId, held.source, held.meta, {
          signal,
          onProgress: (p) =>
            this.#setTransfer(key, { roomId, direction: "upload", done: p.done, total, state: "running" }),
        });
        // Cancelled during the last part: uploaded, but never announced (and not kept on the server).
        if (signal.aborted) {
          this.#client.deleteFile(file.id).catch(() => undefined);
          throw new ParleyClientError("transfer_cancelled");
        }
        const uploaded = file;
        this.#update(key, (x) => ({
          ...x,
          attachment: { ...x.attachment!, file: uploaded, expiresAt: uploaded.expiresAt },
        }));
      }
      this.#setTransfer(key, { roomId, direction: "upload", done: total, total, state: "done" });
      await this.#client.send(roomId, { file }, { messageId: key, sentAt });
      this.#sources.delete(key);
      const d = this.#client.delivery(key);
      const sent = this.#update(key, (m) => ({
        ...m,
        status: forward("sent", statusOf(d)),
        ...(d !== undefined ? { progress: { delivered: d.delivered.length, of: d.targets.length } } : {}),
        ...this.#expiry(m.roomId, m.ts),
      }));
      if (sent?.expiresAt !== undefined) this.#sweep();
      if (sent === undefined) throw new ParleyClientError("closed");
      return sent;
    } catch (error) {
      if (this.#snapshot.transfers[key]?.state === "running")
        this.#endTransfer(key, roomId, "upload", total, error);
      this.#update(key, (m) => ({ ...m, status: "failed" }));
      this.#emit({ type: "failed", what: "send", error, key });
      throw error;
    } finally {
      this.#cancels.delete(key);
    }
  }

  #retryFile(m: ChatMessage): Promise<ChatMessage> | undefined {
    if (m.attachment?.file === undefined && !this.#sources.has(m.key)) return undefined;
    this.#update(m.key, (x) => ({ ...x, status: "sending" }));
    return this.#uploadAndSend(m.key, m.roomId, m.ts);
  }

  /** A view-once attachment was opened here: gone from this user's devices, and from the server when it can be. */
  async #openedOnce(m: ChatMessage, file: FileDescriptor): Promise<void> {
    this.#markOpened(m.roomId, m.fromId, m.key);
    try {
      await this.#client.send(m.roomId, { data: { kind: VIEWED_KIND, id: m.key, from: m.fromId } });
      if (this.room(m.roomId)?.kind === "direct") await this.#client.deleteFile(file.id);
    } catch (error) {
      this.#emit({ type: "failed", what: "file", error, key: m.key });
    }
  }

  #markOpened(roomId: string, fromId: string, key: string): void {
    const list = this.#snapshot.messages[roomId] ?? [];
    const i = list.findIndex((x) => x.key === key && x.fromId === fromId);
    const old = list[i];
    if (old?.attachment === undefined || old.attachment.opened === true) return;
    const { file: _key, thumbnail: _preview, waveform: _wave, ...rest } = old.attachment;
    const copy = [...list];
    copy[i] = { ...old, attachment: { ...rest, opened: true } };
    this.#setMessages(roomId, copy);
    this.#emit({ type: "state" });
  }

  #setTransfer(key: string, transfer: ChatTransfer): void {
    this.#set({ transfers: { ...this.#snapshot.transfers, [key]: transfer } });
    this.#emit({ type: "state" });
  }

  #endTransfer(
    key: string,
    roomId: string,
    direction: ChatTransfer["direction"],
    total: number,
    error: unknown,
  ): void {
    const done = this.#snapshot.transfers[key]?.done ?? 0;
    const code = error instanceof ParleyClientError ? error.code : "internal_error";
    const state = code === "transfer_cancelled" ? "cancelled" : "failed";
    this.#setTransfer(key, { roomId, direction, done, total, state, code });
  }

  #find(key: string): ChatMessage | undefined {
    for (const list of Object.values(this.#snapshot.messages)) {
      const m = list.find((x) => x.key === key);
      if (m !== undefined) return m;
    }
    return undefined;
  }

  // ------------------------------------------------------------------ conversations

  /** Creates a room: private (invitation only) unless `options.isPublic` (ROOM-2). */
  async createRoom(name: string, options: CreateRoomOptions = {}): Promise<RoomView> {
    const room = await this.#client.createRoom(name, options);
    await this.#addRoom(room);
    return room;
  }

  /**
   * Joins a room by its id, or a public room by its name (unique among public rooms; an id-like
   * name that is no room's id is looked up as a name). `room_not_found` when neither fits.
   */
  async join(roomIdOrName: string, passphrase?: string): Promise<RoomView> {
    const wanted = roomIdOrName.trim();
    if (isRoomId(wanted)) {
      try {
        const room = await this.#client.join(wanted, passphrase);
        await this.#addRoom(room);
        return room;
      } catch (e) {
        if (!(e instanceof ParleyClientError) || e.code !== "room_not_found") throw e;
      }
    }
    const found = await this.#client.findPublicRoom(wanted);
    if (found === undefined) throw new ParleyClientError("room_not_found");
    const room = await this.#client.join(found.id, passphrase);
    await this.#addRoom(room);
    return room;
  }

  /** A page of the public-room directory (ROOM-11), with member counts. */
  discover(
    options: Parameters<ParleyClient["discoverRooms"]>[0] = {},
  ): ReturnType<ParleyClient["discoverRooms"]> {
    return this.#client.discoverRooms(options);
  }

  /** Changes a room's settings (ROOM-16); every member sees a line for each change. */
  async updateRoom(roomId: string, settings: RoomSettings): Promise<RoomView> {
    const room = await this.#client.updateRoom(roomId, settings);
    this.#replaceRoom(room);
    return room;
  }

  /** Makes a member a moderator or a member again (the owner only, ROOM-16). */
  async setRole(roomId: string, userId: string, role: "moderator" | "member"): Promise<void> {
    await this.#client.setRole(roomId, userId, role);
    await this.#loadMembersQuietly(canonicalRoomId(roomId));
  }

  /** Removes a member (owner or moderator); their devices leave the room's MLS group (ROOM-6). */
  async remove(roomId: string, userId: string): Promise<void> {
    await this.#client.remove(roomId, userId);
    await this.#loadMembersQuietly(canonicalRoomId(roomId));
  }

  /** Bans a user (owner or moderator, ROOM-19): a member is removed as by `remove`, and cannot come back until unbanned. */
  async ban(roomId: string, userId: string): Promise<void> {
    await this.#client.ban(roomId, userId);
    await this.#loadMembersQuietly(canonicalRoomId(roomId));
  }

  /** Lifts a ban (ROOM-19). */
  unban(roomId: string, userId: string): Promise<void> {
    return this.#client.unban(roomId, userId);
  }

  /** A room's bans, for its owner and moderators (ROOM-19). */
  bans(roomId: string): ReturnType<ChatClient["bans"]> {
    return this.#client.bans(roomId);
  }

  /**
   * Blocks a person's invitations (ACCT-6); their pending invitations to this user go from the
   * list at once (the server keeps them, but they cannot be sent again while blocked).
   */
  async block(userId: string): Promise<void> {
    await this.#client.block(userId);
    this.#set({ invitations: this.#snapshot.invitations.filter((i) => i.by.id !== userId) });
    this.#emit({ type: "state" });
  }

  unblock(userId: string): Promise<void> {
    return this.#client.unblock(userId);
  }

  blocked(): ReturnType<ChatClient["blocked"]> {
    return this.#client.blocked();
  }

  /** Deletes a room for everyone (its owner only, ROOM-18); it goes with its messages here. */
  async deleteRoom(roomId: string): Promise<void> {
    const id = canonicalRoomId(roomId);
    await this.#client.deleteRoom(id);
    await this.#forgetRoom(id);
  }

  /** Reads this user's pending invitations from the server (ROOM-17). */
  async loadInvitations(): Promise<void> {
    const list = await this.#client.invitations();
    if (this.#disposed) return;
    for (const i of list) this.#learn(i.by);
    const mine = new Set(this.#snapshot.rooms.map((r) => r.id));
    this.#set({
      invitations: list.filter((i) => !mine.has(i.room.id)).map(({ room, by }) => ({ room, by })),
    });
    this.#emit({ type: "state" });
  }

  /** Accepts an invitation: joins the room, without its passphrase (ROOM-15). */
  acceptInvitation(roomId: string): Promise<RoomView> {
    return this.join(canonicalRoomId(roomId));
  }

  /** Changes this account's password; the account's other sessions end (AUTH-8). */
  changePassword(currentPassword: string, newPassword: string): Promise<void> {
    return this.#client.changePassword(currentPassword, newPassword);
  }

  /** AUTH-12: ten new recovery codes, shown once; the earlier set stops working. */
  createRecoveryCodes(password: string): Promise<string[]> {
    return this.#client.createRecoveryCodes(password);
  }

  /** AUTH-12: how many unused recovery codes this account has left. */
  recoveryCodesLeft(): Promise<number> {
    return this.#client.recoveryCodesLeft();
  }

  /** The admin API (the server refuses it to anyone not an admin). */
  get admin(): ChatClient["admin"] {
    return this.#client.admin;
  }

  /** Leaves a room: it goes, with its messages (kept ones too). */
  async leave(roomId: string): Promise<void> {
    const id = canonicalRoomId(roomId);
    await this.#client.leave(id);
    await this.#forgetRoom(id);
  }

  async #forgetRoom(id: string): Promise<void> {
    this.#dropRoom(id);
    await this.#history?.remove(id);
    const { [id]: _gone, ...messages } = this.#snapshot.messages;
    this.#set({ messages });
    this.#emit({ type: "state" });
  }

  async invite(roomId: string, userId: string): Promise<void> {
    await this.#client.invite(roomId, userId);
    await this.#loadMembersQuietly(roomId);
  }

  /** Opens (or finds) the direct conversation with a user. */
  async openDirect(userId: string): Promise<RoomView> {
    const room = await this.#client.openDirect(userId);
    const name = this.#names.get(userId);
    if (name !== undefined && this.#snapshot.peers[room.id] === undefined) {
      this.#set({ peers: { ...this.#snapshot.peers, [room.id]: { id: userId, username: name } } });
    }
    await this.#addRoom(room);
    return room;
  }

  /** Turns an invitation down: it goes here at once, and the room's members are told (ROOM-17). */
  async declineInvitation(roomId: string): Promise<void> {
    const id = canonicalRoomId(roomId);
    this.#set({ invitations: this.#snapshot.invitations.filter((i) => i.room.id !== id) });
    this.#emit({ type: "state" });
    await this.#client.decline(id);
  }

  // ------------------------------------------------------------------ trust

  async markVerified(userId: string): Promise<void> {
    await this.#client.markVerified(userId);
    this.#setTrust(userId, "verified");
  }

  async acceptKeyChange(userId: string): Promise<void> {
    await this.#client.acceptKeyChange(userId);
    this.#setTrust(userId, await this.#client.trust(userId));
  }

  // ------------------------------------------------------------------ devices and linking (IDENT-3)

  /** Whether this device can connect as it is, or must be linked first (ParleyClient.identityStatus). */
  identityStatus(): ReturnType<ParleyClient["identityStatus"]> {
    return this.#client.identityStatus();
  }

  /** On a new device: opens a link to show as a code or QR payload (ParleyClient.startLink). */
  startLink(): ReturnType<ParleyClient["startLink"]> {
    return this.#client.startLink();
  }

  /** On an existing device: joins a new device's link by its code or QR payload (ParleyClient.linkDevice). */
  linkDevice(codeOrQr: string): ReturnType<ParleyClient["linkDevice"]> {
    return this.#client.linkDevice(codeOrQr);
  }

  /** Makes a new identity after re-authenticating (ParleyClient.resetIdentity); contacts are warned. */
  resetIdentity(password: string): Promise<void> {
    return this.#client.resetIdentity(password);
  }

  /** A person's certified devices (ParleyClient.devices). */
  devices(userId: string): ReturnType<ParleyClient["devices"]> {
    return this.#client.devices(userId);
  }

  // ------------------------------------------------------------------ this server (POLICY, AUTH-13)

  /**
   * Checks the server's signed policy against the pin and reads this account's two-step
   * sign-in again (also done on every connection). Never rejects: a failed policy check is in
   * `snapshot.server.policyError`, a failed TOTP read leaves the last one.
   */
  async checkServer(): Promise<void> {
    await Promise.all([this.#o.serverPolicy?.check(), this.refreshTwoFactor()]);
  }

  /** The person saw the policy change: the server's current policy and key are pinned. */
  async acceptServerPolicy(): Promise<void> {
    await this.#o.serverPolicy?.accept();
  }

  /** Reads this account's TOTP status again, e.g. after turning it on or off. */
  async refreshTwoFactor(): Promise<void> {
    try {
      const totp = await this.#client.twoFactorStatus();
      if (this.#disposed) return;
      this.#set({ server: { ...this.#snapshot.server, totp } });
      this.#emit({ type: "state" });
    } catch {
      // Offline or signed out: the last status stays until the next connection.
    }
  }

  #onServerPolicy(state: ServerPolicyState, warning: boolean): void {
    this.#set({ server: { ...this.#snapshot.server, policy: state.check, policyError: state.error } });
    this.#emit({ type: "state" });
    if (warning && state.check?.state === "changed")
      this.#emit({ type: "policy_changed", check: state.check });
  }

  // ------------------------------------------------------------------ the client's events

  #wire(): void {
    const c = this.#client;
    const on = this.#unsubscribe;
    on.push(c.on("status", (s) => this.#onStatus(s)));
    on.push(c.on("message", (m) => this.#chain(() => this.#onMessage(m))));
    on.push(c.on("room", (room) => this.#chain(() => this.#onRoom(room))));
    on.push(c.on("membership", (m) => this.#chain(() => this.#onMembership(m))));
    on.push(c.on("invited", (i) => this.#chain(async () => this.#onInvited(i))));
    on.push(c.on("followed_post", (e) => this.#chain(async () => this.#onFollowedPost(e))));
    on.push(c.on("presence", (p) => this.#onPresence(p)));
    on.push(
      c.on("typing", (t) => {
        if (t.userId !== this.#snapshot.me?.id) this.#typists.update(t);
      }),
    );
    on.push(
      c.on("identity_changed", (change) => {
        this.#setTrust(change.userId, change.wasVerified ? "changed" : "changed_unverified", false);
        this.#emit({ type: "identity_changed", change });
      }),
    );
    // A person's new certified device is news, not an alarm: a line in the views, trust unchanged.
    on.push(
      c.on("device_added", (event) => {
        this.#noteDevice(event.userId, event.deviceId, "added");
        this.#emit({ type: "device_added", ...event });
      }),
    );
    on.push(
      c.on("device_removed", (event) => {
        this.#noteDevice(event.userId, event.deviceId, "removed");
        this.#emit({ type: "device_removed", ...event });
      }),
    );
    on.push(c.on("this_device_removed", () => this.#emit({ type: "this_device_removed" })));
    on.push(c.on("delivery", (d) => this.#onDelivery(d)));
    on.push(c.on("queue_missed", (m) => this.#emit({ type: "queue_missed", dropped: m.dropped })));
    on.push(c.on("error", (event) => this.#emit({ type: "error", event })));
    const watch = this.#o.serverPolicy;
    if (watch !== undefined)
      on.push(watch.subscribe((state, warning) => this.#onServerPolicy(state, warning)));
  }

  /** Runs event handlers one at a time, in arrival order: a message waiting for its room is not overtaken. */
  #chain(task: () => Promise<void>): void {
    this.#events = this.#events
      .then(() => (this.#disposed ? undefined : task()))
      .catch((error: unknown) => {
        if (!this.#disposed) this.#emit({ type: "failed", what: "refresh", error });
      });
  }

  #onStatus(status: ConnectionStatus): void {
    const connected = status.state === "connected";
    const me = connected ? (this.#client.user ?? this.#snapshot.me) : this.#snapshot.me;
    if (me !== undefined) this.#learn(me);
    this.#set({ connection: status, me });
    this.#emit({ type: "status", status });
    if (connected) {
      this.refresh().catch((error: unknown) => {
        if (!this.#disposed) this.#emit({ type: "failed", what: "refresh", error });
      });
      void this.checkServer();
      void this.#flush();
    } else if (status.state === "offline") {
      for (const item of this.#outbox.splice(0)) this.#fail(item, new ParleyClientError("not_connected"));
    }
  }

  async #onMessage(m: MessageEvent): Promise<void> {
    const c = m.content;
    if ("reaction" in c) {
      const { to, emoji, on } = c.reaction;
      return this.#onChange(m, to, { kind: "reaction", emoji, on });
    }
    if ("edit" in c) {
      const { to, text, mentions } = c.edit;
      return this.#onChange(m, to, { kind: "edit", text, ...(mentions !== undefined ? { mentions } : {}) });
    }
    if ("delete" in c) return this.#onChange(m, c.delete.to, { kind: "delete" });
    const file = "file" in c ? c.file : undefined;
    if (!("text" in c) && file === undefined) return this.#onControl(m);
    const self = this.#snapshot.me?.id;
    this.#learn({ id: m.from.userId, username: m.from.username });
    if (this.room(m.roomId) === undefined) {
      try {
        await this.refresh();
      } catch {
        // Shown anyway, under the room's id; the next refresh names it.
      }
    }
    const room = this.room(m.roomId);
    if (room?.kind === "direct" && this.#snapshot.peers[room.id] === undefined && m.from.userId !== self) {
      this.#set({
        peers: { ...this.#snapshot.peers, [room.id]: { id: m.from.userId, username: m.from.username } },
      });
    }
    const arrived: ChatMessage = {
      key: m.messageId ?? m.id,
      roomId: m.roomId,
      fromId: m.from.userId,
      fromName: m.from.username,
      ts: m.sentAt ?? m.ts,
      text: "text" in c ? c.text : "",
      own: m.from.userId === self,
      trust: m.trust,
      ...this.#expiry(m.roomId, m.sentAt ?? m.ts),
      ...("text" in c && c.reply !== undefined ? { replyTo: { key: c.reply.id, fromId: c.reply.from } } : {}),
      ...("text" in c && c.mentions !== undefined && c.mentions.length > 0 ? { mentions: c.mentions } : {}),
      ...(file !== undefined
        ? { attachment: { ...attachmentOf(file, file.size), expiresAt: file.expiresAt, file } }
        : {}),
    };
    const list = this.#snapshot.messages[m.roomId] ?? [];
    if (list.some((x) => sameMessage(x, arrived))) return;
    // CHAT-2..4: reactions, edits and deletes that came first apply now, before it is kept.
    const waiting = this.#pending[m.roomId] ?? [];
    const { message, rest } = applyPending(arrived, waiting, this.#editWindowMs);
    if (rest.length !== waiting.length) this.#setPending(m.roomId, rest);
    if (this.#o.isRead?.(m.roomId) !== true) {
      this.#set({
        unread: { ...this.#snapshot.unread, [m.roomId]: (this.#snapshot.unread[m.roomId] ?? 0) + 1 },
      });
    }
    // Kept (with the unread count) before it is shown, so what the view showed survives a
    // reload that follows at once.
    const history = this.#history;
    if (history !== undefined) {
      try {
        await history.saveNow(m.roomId, [...list, message]);
      } catch (error) {
        this.#emit({ type: "failed", what: "history", error });
      }
      if (this.#disposed) return;
    }
    this.#append(message);
    // The message is what they were typing.
    this.#typists.update({
      roomId: m.roomId,
      userId: m.from.userId,
      username: m.from.username,
      active: false,
    });
    if (this.#o.isRead?.(m.roomId) === true) this.#sendRead(m.roomId, [message]);
    this.#emit({ type: "message", message });
    if (message.expiresAt !== undefined) this.#sweep();
  }

  /**
   * CHAT-2..4: a reaction, edit or delete from a member. An edit or delete that names another
   * sender's message is forged (MLS authenticated who sent it) and ignored.
   */
  async #onChange(m: MessageEvent, to: { id: string; from: string }, change: MessageChange): Promise<void> {
    const by = { id: m.from.userId, username: m.from.username };
    if (change.kind !== "reaction" && to.from !== by.id) return;
    this.#learn(by);
    const pc: PendingChange = {
      target: { key: to.id, fromId: to.from },
      by,
      at: m.sentAt ?? m.ts,
      id: m.messageId ?? m.id,
      change,
    };
    await this.#applyOrWait(m.roomId, pc);
  }

  /**
   * Applies a change to its message, or keeps it until the message arrives. Returns the message
   * changed. The change is kept in history before it is shown, as a message is: a reload right
   * after it still shows it, and what a delete removed leaves the history now (CHAT-4).
   */
  async #applyOrWait(roomId: string, pc: PendingChange): Promise<ChatMessage | undefined> {
    const list = this.#snapshot.messages[roomId] ?? [];
    const i = list.findIndex((x) => sameMessage(x, pc.target));
    if (i < 0) {
      const waiting = this.#pending[roomId] ?? [];
      if (waiting.some((x) => x.id === pc.id && x.by.id === pc.by.id)) return undefined;
      this.#setPending(roomId, [...waiting, pc].slice(-PENDING_MAX));
      return undefined;
    }
    const before = list[i]!;
    let after = applyChange(before, pc, this.#editWindowMs);
    if (after === before) return undefined;
    const history = this.#history;
    if (history !== undefined) {
      const kept = [...list];
      kept[i] = after;
      try {
        await history.saveNow(roomId, kept);
      } catch (error) {
        this.#emit({ type: "failed", what: "history", error });
      }
      if (this.#disposed) return undefined;
    }
    // The list may have changed while history was written: apply to what it is now.
    const now = this.#snapshot.messages[roomId] ?? [];
    const j = now.findIndex((x) => sameMessage(x, pc.target));
    if (j < 0) return undefined;
    if (now[j] !== before) after = applyChange(now[j]!, pc, this.#editWindowMs);
    const copy = [...now];
    copy[j] = after;
    this.#setMessages(roomId, copy);
    this.#emit({ type: "state" });
    this.#emit({ type: "changed", message: after, change: pc.change, by: pc.by });
    return after;
  }

  #setPending(roomId: string, list: readonly PendingChange[]): void {
    const { [roomId]: _old, ...rest } = this.#pending;
    this.#pending = list.length > 0 ? { ...rest, [roomId]: list } : rest;
    this.#saveRooms();
  }

  /** RCPT-2: a receipt moved one of this device's messages on (never back). */
  #onDelivery(d: DeliveryEvent): void {
    const m = this.#own(d.messageId);
    if (m === undefined || m.status === "sending" || m.status === "failed") return;
    const status = forward(m.status, statusOf(d));
    const progress = { delivered: d.delivered.length, of: d.targets.length };
    if (status === m.status && m.progress?.delivered === progress.delivered) return;
    this.#update(m.key, (x) => ({ ...x, status, progress }));
  }

  #own(key: string): ChatMessage | undefined {
    const me = this.#snapshot.me?.id;
    for (const list of Object.values(this.#snapshot.messages)) {
      const m = list.find((x) => x.key === key && x.fromId === me && x.status !== undefined);
      if (m !== undefined) return m;
    }
    return undefined;
  }

  #sendRead(roomId: string, list: readonly ChatMessage[]): void {
    const fresh = list.filter((m) => !m.own && !this.#readSent.has(`${m.fromId} ${m.key}`));
    if (fresh.length === 0) return;
    for (const m of fresh) this.#readSent.add(`${m.fromId} ${m.key}`);
    this.#client.markRead(
      roomId,
      fresh.map((m) => ({ from: m.fromId, messageId: m.key })),
    );
  }

  async #onRoom(room: RoomView): Promise<void> {
    const isNew = this.room(room.id) === undefined;
    await this.#addRoom(room);
    this.#emit({ type: "conversation", room, isNew });
  }

  async #onMembership(m: MembershipEvent): Promise<void> {
    if (m.source === "group") {
      this.#restateTimerFor(m);
      return;
    }
    if (m.source !== "room") return;
    this.#learn({ id: m.userId, username: m.username });
    if (m.by !== undefined) this.#learn(m.by);
    if (m.event === "updated" && m.room !== undefined) this.#replaceRoom(m.room);
    await this.#systemLines(m);
    if (this.#disposed) return;
    const gone =
      m.event === "deleted" ||
      (m.userId === this.#snapshot.me?.id &&
        (m.event === "left" || m.event === "removed" || m.event === "banned"));
    if (gone) {
      this.#dropRoom(m.roomId);
    } else {
      void this.#loadMembersQuietly(m.roomId);
    }
    this.#emit({ type: "membership", event: m });
  }

  /** ROOM-9: each room event is a line in the conversation, kept in the history like messages. */
  async #systemLines(m: Extract<MembershipEvent, { source: "room" }>): Promise<void> {
    const roomId = canonicalRoomId(m.roomId);
    const ts = m.ts ?? this.#now();
    const actor = m.by ?? { id: m.userId, username: m.username };
    const lines = roomEventLines(m).map(
      (text, i): ChatMessage => ({
        key: `room-event:${ts}:${m.event}:${m.userId}:${i}`,
        roomId,
        fromId: actor.id,
        fromName: actor.username,
        ts,
        text,
        own: actor.id === this.#snapshot.me?.id,
        system: true,
      }),
    );
    for (const line of lines) this.#append(line);
    // Kept before it is shown (as messages are), so a reload right after still has it.
    const history = this.#history;
    if (history !== undefined && lines.length > 0) {
      try {
        await history.saveNow(roomId, this.#snapshot.messages[roomId] ?? []);
      } catch (error) {
        this.#emit({ type: "failed", what: "history", error });
      }
      if (this.#disposed) return;
    }
    this.#emit({ type: "state" });
    for (const line of lines) this.#emit({ type: "message", message: line });
  }

  #replaceRoom(room: RoomView): void {
    if (this.room(room.id) === undefined) return;
    this.#set({ rooms: this.#snapshot.rooms.map((r) => (r.id === room.id ? room : r)) });
    this.#emit({ type: "state" });
  }

  #onInvited(i: InvitedEvent): void {
    this.#learn(i.by);
    if (this.room(i.room.id) === undefined) {
      this.#set({
        invitations: [...this.#snapshot.invitations.filter((x) => x.room.id !== i.room.id), i],
      });
    }
    this.#emit({ type: "invited", invitation: i });
  }

  #onPresence(p: PresenceEvent): void {
    this.#learn({ id: p.userId, username: p.username });
    const { people, members } = this.#snapshot;
    // Someone who registered after the list was read appears with their first presence.
    const nextPeople = people.some((x) => x.id === p.userId)
      ? people.map((x) => (x.id === p.userId ? { ...x, online: p.online } : x))
      : [...people, { id: p.userId, username: p.username, online: p.online }];
    const nextMembers: Record<string, (typeof members)[string]> = {};
    for (const [roomId, list] of Object.entries(members)) {
      nextMembers[roomId] = list.some((m) => m.userId === p.userId)
        ? list.map((m) => (m.userId === p.userId ? { ...m, online: p.online } : m))
        : list;
    }
    this.#set({ people: nextPeople, members: nextMembers });
    this.#emit({ type: "presence", event: p });
  }

  // ------------------------------------------------------------------ removals (retention.ts)

  /**
   * A member added to a group where a timer is set learns it from the device that added them:
   * that device (only that one, so members do not all answer) sends the timer again, marked as
   * a restatement, which members who already have it apply without a line.
   */
  #restateTimerFor(m: Extract<MembershipEvent, { source: "group" }>): void {
    const seconds = this.#snapshot.disappearing[m.roomId];
    if (seconds === undefined || m.added.length === 0 || m.by === undefined) return;
    if (m.by.userId !== this.#snapshot.me?.id || m.by.deviceId !== this.#client.deviceId) return;
    this.#client
      .send(m.roomId, { data: { kind: DISAPPEARING_KIND, seconds, restate: true } })
      .catch((error: unknown) => this.#emit({ type: "failed", what: "send", error }));
  }

  /** A structured payload: a disappearing timer is applied; other kinds come later. */
  async #onControl(m: MessageEvent): Promise<void> {
    const data = "data" in m.content ? m.content.data : undefined;
    if (typeof data !== "object" || data === null) return;
    if ((data as { kind?: unknown }).kind === VIEWED_KIND) return this.#onViewed(m, data);
    const { kind, seconds, restate } = data as { kind?: unknown; seconds?: unknown; restate?: unknown };
    if (kind !== DISAPPEARING_KIND || !isDisappearingSeconds(seconds)) return;
    // A restatement for a newcomer changes nothing where the timer is already the same.
    if (restate === true && (this.#snapshot.disappearing[m.roomId] ?? 0) === seconds) return;
    this.#learn({ id: m.from.userId, username: m.from.username });
    // Keyed by the sender's message id (RCPT-3): a redelivered copy is the same line.
    const key = m.messageId ?? m.id;
    if ((this.#snapshot.messages[m.roomId] ?? []).some((x) => x.key === key && x.fromId === m.from.userId))
      return;
    const line = this.#applyTimer(m.roomId, seconds, {
      key,
      ts: m.sentAt ?? m.ts,
      fromId: m.from.userId,
      fromName: m.from.username,
      own: m.from.userId === this.#snapshot.me?.id,
    });
    this.#emit({ type: "message", message: line });
  }

  /**
   * A view-once attachment was opened: by this user on another device (it goes here too), or
   * by the other person of a direct conversation (the sender's copy shows it opened).
   */
  #onViewed(m: MessageEvent, data: object): void {
    const { id, from } = data as { id?: unknown; from?: unknown };
    if (typeof id !== "string" || typeof from !== "string") return;
    const self = this.#snapshot.me?.id;
    const byMe = m.from.userId === self;
    const direct = this.room(m.roomId)?.kind === "direct";
    if (byMe || (direct && from === self)) this.#markOpened(m.roomId, from, id);
  }

  /** A conversation's timer changed: remembered, and said in the conversation as a system line. */
  #applyTimer(
    roomId: string,
    seconds: number,
    line: Pick<ChatMessage, "key" | "ts" | "fromId" | "fromName" | "own">,
  ): ChatMessage {
    const { [roomId]: _old, ...rest } = this.#snapshot.disappearing;
    this.#set({ disappearing: seconds > 0 ? { ...rest, [roomId]: seconds } : rest });
    const text =
      seconds > 0
        ? `${line.fromName} set disappearing messages to ${describeDisappearing(seconds)}`
        : `${line.fromName} turned off disappearing messages`;
    const message: ChatMessage = { ...line, roomId, text, system: true };
    this.#append(message);
    this.#emit({ type: "state" });
    return message;
  }

  /** When a message sent at `ts` in a conversation is to disappear, by the timer set there now. */
  #expiry(roomId: string, ts: number): { expiresAt?: number } {
    const seconds = this.#snapshot.disappearing[roomId] ?? 0;
    return seconds > 0 ? { expiresAt: ts + seconds * 1000 } : {};
  }

  /** Removes the messages whose time has come (age limit, disappearing timers) and waits for the next. */
  #sweep(): void {
    if (this.#disposed) return;
    const maxAge = this.#history?.maxAgeMs;
    const now = this.#now();
    const { messages, changed } = pruneMessages(this.#snapshot.messages, now, maxAge);
    if (changed.length > 0) {
      this.#set({ messages });
      for (const roomId of changed) this.#history?.save(roomId, messages[roomId] ?? []);
      this.#emit({ type: "state" });
    }
    this.#removals.schedule(nextRemoval(messages, now, maxAge), now);
  }

  // ------------------------------------------------------------------ helpers

  async #refreshAll(): Promise<void> {
    // The conversation list shows as soon as the server lists the rooms; the people list (every
    // account on the server: thousands on a big one) and the subscriptions follow on their own.
    const others = Promise.all([this.#client.users(), this.#client.subscriptions()]);
    others.catch(() => undefined); // awaited below, also when the room list fails first
    const rooms = await this.#client.rooms();
    if (this.#disposed) return;
    this.#listed = true;
    const ids = new Set(rooms.map((r) => r.id));
    const peers = Object.fromEntries(Object.entries(this.#snapshot.peers).filter(([id]) => ids.has(id)));
    const followedPosts = this.#snapshot.followedPosts.filter((p) => !ids.has(p.roomId));
    this.#set({ rooms, peers, followedPosts });
    this.#emit({ type: "state" });
    await Promise.all([
      others.then(([people, following]) => {
        if (this.#disposed) return;
        for (const p of people) this.#learn(p);
        this.#set({ people, following });
        this.#emit({ type: "state" });
      }),
      ...rooms.map((r) => this.#loadMembersQuietly(r.id)),
      // Invitations that came while this device was away (ROOM-17).
      this.loadInvitations().catch(() => undefined),
    ]);
  }

  async #addRoom(room: RoomView): Promise<void> {
    this.#set({
      rooms: [...this.#snapshot.rooms.filter((r) => r.id !== room.id), room],
      invitations: this.#snapshot.invitations.filter((i) => i.room.id !== room.id),
      followedPosts: this.#snapshot.followedPosts.filter((p) => p.roomId !== room.id),
    });
    this.#emit({ type: "state" });
    await this.#loadMembersQuietly(room.id);
  }

  async #loadMembersQuietly(roomId: string): Promise<void> {
    try {
      await this.loadMembers(roomId);
    } catch {
      // The room may have gone (left, removed) between the list and this call.
    }
  }

  #dropRoom(roomId: string): void {
    const id = canonicalRoomId(roomId);
    const { [id]: _members, ...members } = this.#snapshot.members;
    const { [id]: _peer, ...peers } = this.#snapshot.peers;
    const { [id]: _unread, ...unread } = this.#snapshot.unread;
    const { [id]: _pending, ...pending } = this.#pending;
    this.#pending = pending;
    this.#set({ rooms: this.#snapshot.rooms.filter((r) => r.id !== id), members, peers, unread });
    this.#emit({ type: "state" });
  }

  #setTrust(userId: string, state: ChatSnapshot["trust"][string], emit = true): void {
    this.#set({ trust: { ...this.#snapshot.trust, [userId]: state } });
    if (emit) this.#emit({ type: "state" });
  }

  #enqueue(item: OutboxItem): Promise<ChatMessage> {
    const done = new Promise<ChatMessage>((resolve, reject) =>
      this.#waiters.set(item.key, { resolve, reject }),
    );
    this.#outbox.push(item);
    void this.#flush();
    return done;
  }

  async #flush(): Promise<void> {
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      while (this.#outbox.length > 0 && !this.#disposed && this.#canSend()) {
        const item = this.#outbox[0]!;
        try {
          await this.#client.send(item.roomId, outgoing(item), { messageId: item.key, sentAt: item.sentAt });
          this.#take(item);
          const d = this.#client.delivery(item.key);
          const sent = this.#update(item.key, (m) => ({
            ...m,
            status: forward("sent", statusOf(d)),
            ...(d !== undefined ? { progress: { delivered: d.delivered.length, of: d.targets.length } } : {}),
            ...this.#expiry(m.roomId, m.ts),
          }));
          if (sent?.expiresAt !== undefined) this.#sweep();
          const waiter = this.#waiters.get(item.key);
          this.#waiters.delete(item.key);
          if (sent !== undefined) waiter?.resolve(sent);
        } catch (error) {
          if (this.#take(item)) this.#fail(item, error, true);
        }
      }
    } finally {
      this.#flushing = false;
    }
  }

  #canSend(): boolean {
    return this.#o.holdWhileOffline === false || this.#snapshot.connection.state === "connected";
  }

  /** Removes an item from the outbox; false when it was no longer there (failed meanwhile). */
  #take(item: OutboxItem): boolean {
    const i = this.#outbox.indexOf(item);
    if (i >= 0) this.#outbox.splice(i, 1);
    return i >= 0;
  }

  #fail(item: OutboxItem, error: unknown, announce = false): void {
    this.#update(item.key, (m) => ({ ...m, status: "failed" }));
    if (announce) this.#emit({ type: "failed", what: "send", error, key: item.key });
    const waiter = this.#waiters.get(item.key);
    this.#waiters.delete(item.key);
    waiter?.reject(error);
  }

  /** RCPT-3: in order of compose time, then sender, then id; a copy (same sender and id) is dropped. */
  #append(message: ChatMessage): void {
    const list = this.#snapshot.messages[message.roomId] ?? [];
    if (list.some((x) => x.key === message.key && x.fromId === message.fromId)) return;
    const after = (x: ChatMessage) =>
      x.ts > message.ts ||
      (x.ts === message.ts &&
        (x.fromId > message.fromId || (x.fromId === message.fromId && x.key > message.key)));
    let i = list.length;
    while (i > 0 && after(list[i - 1]!)) i--;
    this.#setMessages(message.roomId, [...list.slice(0, i), message, ...list.slice(i)]);
  }

  /** Changes one message (found by key); returns it as changed. */
  #update(key: string, change: (m: ChatMessage) => ChatMessage): ChatMessage | undefined {
    for (const [roomId, list] of Object.entries(this.#snapshot.messages)) {
      const i = list.findIndex((m) => m.key === key);
      if (i < 0) continue;
      const copy = [...list];
      const changed = change(copy[i]!);
      copy[i] = changed;
      this.#setMessages(roomId, copy);
      this.#emit({ type: "state" });
      return changed;
    }
    return undefined;
  }

  #setMessages(roomId: string, list: readonly ChatMessage[]): void {
    this.#set({ messages: { ...this.#snapshot.messages, [roomId]: list } });
    this.#history?.save(roomId, list);
  }

  #learn(user: { readonly id: string; readonly username: string }): void {
    this.#names.set(user.id, user.username);
  }

  #byName(name: string): Person | undefined {
    const key = usernameKey(name);
    for (const [id, username] of this.#names) if (usernameKey(username) === key) return { id, username };
    return undefined;
  }

  /** A device line, once per person, device and kind; the newest MAX_DEVICE_NOTES are kept. */
  #noteDevice(userId: string, deviceId: string, kind: DeviceNote["kind"]): void {
    const notes = this.#snapshot.deviceNotes;
    if (notes.some((n) => n.userId === userId && n.deviceId === deviceId && n.kind === kind)) return;
    const note: DeviceNote = { userId, deviceId, kind, at: this.#now() };
    this.#set({ deviceNotes: [...notes, note].slice(-MAX_DEVICE_NOTES) });
    this.#emit({ type: "state" });
  }

  #set(patch: Partial<ChatSnapshot>): void {
    if (this.#disposed) return;
    this.#snapshot = { ...this.#snapshot, ...patch };
    if (
      patch.unread !== undefined ||
      patch.disappearing !== undefined ||
      patch.deviceNotes !== undefined ||
      patch.notify !== undefined ||
      patch.previews !== undefined ||
      patch.rooms !== undefined ||
      patch.peers !== undefined
    )
      this.#saveRooms();
  }

  #saveRooms(): void {
    if (this.#disposed) return;
    const { unread, disappearing, deviceNotes, notify, previews, rooms, peers } = this.#snapshot;
    this.#history?.saveRooms?.({
      unread,
      disappearing,
      pending: this.#pending,
      deviceNotes,
      notify,
      previews,
      rooms,
      peers,
    });
  }

  #emit(change: ChatChange): void {
    if (this.#disposed) return;
    for (const listener of [...this.#listeners]) {
      try {
        listener(change);
      } catch (error) {
        // A view's bug must not stop the model or the other views; it still surfaces.
        void Promise.reject(error);
      }
    }
  }
}

/** What the outbox sends for a text: the bare text, or with what it replies to and whom it names. */
function outgoing(item: OutboxItem): Content | string {
  if (item.replyTo === undefined && (item.mentions === undefined || item.mentions.length === 0))
    return item.text;
  return {
    text: item.text,
    ...(item.replyTo !== undefined ? { reply: { id: item.replyTo.key, from: item.replyTo.fromId } } : {}),
    ...(item.mentions !== undefined && item.mentions.length > 0 ? { mentions: item.mentions } : {}),
  };
}
