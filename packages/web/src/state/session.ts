import type { NotifyLevel } from "@parley/client";
import {
  type AdminApi,
  type ChatChange,
  type ChatMessage,
  ChatModel,
  type CreateRoomOptions,
  DEFAULT_RETENTION,
  type DeliveryInfo,
  type DeviceInfo,
  type DeviceStore,
  emptyChatSnapshot,
  type FileMeta,
  type FileSource,
  fetchServerInfo,
  formatRetention,
  History,
  type HistoryRetention,
  isParleyClientError,
  type JoinedLink,
  maxAgeMs,
  ParleyClient,
  type PendingLink,
  type PolicyCheck,
  parseRetention,
  type Quote,
  type RoomSettings,
  resetPassword,
  type SafetyNumberResult,
  ServerPolicyWatch,
} from "@parley/client";
import {
  assertNever,
  type FilesInfo,
  type InfoResponse,
  type MlsSuite,
  type RoomView,
  type SessionView,
  type TotpStatus,
} from "@parley/protocol";
import { eraseAccount, getSetting, openAccountStore, setSetting } from "../platform/idb-store.js";
import { describeError } from "./errors.js";
import type { StagedFile } from "./files.js";
import {
  adminOpen,
  chat,
  composing,
  conversationName,
  focused,
  type MessageRef,
  notice,
  persistent,
  readReceipts,
  recoveryCodesShown,
  retention,
  route,
  secondStep,
  selectedRoom,
  serverInfo,
  serverPolicy,
  serverPolicyError,
} from "./model.js";
import { alertArrival, askOnFirstSend } from "./notifications.js";

/**
 * The page's side of the chat: signing in and out, and the actions components call. The chat
 * itself is one ChatModel per signed-in account (its snapshot is the `chat` signal); this file
 * keeps only what is the page's own: which conversation is open, notices, the history setting.
 * Every failure surfaces as a thrown error with a readable message (describeError) or as a
 * notice, never as a silent drop.
 */

const LAST_ACCOUNT = "last-account";

/** The signed-in account: its client, its chat model and where its history is kept. */
interface Session {
  readonly account: string;
  readonly client: ParleyClient;
  readonly model: ChatModel;
  readonly history: History;
  /** Stops listening to the model and the page. */
  readonly detach: () => void;
}

let session: Session | undefined;

function makeClient(store: DeviceStore): ParleyClient {
  return new ParleyClient({
    baseUrl: location.origin,
    fetch: (url, init) => fetch(url, { ...init, credentials: "same-origin", cache: "no-store" }),
    WebSocket,
    store,
  });
}

function active(): Session {
  if (session === undefined) throw new Error("not signed in");
  return session;
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

/** A sign-in past its password, waiting for the second step (AUTH-14). */
let pending:
  | {
      client: ParleyClient;
      username: string;
      challenge: string;
      opened: Awaited<ReturnType<typeof openAccountStore>>;
    }
  | undefined;

export async function signIn(username: string, password: string): Promise<void> {
  const opened = await openAccountStore(username);
  const candidate = makeClient(opened.store);
  const step = await candidate.signIn(username, password);
  if (step.done) {
    await begin(candidate, username, opened.store, opened.persistent);
    return;
  }
  pending = { client: candidate, username, challenge: step.challenge, opened };
  if (step.next === "totp_enrol") {
    const enrolment = await candidate.signInEnrol(step.challenge);
    secondStep.value = { username, next: "totp_enrol", enrolment };
  } else {
    secondStep.value = { username, next: "totp" };
  }
}

/**
 * AUTH-14: the code (or a TOTP recovery code) that completes the waiting sign-in. A wrong code
 * throws and the step stays; an expired or used-up step goes back to the password form.
 */
export async function completeSignIn(code: string): Promise<void> {
  const p = pending;
  const step = secondStep.value;
  if (p === undefined || step === undefined) throw new Error("no sign-in is waiting for a code");
  try {
    if (step.next === "totp_enrol") {
      const done = await p.client.signInConfirm(p.challenge, code);
      recoveryCodesShown.value = done.recoveryCodes;
    } else {
      await p.client.signInWithCode(p.challenge, code);
    }
  } catch (e) {
    if (isParleyClientError(e, "login_challenge_invalid")) cancelSignIn();
    throw e;
  }
  pending = undefined;
  secondStep.value = undefined;
  await begin(p.client, p.username, p.opened.store, p.opened.persistent);
}

export function cancelSignIn(): void {
  void pending?.client.close();
  pending = undefined;
  secondStep.value = undefined;
}

// ------------------------------------------------------------------ two-step sign-in (AUTH-13)

export function twoFactorStatus(): Promise<TotpStatus> {
  return active().client.twoFactorStatus();
}

export function enrolTwoFactor(password: string): Promise<{ secret: string; uri: string }> {
  return active().client.enrolTwoFactor(password);
}

export async function confirmTwoFactor(code: string): Promise<void> {
  recoveryCodesShown.value = await active().client.confirmTwoFactor(code);
  await active().model.refreshTwoFactor();
}

export async function disableTwoFactor(password: string, code: string): Promise<void> {
  await active().client.disableTwoFactor(password, code);
  await active().model.refreshTwoFactor();
}

// ------------------------------------------------------------------ the server's policy (POLICY-2)

/**
 * One watch for the page's lifetime: it checks before sign-in (the sign-in page shows the
 * panel too), and the chat model checks it again on every connection, so a server restarted
 * with other settings raises the warning at the reconnect, without a reload.
 */
const policyWatch = new ServerPolicyWatch({
  baseUrl: location.origin,
  fetch: (url, init) => fetch(url, { ...init, cache: "no-store" }),
  pins: { get: (key) => getSetting(key), set: (key, value) => setSetting(key, value) },
});
// Signed out, the page follows the watch itself; signed in, the model's snapshot (onChange).
policyWatch.subscribe((state) => {
  if (session === undefined) showPolicy(state.check, state.error);
});

function showPolicy(check: PolicyCheck | undefined, error: unknown): void {
  serverPolicy.value = check;
  serverPolicyError.value = error === undefined ? undefined : describeError(error);
}

/** Fetches, verifies and checks the server's signed policy against this browser's pin. */
export async function loadServerPolicy(): Promise<void> {
  await (session?.model.checkServer() ?? policyWatch.check());
}

/** The person saw the change: the new statement and key are pinned. */
export async function acknowledgePolicy(): Promise<void> {
  await (session?.model.acceptServerPolicy() ?? policyWatch.accept());
  if (session === undefined) showPolicy(policyWatch.state.check, policyWatch.state.error);
}

/** AUTH-11, AUTH-12: a new password with a reset or recovery code; then sign in as usual. */
export async function resetWithCode(username: string, code: string, newPassword: string): Promise<void> {
  await resetPassword(location.origin, (url, init) => fetch(url, { ...init, cache: "no-store" }), {
    username,
    code,
    newPassword,
  });
}

export async function register(username: string, password: string, inviteCode?: string): Promise<void> {
  const opened = await openAccountStore(username);
  const candidate = makeClient(opened.store);
  await candidate.register(username, password, inviteCode);
  await begin(candidate, username, opened.store, opened.persistent);
}

async function begin(
  client: ParleyClient,
  account: string,
  store: DeviceStore,
  canPersist: boolean,
): Promise<void> {
  persistent.value = canPersist;
  await setSetting(LAST_ACCOUNT, account);
  retention.value = canPersist ? await retentionOf(account) : { keep: "none" };
  const keeps = retention.value.keep !== "none";
  const history = new History(store, { maxAgeMs: maxAgeMs(retention.value) });
  const model = new ChatModel(client, {
    ...(keeps ? { history } : {}),
    // A message in the open conversation of a visible page is read as it arrives.
    isRead: (roomId) => roomId === selectedRoom.peek() && document.visibilityState === "visible",
    serverPolicy: policyWatch,
  });
  const stop = model.subscribe((change) => onChange(model, change));
  const flush = () => void history.flush();
  addEventListener("pagehide", flush);
  session = {
    account,
    client,
    model,
    history,
    detach: () => {
      stop();
      removeEventListener("pagehide", flush);
    },
  };
  chat.value = model.snapshot;
  route.value = "app";
  if (keeps) await model.restoreHistory();
  try {
    await client.connect();
  } catch (e) {
    // A new browser of a person with an identity elsewhere: nothing is made silently; the
    // page asks to link it from another device or to reset the identity (link-device.tsx).
    if (isParleyClientError(e, "identity_link_required")) route.value = "link";
    else notice.value = describeError(e);
  }
  readReceipts.value = model.readReceipts;
}

function historySetting(account: string): string {
  return `history:${account}`;
}

/**
 * The account's retention on this browser. Kept history was opt-in ("on", or nothing stored
 * for off); it is now the default, so "on" and nothing both read as keep-everything, and only
 * an explicit "none" (chosen since) keeps nothing.
 */
async function retentionOf(account: string): Promise<HistoryRetention> {
  return parseRetention(await getSetting(historySetting(account))) ?? DEFAULT_RETENTION;
}

/** Shows the model's new snapshot, and what the page says about the change. */
function onChange(model: ChatModel, change: ChatChange): void {
  if (session?.model !== model) return;
  chat.value = model.snapshot;
  showPolicy(model.snapshot.server.policy, model.snapshot.server.policyError);
  switch (change.type) {
    case "membership": {
      const m = change.event;
      const gone =
        m.event === "deleted" ||
        (m.userId === model.snapshot.me?.id && (m.event === "left" || m.event === "removed"));
      if (!gone) return;
      if (selectedRoom.value === m.roomId) selectedRoom.value = undefined;
      if (m.event === "removed") notice.value = "You were removed from a room.";
      if (m.event === "deleted")
        notice.value = `A room you were in was deleted by the server's admin ${m.username}.`;
      return;
    }
    case "queue_missed":
      notice.value = `${change.dropped} message${change.dropped === 1 ? "" : "s"} sent while this device was away did not wait for it (the server keeps only the newest).`;
      return;
    case "error":
      if (change.event.messageId !== undefined)
        notice.value = "A message could not be decrypted on this device.";
      return;
    case "failed":
      // A transfer this person cancelled is no news: its message says "cancelled".
      if (isParleyClientError(change.error, "transfer_cancelled")) return;
      notice.value =
        change.what === "history"
          ? "This device could not keep a message in its history."
          : describeError(change.error);
      return;
    case "message": {
      const room = model.room(change.message.roomId);
      alertArrival(model, change.message, {
        open: selectedRoom.peek() === change.message.roomId,
        roomName: room !== undefined ? conversationName(room) : change.message.roomId,
        onClick: () => selectRoom(change.message.roomId),
      });
      return;
    }
    case "status": {
      // ACCT-2, ACCT-3: this session was ended elsewhere, or the account deleted: signed out.
      const st = change.status;
      if (st.state === "offline" && ENDED_ELSEWHERE[st.reason] !== undefined) void endedElsewhere(st.reason);
      return;
    }
    case "state":
    case "conversation":
    case "followed_post":
    case "presence":
    case "typing":
    case "invited":
    case "identity_changed":
    case "changed":
      return;
    case "policy_changed":
      // The warning is a section of its own (PolicyWarning), from snapshot.server.policy.
      return;
    case "device_added":
    case "device_removed":
      // Lines in the conversations, from the snapshot (kept with the history).
      return;
    case "this_device_removed":
      void removedHere();
      return;
    default:
      assertNever(change);
  }
}

// ------------------------------------------------------------------------------- messages

/** Sends a text to a conversation: at once when connected, else when the connection is back. */
export function sendMessage(roomId: string, text: string, replyTo?: MessageRef): void {
  askOnFirstSend();
  // A failure shows on the message (Retry) and as a notice.
  session?.model.send(roomId, text, replyTo !== undefined ? { replyTo } : {}).catch(() => undefined);
}

/** CHAT-2: reacts with `emoji`, or takes this user's reaction back; a failure is a notice. */
export function react(m: MessageRef, emoji: string): void {
  session?.model.react(m.roomId, m, emoji).catch((error: unknown) => {
    notice.value = describeError(error);
  });
}

/** CHAT-3: changes the text of one of this user's messages for everyone. */
export async function editMessage(m: MessageRef, text: string): Promise<void> {
  await active().model.edit(m.roomId, m, text);
}

/** CHAT-4: deletes one of this user's messages for everyone. */
export async function deleteMessage(m: MessageRef): Promise<void> {
  await active().model.deleteForEveryone(m.roomId, m);
}

export function canEdit(m: ChatMessage): boolean {
  // A file's message has no text to edit: its file is sent again instead.
  return m.attachment === undefined && (session?.model.canEdit(m) ?? false);
}

export function canDelete(m: ChatMessage): boolean {
  return session?.model.canDelete(m) ?? false;
}

/** CHAT-1: what a reply shows of the message it answers. */
export function quoteOf(m: ChatMessage): Quote | undefined {
  return session?.model.quoteOf(m);
}

/** CHAT-6: this device's messages with every word of `query`, newest first. */
export function search(query: string): ChatMessage[] {
  return session?.model.search(query) ?? [];
}

/** Opens a message's conversation scrolled to it, marked for a moment (a quote, a search hit). */
export function jumpTo(m: MessageRef): void {
  if (selectedRoom.value !== m.roomId) selectRoom(m.roomId);
  focused.value = { roomId: m.roomId, key: m.key, fromId: m.fromId, at: Date.now() };
}

// ------------------------------------------------------------------------------- files (issue 17)

/** The server's file settings, or undefined when it stores no files (the page then hides attaching). */
export function filePolicy(): FilesInfo | undefined {
  const files = serverInfo.value?.files;
  return files?.enabled === true ? files : undefined;
}

/** A Blob read in ranges: the SDK encrypts and uploads it part by part, never all at once. */
function blobSource(blob: Blob): FileSource {
  return {
    size: blob.size,
    read: async (offset, length) => new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer()),
  };
}

/** What a staged file becomes: the bytes to send and what its message says about them. */
async function prepare(s: StagedFile): Promise<{ blob: Blob; meta: FileMeta }> {
  const once = s.viewOnce ? { viewOnce: true } : {};
  if (s.kind === "photo") {
    // Loaded with the first photo, not with the page.
    const { preparePhoto } = await import("../media/photo.js");
    const photo = await preparePhoto(s.file, s.mime, { keepMetadata: s.keepDetails });
    // A view-once photo has no thumbnail: it would outlive the opening.
    const preview = s.viewOnce
      ? {}
      : {
          thumbnail: new Uint8Array(await photo.thumbnail.arrayBuffer()),
          thumbnailType: photo.thumbnail.type,
        };
    return {
      blob: photo.blob,
      meta: { name: s.name, type: photo.mime, width: photo.width, height: photo.height, ...preview, ...once },
    };
  }
  if (s.kind === "voice" && s.voice !== undefined) {
    return {
      blob: s.file,
      meta: {
        name: s.name,
        type: s.mime,
        durationMs: s.voice.durationMs,
        ...(s.voice.peaks.length > 0 ? { waveform: s.voice.peaks } : {}),
        ...once,
      },
    };
  }
  return { blob: s.file, meta: { name: s.name, type: s.mime } };
}

/**
 * Sends staged files in order, each as its own message that shows at once with its upload's
 * progress. A photo is stripped of its metadata first (unless kept); a file the server would
 * refuse after that (a re-encoded photo grown past the limit) is said in a notice.
 */
export async function sendAttachments(roomId: string, staged: readonly StagedFile[]): Promise<void> {
  const model = session?.model;
  if (model === undefined) return;
  for (const s of staged) {
    try {
      const { blob, meta } = await prepare(s);
      // The message shows once the SDK's check passed; the upload then runs on its own.
      model.sendFile(roomId, blobSource(blob), meta).catch((e: unknown) => {
        if (!isParleyClientError(e, "transfer_cancelled")) notice.value = `${s.name}: ${describeError(e)}`;
      });
    } catch (e) {
      notice.value = `${s.name}: ${isParleyClientError(e) ? describeError(e) : "this photo could not be read."}`;
    }
  }
}

/**
 * Downloads, decrypts and checks a message's file, and gives it as a Blob. A view-once
 * attachment is opened by this (removed from the user's other devices and the server).
 */
export async function downloadAttachment(key: string): Promise<Blob> {
  const { model } = active();
  const parts: Uint8Array<ArrayBuffer>[] = [];
  const m = Object.values(model.snapshot.messages)
    .flat()
    .find((x) => x.key === key);
  try {
    await model.download(key, {
      write: (bytes) => {
        parts.push(new Uint8Array(bytes));
      },
    });
  } catch (e) {
    // Deleted after a view-once opening, or never there: the server answers both alike.
    if (isParleyClientError(e, "not_found")) throw new Error("This file is no longer on the server.");
    throw new Error(describeError(e));
  }
  return new Blob(parts, { type: m?.attachment?.type ?? "application/octet-stream" });
}

/** Stops an upload (its message is then not sent) or a download. */
export function cancelTransfer(key: string): void {
  session?.model.cancelTransfer(key);
}

/** RCPT-2: who has one of this device's messages, device by device. */
export function messageInfo(key: string): DeliveryInfo | undefined {
  return session?.model.deliveryInfo(key);
}

/** RCPT-1: turns sharing read receipts on or off (off: nobody's are shown either). */
export async function setReadReceipts(on: boolean): Promise<void> {
  await active().model.setReadReceipts(on);
  readReceipts.value = on;
}

/** Sends a failed message again. */
export function retry(key: string): void {
  session?.model.retry(key)?.catch(() => undefined);
}

/** Tells the room this user is typing (repeated while typing, stopped after a pause). */
export function typingInRoom(roomId: string): void {
  session?.model.typed(roomId);
}

/** SUB-1: follows a person (their public-room posts are offered in the sidebar). */
export function follow(userId: string): Promise<void> {
  return active().model.follow(userId);
}

export function unfollow(userId: string): Promise<void> {
  return active().model.unfollow(userId);
}

/** Drops the offer to join a public room a followed person posted in. */
export function dismissFollowedPost(roomId: string): void {
  session?.model.dismissFollowedPost(roomId);
}

/** Issue 18.5: a conversation's notification level on this device. */
export function setNotifyLevel(roomId: string, level: NotifyLevel): void {
  session?.model.setNotifyLevel(roomId, level);
}

/** Whether this device's notifications show a message's text. */
export function setPreviews(on: boolean): void {
  session?.model.setPreviews(on);
}

export function selectRoom(roomId: string | undefined): void {
  selectedRoom.value = roomId;
  if (roomId !== undefined) adminOpen.value = false;
  if (composing.value !== undefined && composing.value.roomId !== roomId) composing.value = undefined;
  if (roomId !== undefined) session?.model.markRead(roomId);
}

// ------------------------------------------------------------------------------- rooms

/** Creates a room: private (invitation only) unless `options.isPublic` (ROOM-2). */
export async function createRoom(name: string, options: CreateRoomOptions = {}): Promise<void> {
  const room = await active().model.createRoom(name, options);
  selectRoom(room.id);
}

/** Joins a room by id, or a public room by its name; `passphrase` when the room has one (ROOM-15). */
export async function joinRoom(roomIdOrName: string, passphrase?: string): Promise<void> {
  const room = await active().model.join(roomIdOrName.trim(), passphrase);
  selectRoom(room.id);
}

/** A page of the public-room directory (ROOM-11). */
export function discoverRooms(query: string, after?: string): Promise<{ rooms: RoomView[]; next?: string }> {
  return active().model.discover({
    limit: 20,
    ...(query.trim() !== "" ? { query: query.trim() } : {}),
    ...(after !== undefined ? { after } : {}),
  });
}

/** Turns an invitation down; the room's members see it (ROOM-17). */
export function declineInvitation(roomId: string): void {
  session?.model.declineInvitation(roomId).catch((e: unknown) => {
    notice.value = describeError(e);
  });
}

/** Changes a room's settings (ROOM-16). */
export async function updateRoom(roomId: string, settings: RoomSettings): Promise<void> {
  await active().model.updateRoom(roomId, settings);
}

export async function setMemberRole(
  roomId: string,
  userId: string,
  role: "moderator" | "member",
): Promise<void> {
  await active().model.setRole(roomId, userId, role);
}

/** Removes a member; their devices leave the room's encryption group (ROOM-6). */
export async function removeMember(roomId: string, userId: string): Promise<void> {
  await active().model.remove(roomId, userId);
}

/** Bans a user: removed like a kick, and cannot rejoin or be invited until unbanned (ROOM-19). */
export async function banMember(roomId: string, userId: string): Promise<void> {
  await active().model.ban(roomId, userId);
}

export async function unbanUser(roomId: string, userId: string): Promise<void> {
  await active().model.unban(roomId, userId);
}

export function bansOf(roomId: string): ReturnType<ChatModel["bans"]> {
  return active().model.bans(roomId);
}

/** Refuses this person's invitations from now on (ACCT-6); they are not told. */
export async function blockUser(userId: string): Promise<void> {
  await active().model.block(userId);
}

export async function unblockUser(userId: string): Promise<void> {
  await active().model.unblock(userId);
}

export function blockedUsers(): ReturnType<ChatModel["blocked"]> {
  return active().model.blocked();
}

/** ACCT-1: this account's sessions, this one marked `current`. */
export function accountSessions(): Promise<SessionView[]> {
  return active().client.sessions();
}

/** ACCT-2: ends another session (or this one) of the account. */
export async function endSession(sessionId: string): Promise<void> {
  await active().client.endSession(sessionId);
}

/**
 * ACCT-3: deletes the account (the password confirms it), erases what this browser kept for
 * it, and signs out with a message that says what was deleted.
 */
export async function deleteAccount(password: string): Promise<void> {
  const s = active();
  const deleted = await s.client.deleteAccount(password);
  session = undefined;
  s.detach();
  s.model.dispose();
  await s.client.close();
  await eraseAccount(s.account);
  await setSetting(LAST_ACCOUNT, undefined);
  chat.value = emptyChatSnapshot({ state: "offline", reason: "account_deleted" });
  selectedRoom.value = undefined;
  route.value = "signin";
  notice.value = `Your account ${s.account} was deleted: you left ${deleted.rooms} conversation${deleted.rooms === 1 ? "" : "s"}, and your ${deleted.devices} device${deleted.devices === 1 ? "" : "s"}, keys, files and sessions were deleted from the server. Its history was erased from this browser.`;
}

/** Deletes a room for everyone (its owner, ROOM-18). */
export async function deleteRoom(roomId: string): Promise<void> {
  await active().model.deleteRoom(roomId);
  if (selectedRoom.value === roomId) selectedRoom.value = undefined;
}

/** Changes the password (AUTH-8); every other session of the account ends. */
export async function changePassword(currentPassword: string, newPassword: string): Promise<void> {
  await active().model.changePassword(currentPassword, newPassword);
}

/** AUTH-12: ten new recovery codes (shown once); the old set stops working. */
export function createRecoveryCodes(password: string): Promise<string[]> {
  return active().model.createRecoveryCodes(password);
}

/** AUTH-12: how many unused recovery codes the account has left. */
export function recoveryCodesLeft(): Promise<number> {
  return active().model.recoveryCodesLeft();
}

/** The admin API as the signed-in account (the server refuses anyone not an admin). */
export function adminApi(): AdminApi {
  return active().model.admin;
}

export async function leaveRoom(roomId: string): Promise<void> {
  await active().model.leave(roomId);
  if (selectedRoom.value === roomId) selectedRoom.value = undefined;
}

export async function inviteUser(roomId: string, username: string): Promise<void> {
  const { model } = active();
  const user = await model.findUser(username);
  if (user === undefined) throw new Error(`There is no user called ${username.trim()}.`);
  await model.invite(roomId, user.id);
}

export async function openDirect(userId: string): Promise<void> {
  const room = await active().model.openDirect(userId);
  selectRoom(room.id);
}

// ------------------------------------------------------------------------------- identity

/** The MLS cipher suite of a conversation's group (MLS-9), undefined while this device is not in it. */
export function roomSuite(roomId: string): Promise<MlsSuite | undefined> {
  return active().client.suite(roomId);
}

export function safetyNumber(userId: string): Promise<SafetyNumberResult> {
  return active().client.safetyNumber(userId);
}

export function markVerified(userId: string): Promise<void> {
  return active().model.markVerified(userId);
}

export function acceptKeyChange(userId: string): Promise<void> {
  return active().model.acceptKeyChange(userId);
}

// ------------------------------------------------------------------------------- devices and linking

/** On a browser without the identity: opens a link for another device of the person to join. */
export function startLink(): Promise<PendingLink> {
  return active().model.startLink();
}

/** The link is done: this browser has the identity and is connected. */
export function finishLink(): void {
  route.value = "app";
}

/** Makes a new identity (the password is checked again); every contact is warned. */
export async function resetIdentity(password: string): Promise<void> {
  await active().model.resetIdentity(password);
  route.value = "app";
}

/** On an existing device: joins the new device's link by its code or QR payload. */
export function linkDevice(codeOrQr: string): Promise<JoinedLink> {
  return active().model.linkDevice(codeOrQr);
}

export function devicesOf(userId: string): Promise<DeviceInfo[]> {
  return active().model.devices(userId);
}

/** The account of the session, while it has no connection yet (the link screen names it). */
export function sessionAccount(): string | undefined {
  return session?.account;
}

// ------------------------------------------------------------------------------- settings, sign-out

/** Keep everything, keep N days, or keep nothing (what was kept is deleted at once). */
export async function setRetention(next: HistoryRetention): Promise<void> {
  const s = session;
  retention.value = next;
  if (s === undefined) return;
  await setSetting(historySetting(s.account), formatRetention(next));
  if (next.keep === "none") {
    s.model.keepHistory(undefined);
    await s.history.clear();
  } else {
    s.history.maxAgeMs = maxAgeMs(next);
    s.model.keepHistory(s.history);
  }
}

/** Sets a conversation's disappearing-message timer for every member (seconds, 0 off). */
export function setDisappearing(roomId: string, seconds: number): Promise<void> {
  return active().model.setDisappearing(roomId, seconds);
}

/** Ends the session; with `erase`, also removes this account's keys and history from this browser. */
export async function signOut(erase: boolean): Promise<void> {
  const s = session;
  session = undefined;
  adminOpen.value = false;
  if (s !== undefined) {
    s.detach();
    s.model.dispose();
    try {
      await s.client.logout();
    } catch {
      // Signed out locally anyway; the server's session expires on its own.
    }
    await s.client.close();
    await s.history.flush();
    if (erase) await eraseAccount(s.account);
  }
  await setSetting(LAST_ACCOUNT, undefined);
  chat.value = emptyChatSnapshot({ state: "offline", reason: "signed_out" });
  selectedRoom.value = undefined;
  route.value = "signin";
}

const ENDED_ELSEWHERE: Record<string, string> = {
  session_ended:
    "This session was ended from another of your sessions (or by an admin). Sign in again to go on.",
  session_revoked:
    "This session has ended (your password was changed, or you signed out elsewhere). Sign in again to go on.",
  account_deleted: "This account was deleted.",
  account_disabled: "This account was disabled by an admin.",
};

/** The server ended this session: the page signs out and says why. */
async function endedElsewhere(reason: string): Promise<void> {
  const s = session;
  if (s === undefined) return;
  session = undefined;
  s.detach();
  s.model.dispose();
  await s.client.close();
  await s.history.flush();
  if (reason === "account_deleted") await eraseAccount(s.account);
  await setSetting(LAST_ACCOUNT, undefined);
  chat.value = emptyChatSnapshot({ state: "offline", reason });
  selectedRoom.value = undefined;
  route.value = "signin";
  notice.value = ENDED_ELSEWHERE[reason];
}

/**
 * IDENT-5: another device of this person removed this one. The SDK erased its keys; the page
 * erases the rest of what this browser kept for the account and says what happened.
 */
async function removedHere(): Promise<void> {
  const s = session;
  session = undefined;
  if (s !== undefined) {
    s.detach();
    s.model.dispose();
    await s.client.close();
    await eraseAccount(s.account);
  }
  await setSetting(LAST_ACCOUNT, undefined);
  chat.value = emptyChatSnapshot({ state: "offline", reason: "device_removed" });
  selectedRoom.value = undefined;
  route.value = "signin";
  notice.value =
    "This device was removed from your account by another of your devices. Its keys and history were erased here. Sign in and link it again to use it.";
}

/**
 * IDENT-5: removes another device of this person (the view asks the user to confirm first).
 * Its certificate is revoked, it leaves every conversation, and it is signed out and erased.
 */
export function removeDevice(deviceId: string): Promise<void> {
  return active().client.removeDevice(deviceId);
}
