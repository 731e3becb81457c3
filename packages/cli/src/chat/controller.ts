import {
  type ChatChange,
  type ChatMessage,
  ChatModel,
  DEFAULT_RETENTION,
  type DeviceStore,
  describeDisappearing,
  describePolicy,
  describePolicyChange,
  describeRetention,
  emptyChatSnapshot,
  excerpt,
  type FetchLike,
  fetchServerInfo,
  fetchServerPolicy,
  formatRetention,
  History,
  type HistoryRetention,
  type IdentityChange,
  isParleyClientError,
  keepsNoMessages,
  type MembershipEvent,
  type MessageChange,
  maxAgeMs,
  mentionsUser,
  type NotifyLevel,
  ParleyClient,
  type Person,
  type PolicyCheck,
  type PolicyPinStore,
  PolicyPins,
  parseDisappearing,
  parseRetention,
  reactionGroups,
  type SignInStep,
  type WebSocketConstructor,
} from "@parley/client";
import {
  assertNever,
  type InfoResponse,
  passwordRefusal,
  type RoomView,
  type UserView,
} from "@parley/protocol";
import { toString as qrToString } from "qrcode";
import { CliError } from "../cli-error.js";
import { printable } from "../printable.js";
import {
  dateTime,
  formatMessage,
  formatNotice,
  formatWarning,
  HELP_OVERVIEW_LINES,
  helpTopicLines,
  passwordRequirements,
  safetyNumberRows,
  suiteLine,
  TRUST_MARK,
} from "./format.js";
import { type ChatInput, HELP_TOPICS, parseInput } from "./input.js";

const NOTIFY_WORDS: Record<NotifyLevel, string> = {
  all: "every message rings the bell",
  mentions: "only mentions of you ring the bell",
  off: "muted, nothing rings the bell",
};

import { MessageNumbers } from "./numbers.js";
import { OwnMessages } from "./own-messages.js";
import type { Screen } from "./screen.js";
import { ChatState, type UserRef } from "./state.js";
import {
  createLocalSink,
  describeAttachment,
  destinationFor,
  formatBytes,
  openLocalFile,
  progressBar,
} from "./transfers.js";

export interface ChatControllerOptions {
  screen: Screen;
  /** The server's origin. */
  baseUrl: string;
  fetch: FetchLike;
  WebSocket: WebSocketConstructor;
  /** Opens the sealed device state of a user on this server (device-state.ts). */
  openStore: (username: string) => Promise<DeviceStore>;
  /** Deletes a user's device state on this server (keys and history); it must be closed. */
  eraseStore: (username: string) => Promise<void>;
  /** POLICY-2: where this server's policy pin is kept (policy-pin.ts); none: not checked. */
  policyPins?: PolicyPinStore;
  /** Who signed in last on this server, to resume their session at start. */
  lastUser: { get(): Promise<string | undefined>; set(username: string | undefined): Promise<void> };
  now?: () => number;
  /** Where `/get` saves a file when no path is given. Default process.cwd(). */
  cwd?: string;
}

/** Where the retention setting is kept: in the sealed device state, beside what it governs. */
const RETENTION_KEY = "settings/history";
/** The conversation open last, reopened when the session resumes. */
const OPEN_ROOM_KEY = "settings/open-conversation";
/** The newest messages shown on opening a conversation. */
const SHOWN_ON_OPEN = 20;
/** Public rooms per `/directory` page. */
const DIRECTORY_PAGE = 20;
/** Search hits printed at most (CHAT-6). */
const SEARCH_SHOWN = 20;
/** Messages shown before and after the one /goto opens at. */
const CONTEXT = 5;
/** The characters of a quoted message in a reply's line. */
const QUOTE_CHARS = 24;

/** A refusal the user caused and can fix; shown as one line, never fatal. */
class ChatError extends Error {}

/** Why a transfer failed, in words: the registry's message and code. */
function reason(e: unknown): string {
  return isParleyClientError(e) ? `${e.message} (${e.code})` : e instanceof Error ? e.message : String(e);
}

/**
 * The terminal client's logic: reads lines from the Screen, runs them as commands on one
 * ParleyClient and its ChatModel (one per signed-in user), and turns the model's changes into
 * lines. The model holds the chat (conversations, people, typing, messages); this class holds
 * only terminal concerns. Lines are handled one at a time, in order, so a question (a password,
 * "verified?") takes the next line.
 */
export class ChatController {
  readonly #o: ChatControllerOptions;
  readonly #screen: Screen;
  readonly #state = new ChatState(
    () => this.#model?.snapshot ?? EMPTY,
    (roomId) => this.#rememberOpen(roomId),
  );
  readonly #now: () => number;
  #client: ParleyClient | undefined;
  #model: ChatModel | undefined;
  #store: DeviceStore | undefined;
  #history: History | undefined;
  #retention: HistoryRetention = DEFAULT_RETENTION;
  #serverInfo: InfoResponse | undefined;
  #offline = false;
  #numbers = new MessageNumbers();
  #own = new OwnMessages(this.#numbers);
  /** Where `/more` goes on in the directory. */
  #directoryPage: { query: string | undefined; next: string } | undefined;
  #events: Promise<void> = Promise.resolve();
  /** Transfers shown: message key -> the last quarter printed (without a terminal, lines mark progress). */
  readonly #shown = new Map<string, number>();
  /** Uploads and downloads still running, so /quit can wait for them or say they stop. */
  readonly #running = new Set<Promise<void>>();

  constructor(options: ChatControllerOptions) {
    this.#o = options;
    this.#screen = options.screen;
    this.#now = options.now ?? (() => Date.now());
    this.#screen.onEdit = (line) => this.#edited(line);
  }

  /** Runs until /quit or the end of input; resolves with the exit status. */
  async run(): Promise<number> {
    this.#notice(`parley chat on ${this.#o.baseUrl}; /help lists the commands`);
    await this.#checkPolicy();
    await this.#resume();
    this.#updatePrompt();
    this.#screen.start();
    try {
      for (;;) {
        const line = await this.#screen.nextLine();
        if (line === undefined) break;
        const input = parseInput(line);
        if (input.kind === "quit") break;
        try {
          await this.#handle(input);
        } catch (e) {
          this.#fail(e);
        }
        this.#updatePrompt();
      }
    } finally {
      await this.#closeClient();
    }
    return 0;
  }

  #updatePrompt(): void {
    this.#screen.setPrompt(`${this.#progress()}${this.#state.prompt()}`);
  }

  /** The running transfers as the prompt shows them: "report.pdf [####----]  40% | ". */
  #progress(): string {
    const s = this.#model?.snapshot;
    if (s === undefined) return "";
    const parts: string[] = [];
    for (const [key, t] of Object.entries(s.transfers)) {
      if (t.state !== "running") continue;
      const name = s.messages[t.roomId]?.find((m) => m.key === key)?.attachment?.name ?? "file";
      parts.push(
        `${t.direction === "upload" ? "^" : "v"} ${name.slice(0, 24)} ${progressBar(t.done, t.total, 12)}`,
      );
    }
    return parts.length === 0 ? "" : `${parts.join(" | ")} | `;
  }

  /** Without a terminal there is no prompt to redraw: a line at each quarter of a transfer. */
  #printProgress(): void {
    const s = this.#model?.snapshot;
    if (s === undefined || this.#screen.interactive) return;
    for (const [key, t] of Object.entries(s.transfers)) {
      if (t.state !== "running" || t.total === 0) continue;
      const quarter = Math.floor((t.done / t.total) * 4);
      if (quarter <= (this.#shown.get(key) ?? -1) || quarter >= 4) continue;
      this.#shown.set(key, quarter);
      const name = s.messages[t.roomId]?.find((m) => m.key === key)?.attachment?.name ?? "file";
      this.#notice(
        `${t.direction === "upload" ? "sending" : "getting"} ${name} ${progressBar(t.done, t.total)}`,
      );
    }
  }

  /** The input line changed (a terminal only): say "typing" for a message, nothing for a command. */
  #edited(line: string): void {
    const room = this.#state.current;
    if (this.#model === undefined || room === undefined || line.trim() === "" || line.startsWith("/")) {
      this.#model?.stopTyping();
      return;
    }
    this.#model.typed(room.id);
  }

  // ------------------------------------------------------------------ commands

  async #handle(input: ChatInput): Promise<void> {
    switch (input.kind) {
      case "empty":
      case "quit":
        return;
      case "invalid":
        throw new ChatError(input.reason);
      case "help": {
        if (input.topic === undefined) {
          this.#screen.print(...HELP_OVERVIEW_LINES);
          return;
        }
        const lines = helpTopicLines(input.topic);
        if (lines === undefined)
          throw new ChatError(
            `no help topic "${input.topic}" (topics: ${HELP_TOPICS.map((t) => t.name).join(", ")}, all)`,
          );
        this.#screen.print(...lines);
        return;
      }
      case "say":
        return this.#say(input.text);
      case "register": {
        const policy = await this.#passwordPolicy();
        if (policy !== undefined) this.#notice(passwordRequirements(policy));
        const password = await this.#secret(`Password for ${input.user}: `);
        const again = await this.#secret("The same password again: ");
        if (password !== again) throw new ChatError("the two passwords differ; nothing was registered");
        try {
          return await this.#signIn(input.user, (c) => c.register(input.user, password, input.inviteCode));
        } catch (e) {
          if (!isParleyClientError(e, "password_policy")) throw e;
          throw new ChatError(`${passwordRefusal(e.failedRules ?? [], policy)} Nothing was registered.`);
        }
      }
      case "login": {
        const password = await this.#secret(`Password for ${input.user}: `);
        return this.#signIn(input.user, async (c) => {
          const step = await c.signIn(input.user, password);
          return step.done ? step.user : this.#secondStep(c, step);
        });
      }
      case "2fa":
        return this.#twoFactor(input.action);
      case "server":
        return this.#server(input.accept);
      case "logout":
        return this.#logout();
      case "rooms":
        return this.#rooms();
      case "create": {
        const passphrase = input.passphrase
          ? await this.#secret("Passphrase to join the room (not shown): ", "no passphrase given")
          : undefined;
        const room = await this.#chat().createRoom(input.name, {
          isPublic: input.isPublic,
          ...(input.maxMembers !== undefined ? { maxMembers: input.maxMembers } : {}),
          ...(passphrase !== undefined ? { passphrase } : {}),
        });
        this.#state.setCurrent(room.id);
        this.#notice(
          room.isPublic
            ? `created ${this.#state.label(room.id)} (id ${room.id}), public: listed in /directory, others join with /join ${room.id}`
            : `created ${this.#state.label(room.id)} (id ${room.id}), private: only people you /invite can join`,
        );
        return this.#showKept(room.id);
      }
      case "join":
        return this.#join(input.roomId);
      case "directory":
        return this.#directory(input.query, undefined);
      case "more": {
        const page = this.#directoryPage;
        if (page === undefined) throw new ChatError("no more public rooms to show: /directory [text] first");
        return this.#directory(page.query, page.next);
      }
      case "invites":
        return this.#invites();
      case "accept": {
        const invitation = await this.#invitation(input.room);
        const room = await this.#chat().acceptInvitation(invitation.room.id);
        this.#state.setCurrent(room.id);
        this.#notice(`joined ${this.#state.label(room.id)} (${room.id})`);
        return this.#showKept(room.id);
      }
      case "decline": {
        const invitation = await this.#invitation(input.room);
        await this.#chat().declineInvitation(invitation.room.id);
        this.#notice(
          `declined ${invitation.by.username}'s invitation to #${printable(invitation.room.name)}`,
        );
        return;
      }
      case "kick": {
        const room = this.#currentRoom();
        const user = await this.#user(input.user);
        await this.#chat().remove(room.id, user.id);
        return;
      }
      case "ban": {
        const room = this.#currentRoom();
        const user = await this.#user(input.user);
        await this.#chat().ban(room.id, user.id);
        return;
      }
      case "unban": {
        const room = this.#currentRoom();
        const user = await this.#user(input.user);
        await this.#chat().unban(room.id, user.id);
        return;
      }
      case "bans": {
        const room = this.#currentRoom();
        const bans = await this.#chat().bans(room.id);
        this.#screen.print(
          `banned from ${this.#state.label(room.id)} (${bans.length}):`,
          ...bans.map(
            (b) => `  ${b.user.username}${b.by !== null ? ` by ${b.by.username}` : ""}, ${dateTime(b.ts)}`,
          ),
        );
        return;
      }
      case "block": {
        const user = await this.#user(input.user);
        await this.#chat().block(user.id);
        this.#notice(`blocked ${user.username}: their invitations will not reach you (they are not told)`);
        return;
      }
      case "unblock": {
        const user = await this.#user(input.user);
        await this.#chat().unblock(user.id);
        this.#notice(`unblocked ${user.username}`);
        return;
      }
      case "blocks": {
        const list = await this.#chat().blocked();
        this.#screen.print(
          `blocked (${list.length}):`,
          ...list.map((b) => `  ${b.username}, since ${dateTime(b.since)}`),
        );
        return;
      }
      case "sessions":
        return this.#sessions();
      case "session-end":
        return this.#endSession(input.n);
      case "delete-account":
        return this.#deleteAccount();
      case "mod": {
        const room = this.#currentRoom();
        const user = await this.#user(input.user);
        await this.#chat().setRole(room.id, user.id, input.role);
        return;
      }
      case "rename":
        await this.#chat().updateRoom(this.#currentRoom().id, { name: input.name });
        return;
      case "topic":
        await this.#chat().updateRoom(this.#currentRoom().id, { topic: input.topic });
        return;
      case "privacy":
        await this.#chat().updateRoom(this.#currentRoom().id, { isPublic: input.isPublic });
        return;
      case "cap":
        await this.#chat().updateRoom(this.#currentRoom().id, { maxMembers: input.maxMembers });
        return;
      case "passphrase": {
        const room = this.#currentRoom();
        const passphrase = input.on
          ? await this.#secret("New passphrase to join the room (not shown): ", "no passphrase given")
          : null;
        await this.#chat().updateRoom(room.id, { passphrase });
        return;
      }
      case "settings":
        return this.#settings();
      case "delete-room": {
        const room = this.#currentRoom();
        if (input.confirm !== room.name)
          throw new ChatError(`type the room's name to delete it for everyone: /delete-room ${room.name}`);
        const label = this.#state.label(room.id);
        await this.#chat().deleteRoom(room.id);
        this.#notice(`deleted ${label} for everyone`);
        return;
      }
      case "password":
        return this.#changePassword();
      case "recovery-codes":
        return this.#recoveryCodes();
      case "leave": {
        const room = this.#currentRoom();
        const label = this.#state.label(room.id);
        await this.#chat().leave(room.id);
        this.#notice(`left ${label}`);
        return;
      }
      case "switch": {
        const found = this.#state.resolve(input.target);
        if ("error" in found) throw new ChatError(found.error);
        this.#state.setCurrent(found.roomId);
        this.#notice(`now talking in ${this.#state.label(found.roomId)}`);
        return this.#showKept(found.roomId);
      }
      case "invite": {
        const room = this.#currentRoom();
        const user = await this.#user(input.user);
        await this.#chat().invite(room.id, user.id);
        this.#notice(`invited ${user.username} to ${this.#state.label(room.id)}`);
        return;
      }
      case "msg":
        return this.#direct(input.user, input.text);
      case "who":
        return this.#who();
      case "subscribe": {
        const user = await this.#user(input.user);
        await this.#chat().follow(user.id);
        await this.#chat().refreshPeople();
        const online = this.#chat().snapshot.people.find((u) => u.id === user.id)?.online;
        this.#notice(
          `following ${user.username} (${online ? "online" : "offline"} now); you will see when they come and go, and the public rooms they post in`,
        );
        return;
      }
      case "unsubscribe": {
        const user = await this.#user(input.user);
        await this.#chat().unfollow(user.id);
        this.#notice(`no longer following ${user.username}`);
        return;
      }
      case "verify":
        return this.#verify(input.user);
      case "link":
        return this.#link(input.code);
      case "history":
        return this.#historySetting(input.setting);
      case "disappear":
        return this.#disappear(input.setting);
      case "receipts":
        return this.#receipts(input.setting);
      case "notify":
        return this.#notify(input.level);
      case "devices":
        return this.#devices(input.user);
      case "device-remove":
        return this.#removeDevice(input.n);
      case "reset-identity":
        return this.#resetIdentity();
      case "info":
        return this.#info(input.n);
      case "reply":
        return this.#reply(input.n, input.text);
      case "react": {
        const m = this.#numbered(input.n);
        return this.#chat().react(m.roomId, m, input.emoji);
      }
      case "edit": {
        const m = this.#numbered(input.n);
        return this.#chat().edit(m.roomId, m, input.text);
      }
      case "delete": {
        const m = this.#numbered(input.n);
        return this.#chat().deleteForEveryone(m.roomId, m);
      }
      case "search":
        return this.#search(input.query);
      case "goto":
        return this.#goto(input.n);
      case "send":
        return this.#sendFile(input.path);
      case "get":
        return this.#getFile(input.n, input.path);
      case "files":
        return this.#files();
      default:
        return assertNever(input);
    }
  }

  async #say(text: string): Promise<void> {
    const model = this.#chat();
    const room = this.#state.current;
    if (room === undefined)
      throw new ChatError("no conversation open: /join, /create, /switch or /msg first");
    const sent = await model.send(room.id, text);
    this.#screen.print(`${this.#line(sent, undefined)} ${this.#own.sent(sent)}`);
  }

  /** CHAT-1: a reply to message #n, in that message's conversation. */
  async #reply(n: number, text: string): Promise<void> {
    const target = this.#numbered(n);
    const sent = await this.#chat().send(target.roomId, text, { replyTo: target });
    const where = this.#state.current?.id === target.roomId ? undefined : this.#state.label(target.roomId);
    this.#screen.print(`${this.#line(sent, where)} ${this.#own.sent(sent)}`);
  }

  /**
   * `/send <path>`: refused at once when the server would refuse it (off, too large, a refused
   * type); otherwise encrypted and uploaded in the background with a progress bar, and its
   * line printed once sent.
   */
  async #sendFile(path: string): Promise<void> {
    const model = this.#chat();
    const room = this.#state.current;
    if (room === undefined)
      throw new ChatError("no conversation open: /join, /create, /switch or /msg first");
    let file: Awaited<ReturnType<typeof openLocalFile>>;
    try {
      file = await openLocalFile(path);
    } catch (e) {
      throw new ChatError(`cannot read ${path}: ${(e as { code?: string }).code ?? (e as Error).message}`);
    }
    const refusal = await this.#refusal(file.source.size, file.type);
    if (refusal !== undefined) {
      await file.close();
      throw new ChatError(refusal);
    }
    this.#notice(`sending ${file.name} (${formatBytes(file.source.size)}, ${file.type})`);
    this.#background(
      model
        .sendFile(room.id, file.source, { name: file.name, type: file.type })
        .then(
          (sent) => {
            const where =
              this.#state.current?.id === sent.roomId ? undefined : this.#state.label(sent.roomId);
            this.#screen.print(`${this.#line(sent, where)} ${this.#own.sent(sent)}`);
          },
          (e: unknown) => this.#warn(`${file.name} was not sent: ${reason(e)}`),
        )
        .finally(() => file.close()),
    );
  }

  /** Why the server would refuse a file, in words; undefined when it would take it. */
  async #refusal(size: number, type: string): Promise<string | undefined> {
    const limits = await this.#chat().fileLimits();
    if (!limits.enabled) return "this server does not take files (PARLEY_FILES=off)";
    if (size > limits.maxBytes)
      return `the file is ${formatBytes(size)}; this server takes files up to ${formatBytes(limits.maxBytes)}`;
    try {
      await this.#client?.checkFile({ size, type });
    } catch {
      return `this server does not take ${type} files (it takes ${limits.types.join(", ")})`;
    }
    return undefined;
  }

  /** `/get <n> [path]`: downloads, checks and saves message #n's file in the background. */
  async #getFile(n: number, target: string | undefined): Promise<void> {
    const m = this.#numbered(n);
    const a = m.attachment;
    if (a === undefined) throw new ChatError(`#${n} has no file`);
    if (a.file === undefined)
      throw new ChatError(
        a.opened === true ? `#${n} was view once and is opened` : `#${n} is still being sent`,
      );
    let path: string;
    try {
      path = await destinationFor(a.name, target, this.#o.cwd ?? process.cwd());
    } catch (e) {
      throw new ChatError((e as Error).message);
    }
    const sink = await createLocalSink(path);
    this.#notice(`getting ${a.name} (${formatBytes(a.size)}) from ${m.fromName}`);
    this.#background(
      this.#chat()
        .download(m.key, sink)
        .then(
          async () => {
            await sink.finish();
            this.#notice(
              `saved ${a.name} to ${path}${a.viewOnce === true ? " (view once: now gone from your devices)" : ""}`,
            );
          },
          async (e: unknown) => {
            await sink.abort();
            this.#warn(`${a.name} was not saved: ${reason(e)}`);
          },
        ),
    );
  }

  /** `/files`: the files of the current conversation (or all), with number, size and sender. */
  #files(): void {
    const s = this.#chat().snapshot;
    const room = this.#state.current;
    const lists = room === undefined ? Object.values(s.messages) : [s.messages[room.id] ?? []];
    const files = lists.flat().filter((m) => m.attachment !== undefined);
    if (files.length === 0) {
      this.#notice(
        room === undefined ? "no files on this device" : `no files in ${this.#state.label(room.id)}`,
      );
      return;
    }
    for (const m of files) {
      const a = m.attachment!;
      const left =
        a.expiresAt === undefined
          ? ""
          : a.expiresAt <= this.#now()
            ? ", expired"
            : `, until ${dateTime(a.expiresAt).slice(0, 16)}`;
      this.#screen.print(`#${this.#numbers.of(m)} ${describeAttachment(a)} from ${m.fromName}${left}`);
    }
  }

  #background(work: Promise<void>): void {
    const p = work.finally(() => {
      this.#running.delete(p);
      this.#updatePrompt();
    });
    this.#running.add(p);
  }

  /** Message #n as the model has it now. */
  #numbered(n: number): ChatMessage {
    const at = this.#numbers.find(n);
    const m = at === undefined ? undefined : this.#chat().message(at.roomId, at);
    if (m === undefined) throw new ChatError(`no message #${n} on screen in this session`);
    if (m.deleted === true) throw new ChatError(`#${n} was deleted`);
    return m;
  }

  /** CHAT-6: messages on this device with every word, newest last (nearest the prompt). */
  #search(query: string): void {
    const hits = this.#chat().search(query, { limit: SEARCH_SHOWN });
    if (hits.length === 0) {
      this.#notice(`no message on this device has "${query}" (search is local: this device's history only)`);
      return;
    }
    this.#notice(
      `${hits.length}${hits.length === SEARCH_SHOWN ? "+" : ""} found on this device for "${query}"; /goto <n> opens one in its conversation`,
    );
    for (const m of [...hits].reverse()) {
      const line = `${this.#line(m, this.#state.label(m.roomId))} #${this.#numbers.of(m)}`;
      this.#screen.print(`${dateTime(m.ts).slice(0, 10)} ${line}`);
    }
  }

  /** CHAT-6: opens message #n's conversation at that message, with the messages around it. */
  #goto(n: number): void {
    const at = this.#numbers.find(n);
    const list = at === undefined ? [] : (this.#chat().snapshot.messages[at.roomId] ?? []);
    const i = at === undefined ? -1 : list.findIndex((m) => m.key === at.key && m.fromId === at.fromId);
    if (at === undefined || i < 0) throw new ChatError(`no message #${n} on screen in this session`);
    this.#state.setCurrent(at.roomId);
    this.#chat().markRead(at.roomId);
    this.#notice(`now talking in ${this.#state.label(at.roomId)}, at #${n}:`);
    for (const m of list.slice(Math.max(0, i - CONTEXT), i + CONTEXT + 1)) this.#printMessage(m, true);
  }

  /** RCPT-2: who has one of this session's messages, device by device. */
  async #info(n: number): Promise<void> {
    const model = this.#chat();
    const mine = this.#own.find(n);
    const m =
      mine === undefined ? undefined : model.snapshot.messages[mine.roomId]?.find((x) => x.key === mine.key);
    const info = m === undefined ? undefined : model.deliveryInfo(m.key);
    if (m === undefined || info === undefined)
      throw new ChatError(`no message #${n} of yours in this session`);
    const server = await this.#serverInfoOnce();
    this.#screen.print(...OwnMessages.describe(n, m.text, info, keepsNoMessages(server)));
  }

  async #direct(name: string, text: string): Promise<void> {
    const model = this.#chat();
    const user = await this.#user(name);
    const room = await model.openDirect(user.id);
    const sent = await model.send(room.id, text);
    const where = this.#state.current?.id === room.id ? undefined : `-> ${this.#state.label(room.id)}`;
    this.#screen.print(`${this.#line(sent, where)} ${this.#own.sent(sent)}`);
  }

  /** On opening a conversation: its newest kept messages, or what this device and the server keep. */
  async #showKept(roomId: string): Promise<void> {
    const model = this.#chat();
    model.markRead(roomId);
    const list = model.snapshot.messages[roomId] ?? [];
    const shown = list.slice(-SHOWN_ON_OPEN);
    if (list.length > shown.length) this.#notice(`${list.length - shown.length} earlier messages kept`);
    // Device lines about the room's members (kept with the history) among the messages shown.
    const inRoom = new Set((model.snapshot.members[roomId] ?? []).map((m) => m.userId));
    const since = shown[0]?.ts ?? 0;
    const notes = model.snapshot.deviceNotes.filter((d) => inRoom.has(d.userId) && d.at >= since);
    let next = 0;
    const printNotesUntil = async (ts: number) => {
      for (; next < notes.length && (notes[next]?.at ?? 0) < ts; next++) {
        const d = notes[next];
        if (d !== undefined)
          this.#screen.printAs(
            "notice",
            formatNotice(d.at, `${await this.#personName(model, d.userId)} ${d.kind} a device`),
          );
      }
    };
    for (const m of shown) {
      await printNotesUntil(m.ts);
      this.#printMessage(m, true);
    }
    await printNotesUntil(Number.POSITIVE_INFINITY);
    if (this.#retention.keep === "none") this.#notice("This device keeps no history (see /history)");
    if (list.length === 0 && (await this.#serverInfoOnce())?.storage.messages === "none") {
      this.#notice(
        "This server keeps no messages: a message reaches a teammate's device only while it, or one of you, is online",
      );
    }
    const timer = model.snapshot.disappearing[roomId];
    if (timer !== undefined) this.#notice(`disappearing messages: ${describeDisappearing(timer)}`);
  }

  async #historySetting(setting: string | undefined): Promise<void> {
    const model = this.#chat();
    const store = this.#store;
    const history = this.#history;
    if (store === undefined || history === undefined) throw new ChatError("not signed in");
    if (setting === undefined) {
      this.#notice(`${describeRetention(this.#retention)} (/history all|1d|7d|30d|90d|none)`);
      return;
    }
    const next = parseRetention(setting);
    if (next === undefined) throw new ChatError("usage: /history [all|1d|7d|30d|90d|none]");
    await store.put(RETENTION_KEY, new TextEncoder().encode(formatRetention(next)));
    this.#retention = next;
    if (next.keep === "none") {
      model.keepHistory(undefined);
      await history.clear();
    } else {
      history.maxAgeMs = maxAgeMs(next);
      model.keepHistory(history);
      await history.flush();
    }
    this.#notice(describeRetention(next));
  }

  async #receipts(setting: "on" | "off" | undefined): Promise<void> {
    const model = this.#chat();
    if (setting !== undefined) await model.setReadReceipts(setting === "on");
    this.#notice(
      model.readReceipts
        ? "read receipts: on (others see when you read their messages, you see when they read yours)"
        : "read receipts: off (nobody sees when you read, and you see nobody's)",
    );
  }

  /** A conversation's name, with its unread count when it has one: "ops (3)". */
  #withUnread(roomId: string): string {
    const n = this.#chat().snapshot.unread[roomId] ?? 0;
    return n > 0 ? `${this.#state.label(roomId)} (${n})` : this.#state.label(roomId);
  }

  /** Issue 18.5: the current conversation's notification level on this device. */
  #notify(level: NotifyLevel | undefined): void {
    const room = this.#currentRoom();
    const model = this.#chat();
    if (level !== undefined) model.setNotifyLevel(room.id, level);
    const now = model.notifyLevel(room.id);
    this.#notice(
      `notifications in ${this.#state.label(room.id)}: ${NOTIFY_WORDS[now]}${level === undefined ? " (/notify all|mentions|off)" : ""}`,
    );
  }

  async #disappear(setting: string | undefined): Promise<void> {
    const room = this.#currentRoom();
    const model = this.#chat();
    if (setting === undefined) {
      const now = describeDisappearing(model.snapshot.disappearing[room.id] ?? 0);
      this.#notice(
        `disappearing messages in ${this.#state.label(room.id)}: ${now} (/disappear off|1h|1d|1w)`,
      );
      return;
    }
    const seconds = parseDisappearing(setting);
    if (seconds === undefined) throw new ChatError("usage: /disappear [off|1h|1d|1w]");
    await model.setDisappearing(room.id, seconds);
    this.#notice(
      seconds === 0
        ? "you turned off disappearing messages"
        : `you set disappearing messages to ${describeDisappearing(seconds)}`,
    );
  }

  async #rooms(): Promise<void> {
    await this.#chat().refresh();
    const rooms = this.#state.rooms();
    if (rooms.length === 0) {
      this.#notice("no rooms yet: /create <name>, /directory, /join <room> or /msg <user> <text>");
      return;
    }
    const current = this.#state.current?.id;
    const model = this.#chat();
    const unread = model.snapshot.unread;
    this.#screen.print(
      ...rooms.map((r) => {
        const kind = r.kind === "direct" ? "direct" : r.isPublic ? "public room" : "private room";
        const n = unread[r.id] ?? 0;
        const count = n > 0 ? `  ${n} unread` : "";
        const muted = model.notifyLevel(r.id) === "off" ? ", muted" : "";
        return `${r.id === current ? "*" : " "} ${this.#state.label(r.id).padEnd(24)} ${r.id}  ${kind}${muted}${count}`;
      }),
      ...model.snapshot.followedPosts.map(
        (p) =>
          `  ${p.by.username} (followed) posted ${p.count === 1 ? "once" : `${p.count} times`} in public room ${p.roomId}: /join ${p.roomId}`,
      ),
    );
  }

  /** `/join`: by id or a public room's name; asks for the passphrase when the room wants one (ROOM-15). */
  async #join(target: string): Promise<void> {
    const model = this.#chat();
    let room: RoomView;
    try {
      room = await model.join(target);
    } catch (e) {
      if (!isParleyClientError(e, "passphrase_required")) throw e;
      const passphrase = await this.#secret(
        "This room has a passphrase (not shown): ",
        "no passphrase given",
      );
      room = await model.join(target, passphrase);
    }
    this.#state.setCurrent(room.id);
    this.#notice(`joined ${this.#state.label(room.id)} (${room.id})`);
    return this.#showKept(room.id);
  }

  /** ROOM-11: one page of the public rooms, with member counts and topics. */
  async #directory(query: string | undefined, after: string | undefined): Promise<void> {
    const page = await this.#chat().discover({
      limit: DIRECTORY_PAGE,
      ...(query !== undefined ? { query } : {}),
      ...(after !== undefined ? { after } : {}),
    });
    this.#directoryPage = page.next !== undefined ? { query, next: page.next } : undefined;
    if (page.rooms.length === 0) {
      this.#notice(
        after === undefined
          ? "no public rooms" + (query ? ` named like "${printable(query)}"` : "")
          : "no more public rooms",
      );
      return;
    }
    const mine = new Set(this.#chat().snapshot.rooms.map((r) => r.id));
    this.#screen.print(
      ...page.rooms.map((r) => {
        const members = `${r.memberCount ?? 0}${r.maxMembers !== undefined ? `/${r.maxMembers}` : ""} members`;
        const flags = [mine.has(r.id) ? "joined" : "", r.hasPassphrase ? "passphrase" : ""]
          .filter(Boolean)
          .join(", ");
        const topic = r.topic ? `  ${printable(r.topic)}` : "";
        return `  #${printable(r.name).padEnd(22)} ${r.id}  ${members.padEnd(12)}${flags ? ` (${flags})` : ""}${topic}`;
      }),
      page.next !== undefined ? "  (more: /more)" : "  (/join <name or id>)",
    );
  }

  /** ROOM-17: the invitations waiting for this user. */
  async #invites(): Promise<void> {
    const model = this.#chat();
    await model.loadInvitations();
    const list = model.snapshot.invitations;
    if (list.length === 0) {
      this.#notice("no invitations waiting");
      return;
    }
    this.#screen.print(
      ...list.map((i) => `  #${printable(i.room.name).padEnd(22)} ${i.room.id}  from ${i.by.username}`),
      "  (/accept <room> or /decline <room>)",
    );
  }

  /** A waiting invitation by room id or name. */
  async #invitation(target: string) {
    const model = this.#chat();
    await model.loadInvitations();
    const key = target.replace(/^#/, "").toLowerCase();
    const found = model.snapshot.invitations.filter(
      (i) => i.room.id.toLowerCase() === key || i.room.name.toLowerCase() === key,
    );
    if (found.length === 0) throw new ChatError(`no invitation to ${target} (see /invites)`);
    if (found.length > 1)
      throw new ChatError(`several invitations to rooms named ${target}: use the room's id`);
    return found[0]!;
  }

  /** The current room's settings and this user's role in it. */
  async #settings(): Promise<void> {
    const model = this.#chat();
    const room = this.#currentRoom();
    await model.loadMembers(room.id);
    const me = this.#me();
    const role = model.snapshot.members[room.id]?.find((m) => m.userId === me.id)?.role ?? "member";
    this.#screen.print(
      `${this.#state.label(room.id)} (${room.id})`,
      `  topic:      ${room.topic ? printable(room.topic) : "none"}`,
      `  privacy:    ${room.isPublic ? "public: listed, anyone may join" : "private: by invitation only"}`,
      `  cap:        ${room.maxMembers !== undefined ? `${room.maxMembers} members` : "none"}`,
      `  passphrase: ${room.hasPassphrase ? "set" : "none"}`,
      `  your role:  ${role}`,
    );
  }

  /** AUTH-8: a new password; the account's other sessions end, this one stays. */
  async #changePassword(): Promise<void> {
    const client = this.#need();
    const current = await this.#secret("Current password: ");
    const policy = await this.#passwordPolicy();
    if (policy !== undefined) this.#notice(passwordRequirements(policy));
    const next = await this.#secret("New password: ");
    const again = await this.#secret("The same new password again: ");
    if (next !== again) throw new ChatError("the two new passwords differ; the password is unchanged");
    try {
      await client.changePassword(current, next);
    } catch (e) {
      if (!isParleyClientError(e, "password_policy")) throw e;
      throw new ChatError(`${passwordRefusal(e.failedRules ?? [], policy)} The password is unchanged.`);
    }
    this.#notice("password changed; your other sessions have ended");
  }

  /**
   * AUTH-12: ten new recovery codes, printed once for the person to write down or print; the
   * unused codes of the earlier set stop working.
   */
  async #recoveryCodes(): Promise<void> {
    const password = await this.#secret("Password: ");
    const codes = await this.#chat().createRecoveryCodes(password);
    this.#notice("your new recovery codes, shown only now; your earlier codes no longer work:");
    this.#screen.print(
      ...codes.map((c, i) => `  ${String(i + 1).padStart(2)}. ${printable(c)}`),
      '  each works once, with "parley reset-password" or "Forgot password?" in a browser',
    );
  }

  async #who(): Promise<void> {
    const model = this.#chat();
    await model.refreshPeople();
    const online = model.snapshot.people.filter((u) => u.online);
    this.#screen.print(`online (${online.length}): ${online.map((u) => u.username).join(", ") || "nobody"}`);
    const room = this.#state.current;
    if (room === undefined) return;
    await model.loadMembers(room.id);
    const { members: all, trust } = model.snapshot;
    const members = all[room.id] ?? [];
    const me = this.#me();
    const rows: string[] = [];
    for (const m of members) {
      const mark = m.userId === me.id ? " " : TRUST_MARK[trust[m.userId] ?? "unverified"];
      const role = m.role === "member" ? "" : ` (${m.role})`;
      rows.push(`  ${mark} ${m.username}${role}${m.online ? "" : "  offline"}`);
    }
    this.#screen.print(
      `members of ${this.#state.label(room.id)} (${members.length}):`,
      ...rows,
      suiteLine(await this.#need().suite(room.id)),
    );
  }

  /** The existing device's side of linking (IDENT-3): join, compare the SAS, send the identity. */
  async #link(code: string): Promise<void> {
    const client = this.#need();
    const joined = await client.linkDevice(code);
    this.#screen.print(
      `A new device (${joined.deviceId}) asks for your identity. It will read all your new conversations and send as you.`,
      `Code on this screen: ${joined.sas}`,
    );
    const answer = await this.#screen.ask(`Does the new device show ${joined.sas}? [y/N]`);
    if (answer !== undefined && /^\s*y(es)?\s*$/i.test(answer)) {
      await joined.confirm();
      this.#notice("identity sent to the new device");
    } else {
      await joined.cancel();
      this.#notice("link cancelled");
    }
  }

  /** A person's devices as their identity key certifies them (issue 14), oldest first. */
  async #devices(name: string | undefined): Promise<void> {
    const client = this.#need();
    const me = this.#me();
    const user = name === undefined ? me : await this.#user(name);
    const list = [...(await client.devices(user.id))].sort((a, b) => a.createdAt - b.createdAt);
    this.#screen.print(
      `${user.id === me.id ? "your devices" : `devices of ${user.username}`} (${list.length}):`,
      ...list.map(
        (d, i) => `  ${i + 1}. added ${dateTime(d.createdAt)}${d.current ? "  (this device)" : ""}`,
      ),
    );
  }

  /** IDENT-5: removes your device number `n` (as /devices lists them), after a warning and a yes. */
  async #removeDevice(n: number): Promise<void> {
    const client = this.#need();
    const list = [...(await client.devices(this.#me().id))].sort((a, b) => a.createdAt - b.createdAt);
    const device = list[n - 1];
    if (device === undefined) throw new ChatError(`you have no device ${n}: see /devices`);
    if (device.current) throw new ChatError("that is this device: remove it from another one, or /logout");
    this.#screen.print(
      `Device ${n} (added ${dateTime(device.createdAt)}) will be signed out, erase your keys and history on it, and leave every conversation. This cannot be undone: to use it again, link it anew.`,
    );
    const answer = await this.#screen.ask(`Remove device ${n}? [y/N]`);
    if (answer === undefined || !/^\s*y(es)?\s*$/i.test(answer)) {
      this.#notice("device kept");
      return;
    }
    await client.removeDevice(device.deviceId);
    this.#notice(`device ${n} removed: it is signed out and out of every conversation`);
  }

  /** ACCT-1: where the account is signed in, numbered for `/sessions end <n>`. */
  async #sessions(): Promise<void> {
    const list = await this.#need().sessions();
    this.#screen.print(
      `your sessions (${list.length}):`,
      ...list.map(
        (s, i) =>
          `  ${i + 1}. ${sessionDevice(s.userAgent)} from ${s.ip ?? "?"}, signed in ${dateTime(s.createdAt)}, last seen ${s.lastSeenAt === null ? "never" : dateTime(s.lastSeenAt)}${s.current ? "  (this session)" : ""}`,
      ),
    );
  }

  /** ACCT-2: ends session number `n` of /sessions. */
  async #endSession(n: number): Promise<void> {
    const client = this.#need();
    const s = (await client.sessions())[n - 1];
    if (s === undefined) throw new ChatError(`you have no session ${n}: see /sessions`);
    if (s.current) throw new ChatError("that is this session: /logout to end it");
    await client.endSession(s.id);
    this.#notice(`session ${n} ended: it is signed out`);
  }

  /** ACCT-3: deletes the account after a warning, the password and the account's name typed out. */
  async #deleteAccount(): Promise<void> {
    const client = this.#need();
    const name = this.#me().username;
    this.#screen.print(
      "Deleting your account removes you from every room and conversation and deletes your devices, keys, files and sessions on the server. It cannot be undone, and the name cannot be registered again.",
    );
    const answer = await this.#screen.ask(`Type your username (${name}) to delete the account:`);
    if (answer?.trim() !== name) {
      this.#notice("account kept");
      return;
    }
    const password = await this.#secret("password (to delete your account): ");
    const deleted = await client.deleteAccount(password);
    await this.#closeClient();
    await this.#o.lastUser.set(undefined);
    await this.#o.eraseStore(name);
    this.#notice(
      `account ${name} deleted: you left ${deleted.rooms} conversation(s); ${deleted.devices} device(s), your keys, ${deleted.files} file(s) and ${deleted.sessions} session(s) were deleted on the server, and this device's keys and history erased`,
    );
  }

  /** New identity keys for this person, after a warning, a yes and the password. */
  async #resetIdentity(): Promise<void> {
    const client = this.#need();
    this.#screen.print(
      "A reset makes new identity keys. Everyone you talk to is told your identity changed (those who verified you must verify you again), and your other devices are signed out.",
    );
    const answer = await this.#screen.ask("Reset your identity? [y/N]");
    if (answer === undefined || !/^\s*y(es)?\s*$/i.test(answer)) {
      this.#notice("identity left as it was");
      return;
    }
    const password = await this.#secret("password (to reset your identity):");
    await client.resetIdentity(password);
    this.#notice("identity reset: new keys made; your other devices were signed out");
  }

  /**
   * A sign-in on a terminal without the account's identity key: link it from another device,
   * or reset the identity (contacts are warned). Nothing is created silently.
   */
  async #linkOrReset(client: ParleyClient): Promise<void> {
    const choice = await this.#screen.ask(
      "This account has an identity on another device. [l]ink this terminal from it, or [r]eset your identity (your contacts will be warned)? [l/r]",
    );
    if (choice !== undefined && /^\s*r(eset)?\s*$/i.test(choice)) {
      const password = await this.#secret("password (to reset your identity):");
      await client.resetIdentity(password);
      this.#notice("identity reset: new keys made; your other devices were signed out");
      return;
    }
    const pending = await client.startLink();
    this.#screen.print(
      `On a device where you are signed in, enter: /link ${pending.code}`,
      `(or scan: ${pending.qrPayload})`,
    );
    const sas = await pending.sas;
    const answer = await this.#screen.ask(`Does the other device show ${sas}? [y/N]`);
    if (answer === undefined || !/^\s*y(es)?\s*$/i.test(answer)) {
      await pending.cancel();
      throw new ChatError("link cancelled");
    }
    pending.confirm();
    await pending.done;
    this.#notice("this terminal is linked to your identity");
  }

  async #verify(name: string): Promise<void> {
    const client = this.#need();
    const user = await this.#user(name);
    const sn = await client.safetyNumber(user.id);
    const state =
      sn.trust === "verified"
        ? "verified"
        : sn.trust === "changed"
          ? "IDENTITY CHANGED since you verified"
          : sn.trust === "changed_unverified"
            ? "identity changed since first seen"
            : "not verified yet";
    this.#screen.print(
      `Safety number of you and ${user.username} (${state}):`,
      ...safetyNumberRows(sn.groups),
      `Compare it with the one ${user.username} sees, in person or over a channel you trust.`,
      ...(this.#state.current === undefined ? [] : [suiteLine(await client.suite(this.#state.current.id))]),
    );
    const answer = await this.#screen.ask(`Mark ${user.username} as verified? [y/N]`);
    if (answer !== undefined && /^\s*y(es)?\s*$/i.test(answer)) {
      await this.#chat().markVerified(user.id);
      this.#notice(`${user.username} is verified ${TRUST_MARK.verified}`);
    } else {
      this.#notice(`${user.username} left ${sn.trust === "verified" ? "verified" : "unverified"}`);
    }
  }

  // ------------------------------------------------------------------ signing in and out

  async #resume(): Promise<void> {
    const username = await this.#o.lastUser.get();
    if (username === undefined) {
      this.#notice("not signed in: /register <user> or /login <user>");
      return;
    }
    try {
      const store = await this.#o.openStore(username);
      const client = this.#newClient(store);
      if (!(await client.resume())) {
        await client.close();
        this.#notice(`the session of ${username} ended: /login ${username}`);
        return;
      }
      await this.#connect(client, store);
    } catch (e) {
      this.#fail(e);
      this.#notice(`not signed in: /login ${username}`);
    }
  }

  /**
   * AUTH-14: the sign-in's second step: a code (a few tries on one challenge), or, when the
   * server requires TOTP of an account without it, enrolment first.
   */
  async #secondStep(client: ParleyClient, step: Extract<SignInStep, { done: false }>): Promise<UserView> {
    if (step.next === "totp_enrol") {
      this.#warn("this server requires two-step sign-in for this account: set it up now");
      await this.#showEnrolment(await client.signInEnrol(step.challenge));
      const code = await this.#secret("Code from your authenticator app: ", "no code given");
      const done = await client.signInConfirm(step.challenge, code);
      this.#showRecoveryCodes(done.recoveryCodes);
      return done.user;
    }
    for (let tries = 0; ; tries++) {
      const code = await this.#secret("Authenticator code (or a recovery code): ", "no code given");
      try {
        return await client.signInWithCode(step.challenge, code);
      } catch (e) {
        if (!isParleyClientError(e, "totp_invalid") || tries >= 3) throw e;
        this.#warn(`${e.message} Try again.`);
      }
    }
  }

  async #showEnrolment(enrolment: { secret: string; uri: string }): Promise<void> {
    this.#notice("scan this with an authenticator app, or type the key into it:");
    this.#screen.printUnwrapped(await qrToString(enrolment.uri, { type: "terminal", small: true }));
    this.#screen.printUnwrapped(`key: ${enrolment.secret}`, enrolment.uri);
  }

  #showRecoveryCodes(codes: readonly string[]): void {
    this.#notice("two-step recovery codes (each works once in place of a code; shown only now):");
    this.#screen.printUnwrapped(...codes.map((c) => `  ${c}`));
  }

  /** AUTH-13: /2fa, /2fa on, /2fa off. */
  async #twoFactor(action: "status" | "on" | "off"): Promise<void> {
    const client = this.#need();
    if (action === "status") {
      const status = await client.twoFactorStatus();
      this.#notice(
        status.enabled
          ? `two-step sign-in is on; ${status.recoveryCodesLeft} recovery codes left${status.required ? " (this server requires it)" : ""}`
          : "two-step sign-in is off: /2fa on sets it up",
      );
      return;
    }
    const password = await this.#secret("Password: ");
    if (action === "off") {
      const code = await this.#secret("Authenticator code (or a recovery code): ", "no code given");
      await client.disableTwoFactor(password, code);
      this.#notice("two-step sign-in is off");
      return;
    }
    await this.#showEnrolment(await client.enrolTwoFactor(password));
    const code = await this.#secret("Code from your authenticator app: ", "no code given");
    this.#showRecoveryCodes(await client.confirmTwoFactor(code));
    this.#notice("two-step sign-in is on");
  }

  #policy: PolicyCheck | undefined;

  /** POLICY-2: checks the server's signed policy against the pin, and warns of a change. */
  async #checkPolicy(): Promise<void> {
    const store = this.#o.policyPins;
    if (store === undefined) return;
    try {
      const check = await new PolicyPins(store).check(
        this.#o.baseUrl,
        await fetchServerPolicy(this.#o.baseUrl, this.#o.fetch),
      );
      this.#policy = check;
      if (check.state === "first_use")
        this.#notice(
          `pinned this server's signed policy (key ${check.policy.keyFingerprint}): /server shows it`,
        );
      if (check.state === "changed") this.#warnPolicy(check);
    } catch (e) {
      this.#warn(`could not check this server's signed policy: ${reason(e)}`);
    }
  }

  #warnPolicy(check: Extract<PolicyCheck, { state: "changed" }>): void {
    if (check.keyChanged)
      this.#warn(
        `THIS SERVER'S POLICY KEY CHANGED: ${check.policy.keyFingerprint} (was ${check.pinnedKeyFingerprint}); another machine at this address, or its data was lost. Check with the operator.`,
      );
    else this.#warn("this server's policy changed:");
    for (const c of check.changes) this.#warn(`  ${describePolicyChange(c)}`);
    this.#warn("/server shows it; /server accept acknowledges the change");
  }

  /** POLICY-1: /server shows the signed policy; /server accept pins a changed one. */
  async #server(accept: boolean): Promise<void> {
    const store = this.#o.policyPins;
    if (store === undefined) throw new ChatError("this client keeps no policy pins");
    if (accept) {
      const check = this.#policy;
      if (check?.state !== "changed") throw new ChatError("nothing to acknowledge: the policy is as pinned");
      await new PolicyPins(store).accept(this.#o.baseUrl, check.policy);
      this.#policy = { state: "unchanged", policy: check.policy };
      this.#notice("acknowledged: the server's current policy is pinned");
      return;
    }
    await this.#checkPolicy();
    const check = this.#policy;
    if (check === undefined) return;
    this.#notice("this server keeps and logs (signed by its policy key):");
    this.#screen.print(...describePolicy(check.policy.statement).map((l) => `  ${l.label}: ${l.text}`));
    this.#screen.printUnwrapped(`  policy key SHA-256: ${check.policy.keyFingerprint}`);
  }

  async #signIn(username: string, how: (client: ParleyClient) => Promise<UserView>): Promise<void> {
    await this.#closeClient();
    const store = await this.#o.openStore(username);
    const client = this.#newClient(store);
    try {
      await how(client);
    } catch (e) {
      await client.close();
      throw e;
    }
    await this.#connect(client, store);
  }

  async #connect(client: ParleyClient, store: DeviceStore): Promise<void> {
    const user = client.user;
    if (user === undefined) {
      await client.close();
      throw new ChatError("signed in, but the server did not say as whom");
    }
    // History is kept by default, sealed in the device state with everything else.
    const kept = await store.get(RETENTION_KEY);
    this.#retention =
      (kept === undefined ? undefined : parseRetention(new TextDecoder().decode(kept))) ?? DEFAULT_RETENTION;
    const history = new History(store, { maxAgeMs: maxAgeMs(this.#retention) });
    const keeps = this.#retention.keep !== "none";
    // Current before connecting, so what arrives with the connection (a Welcome's room, a
    // message) is shown rather than dropped as the event of a replaced client.
    const model = new ChatModel(client, {
      holdWhileOffline: false,
      ...(keeps ? { history } : {}),
      // A message that arrives in the conversation on screen is read as it is printed (RCPT-1).
      isRead: (roomId) => this.#state.current?.id === roomId,
    });
    model.subscribe((change) => {
      // In order: a warning that waits for a user's name is not overtaken by the next line.
      if (this.#model !== model) return;
      this.#events = this.#events
        .then(() => this.#onChange(model, change))
        .catch((e: unknown) => this.#fail(e));
    });
    this.#client = client;
    this.#model = model;
    this.#store = store;
    this.#history = history;
    this.#state.reset();
    if (keeps) await model.restoreHistory();
    this.#numbers = new MessageNumbers();
    this.#own = new OwnMessages(this.#numbers);
    try {
      try {
        await client.connect();
      } catch (e) {
        if (!isParleyClientError(e, "identity_link_required")) throw e;
        await this.#linkOrReset(client);
      }
    } catch (e) {
      await this.#closeClient();
      throw e;
    }
    await this.#o.lastUser.set(user.username);
    await model.refresh();
    this.#notice(`signed in as ${user.username}; device state sealed on this machine`);
    const rooms = this.#state.rooms();
    if (rooms.length > 0) this.#notice(`your rooms: ${rooms.map((r) => this.#withUnread(r.id)).join(", ")}`);
    // Where this device was last: that conversation again, with what was kept of it.
    const open = await store.get(OPEN_ROOM_KEY);
    const last = open === undefined ? undefined : this.#state.room(new TextDecoder().decode(open));
    if (last !== undefined) {
      this.#state.setCurrent(last.id);
      this.#notice(`now talking in ${this.#state.label(last.id)}, where you were last`);
      await this.#showKept(last.id);
    }
  }

  /** Keeps the open conversation in the sealed device state, for the next session. */
  #rememberOpen(roomId: string | undefined): void {
    const store = this.#store;
    if (store === undefined) return;
    const saved =
      roomId === undefined
        ? store.delete(OPEN_ROOM_KEY)
        : store.put(OPEN_ROOM_KEY, new TextEncoder().encode(roomId));
    saved.catch((e: unknown) => this.#fail(e));
  }

  async #logout(): Promise<void> {
    const client = this.#need();
    const name = this.#me().username;
    const answer = await this.#screen.ask(`Erase this device's keys and history of ${name} too? [y/N]`);
    const erase = answer !== undefined && /^\s*y(es)?\s*$/i.test(answer);
    try {
      await client.logout();
    } finally {
      await this.#closeClient();
      await this.#o.lastUser.set(undefined);
    }
    if (erase) {
      await this.#o.eraseStore(name);
      this.#notice(`${name} signed out; this device's keys and history are erased`);
    } else {
      this.#notice(`${name} signed out (this device's keys and history stay, sealed)`);
    }
  }

  async #closeClient(): Promise<void> {
    this.#model?.dispose();
    const client = this.#client;
    const history = this.#history;
    this.#client = undefined;
    this.#model = undefined;
    this.#store = undefined;
    this.#history = undefined;
    this.#state.reset();
    this.#numbers = new MessageNumbers();
    this.#own = new OwnMessages(this.#numbers);
    this.#offline = false;
    try {
      await history?.flush();
    } finally {
      await client?.close();
    }
  }

  #newClient(store: DeviceStore): ParleyClient {
    return new ParleyClient({
      baseUrl: this.#o.baseUrl,
      fetch: this.#o.fetch,
      WebSocket: this.#o.WebSocket,
      store,
    });
  }

  // ------------------------------------------------------------------ the model's changes

  async #onChange(model: ChatModel, change: ChatChange): Promise<void> {
    switch (change.type) {
      case "message":
        return this.#onMessage(change.message);
      case "membership":
        return this.#onMembership(change.event);
      case "conversation":
        if (change.isNew && change.room.kind === "direct")
          this.#notice(`${this.#state.label(change.room.id)} opened a direct conversation`);
        return;
      case "identity_changed":
        return this.#onIdentityChanged(model, change.change);
      case "device_added":
        return this.#onDeviceNote(model, change.userId, "added");
      case "device_removed":
        return this.#onDeviceNote(model, change.userId, "removed");
      case "this_device_removed":
        this.#warn(
          "This device was removed from your account by another of your devices: its keys and history were erased. /login and link it again to use it.",
        );
        return;
      case "typing":
        if (change.roomId === this.#state.current?.id) this.#updatePrompt();
        return;
      case "presence": {
        const p = change.event;
        if (model.follows(p.userId)) this.#notice(`${p.username} is ${p.online ? "online" : "offline"}`);
        return;
      }
      case "invited": {
        const i = change.invitation;
        this.#notice(
          `${i.by.username} invited you to #${printable(i.room.name)} (${i.room.id}): /accept ${i.room.id} or /decline ${i.room.id}`,
        );
        return;
      }
      case "status": {
        const s = change.status;
        if (s.state === "connected" && this.#offline) {
          this.#offline = false;
          this.#notice("connected again");
        } else if (s.state === "reconnecting" && !this.#offline) {
          this.#offline = true;
          this.#notice(`connection lost (${s.reason}); reconnecting`);
        } else if (s.state === "offline" && s.reason === "signed_out") {
          this.#warn("the server ended this session: /login again");
        } else if (s.state === "offline" && s.reason === "session_ended") {
          this.#warn("this session was ended from another of your sessions (or by an admin): /login again");
        } else if (s.state === "offline" && s.reason === "account_deleted") {
          this.#warn("this account was deleted");
        }
        return;
      }
      case "error": {
        const e = change.event;
        if (e.code === "closed" || e.code === "not_connected") return;
        const where = e.roomId !== undefined ? ` in ${this.#state.label(e.roomId)}` : "";
        this.#warn(`${e.error.message}${where} (${e.code})`);
        return;
      }
      // A failed send is reported by the command that sent it; the rest is shown when asked for.
      case "state":
        for (const line of this.#own.changes(model.snapshot.messages)) this.#notice(line);
        this.#printProgress();
        this.#updatePrompt();
        return;
      case "changed":
        return this.#onChanged(change.message, change.change, change.by);
      case "followed_post": {
        // Once per room: /rooms lists the offers with how many posts each has seen.
        if (!change.isNew) return;
        const { post } = change;
        this.#notice(
          `${post.by.username} (followed) posted in a public room you are not in (id ${post.roomId}): /join ${post.roomId} to read what is said there from now on`,
        );
        return;
      }
      case "failed":
      case "queue_missed":
        return;
      default:
        return assertNever(change);
    }
  }

  #onMessage(m: ChatMessage): void {
    const room = this.#state.room(m.roomId);
    const here = this.#state.current?.id === room?.id && room !== undefined;
    this.#printMessage(m, here);
    // A terminal cannot tell whether the person is looking: the bell goes by the level alone,
    // and the terminal (or tmux, for a window out of view) decides what a bell does.
    if (this.#chat().alerts(m, { visible: false, open: here })) this.#screen.bell();
  }

  #printMessage(m: ChatMessage, here: boolean): void {
    const where = here ? undefined : this.#state.label(m.roomId);
    if (m.system === true) {
      this.#screen.printAs(
        "notice",
        formatNotice(m.ts, where === undefined ? m.text : `${where}: ${m.text}`),
      );
      return;
    }
    const style = m.own ? "own" : mentionsUser(m, this.#state.me?.id) ? "mention" : "plain";
    this.#screen.printAs(style, `${this.#line(m, where)} #${this.#numbers.of(m)}`);
  }

  /** A message's line without its number: sender, the quote it replies to, text, edited, reactions. */
  #line(m: ChatMessage, where: string | undefined): string {
    const model = this.#chat();
    const q = model.quoteOf(m);
    const quote =
      q === undefined
        ? undefined
        : q.state === "missing"
          ? "a message not on this device"
          : `${q.fromName ?? "?"}: ${q.state === "deleted" ? "(message deleted)" : excerpt(q.excerpt, QUOTE_CHARS)}`;
    return formatMessage({
      ts: m.ts,
      where,
      sender: m.fromName,
      trust: m.own ? undefined : m.trust,
      text: m.attachment !== undefined ? describeAttachment(m.attachment) : m.text,
      quote,
      edited: m.edited !== undefined,
      deleted: m.deleted === true,
      reactions: reactionGroups(m, this.#state.me?.id)
        .map((g) => `${g.emoji} ${g.count}`)
        .join(" "),
    });
  }

  /** CHAT-2..4: one line for a reaction, an edit or a delete, naming the message by its number. */
  #onChanged(m: ChatMessage, change: MessageChange, by: Person): void {
    const who = by.id === this.#state.me?.id ? "you" : by.username;
    const n = `#${this.#numbers.of(m)}`;
    const where = this.#state.current?.id === m.roomId ? "" : ` in ${this.#state.label(m.roomId)}`;
    switch (change.kind) {
      case "reaction": {
        const now = reactionGroups(m, this.#state.me?.id)
          .map((g) => `${g.emoji} ${g.count}: ${g.usernames.join(", ")}`)
          .join("; ");
        this.#notice(
          change.on
            ? `${who} reacted ${change.emoji} to ${n}${where} (${now})`
            : `${who} took back ${change.emoji} on ${n}${where}${now === "" ? "" : ` (${now})`}`,
        );
        return;
      }
      case "edit":
        this.#notice(`${who} edited ${n}${where}: ${m.text}`);
        return;
      case "delete":
        this.#notice(`${who} deleted ${n}${where} for everyone`);
        return;
      default:
        assertNever(change);
    }
  }

  /** Room events print as the conversation's system lines (#onMessage); here only what is not one. */
  #onMembership(m: Extract<MembershipEvent, { source: "room" }>): void {
    if (m.event === "removed" && m.userId === this.#state.me?.id) {
      this.#warn(`you were removed from ${this.#state.label(m.roomId)}${m.by ? ` by ${m.by.username}` : ""}`);
    }
  }

  async #onIdentityChanged(model: ChatModel, c: IdentityChange): Promise<void> {
    const name = model.nameOf(c.userId) ?? (await this.#lookupName(model, c.userId)) ?? c.userId;
    if (c.wasVerified) {
      this.#warn(
        `WARNING: ${name}'s identity key changed since you verified it. If they did not tell you they reset it, someone may be listening in. Compare safety numbers: /verify ${name}`,
      );
    } else {
      this.#notice(`${name}'s identity key changed (they may have reset it). To be sure: /verify ${name}`);
    }
  }

  async #onDeviceNote(model: ChatModel, userId: string, kind: "added" | "removed"): Promise<void> {
    this.#notice(`${await this.#personName(model, userId)} ${kind} a device`);
  }

  async #personName(model: ChatModel, userId: string): Promise<string> {
    return userId === this.#state.me?.id
      ? "you"
      : (model.nameOf(userId) ?? (await this.#lookupName(model, userId)) ?? userId);
  }

  // ------------------------------------------------------------------ helpers

  async #user(name: string): Promise<UserRef> {
    const user = await this.#chat().findUser(name);
    if (user === undefined) throw new ChatError(`no user named ${name}`);
    return user;
  }

  async #lookupName(model: ChatModel, userId: string): Promise<string | undefined> {
    try {
      await model.refreshPeople();
    } catch {
      return undefined;
    }
    return model.nameOf(userId);
  }

  async #secret(question: string, missing = "no password given"): Promise<string> {
    const answer = await this.#screen.askSecret(question);
    if (answer === undefined || answer === "") throw new ChatError(missing);
    return answer;
  }

  #need(): ParleyClient {
    if (this.#client === undefined) throw new ChatError("not signed in: /login <user> or /register <user>");
    return this.#client;
  }

  #chat(): ChatModel {
    if (this.#model === undefined) throw new ChatError("not signed in: /login <user> or /register <user>");
    return this.#model;
  }

  #me(): UserRef {
    const me = this.#state.me;
    if (me === undefined) throw new ChatError("not signed in: /login <user> or /register <user>");
    return me;
  }

  #currentRoom(): RoomView {
    this.#need();
    const room = this.#state.current;
    if (room === undefined) throw new ChatError("no conversation open: /switch <room> first");
    return room;
  }

  /** The server's password policy (GET /api/info), or undefined when it cannot be read. */
  async #passwordPolicy(): Promise<InfoResponse["passwordPolicy"] | undefined> {
    return (await this.#serverInfoOnce())?.passwordPolicy;
  }

  /** GET /api/info, read once; undefined when it cannot be read. */
  async #serverInfoOnce(): Promise<InfoResponse | undefined> {
    try {
      this.#serverInfo ??= await fetchServerInfo(this.#o.baseUrl, this.#o.fetch);
    } catch {
      return undefined;
    }
    return this.#serverInfo;
  }

  #notice(text: string): void {
    this.#screen.printAs("notice", formatNotice(this.#now(), text));
  }

  #warn(text: string): void {
    this.#screen.printAs("warning", formatWarning(text));
  }

  /** One line for anything that went wrong, never a stack, never a secret. */
  #fail(e: unknown): void {
    if (e instanceof ChatError) this.#warn(e.message);
    else if (isParleyClientError(e)) this.#warn(`${e.message} (${e.code})`);
    else if (e instanceof CliError) this.#warn(e.message);
    else this.#warn(`unexpected failure: ${e instanceof Error ? e.message : String(e)}`);
  }
}

const EMPTY = emptyChatSnapshot();

/** A short name for a session's User-Agent (ACCT-1). */
function sessionDevice(userAgent: string | null): string {
  if (userAgent === null || userAgent === "") return "unknown device";
  if (!/Mozilla/.test(userAgent)) return userAgent.slice(0, 40);
  const browser = /Firefox\//.test(userAgent)
    ? "Firefox"
    : /Chrome\/|Chromium\//.test(userAgent)
      ? "Chrome"
      : /Safari\//.test(userAgent)
        ? "Safari"
        : "browser";
  const system = /Android/.test(userAgent)
    ? " on Android"
    : /iPhone|iPad/.test(userAgent)
      ? " on iOS"
      : /Windows/.test(userAgent)
        ? " on Windows"
        : /Mac OS X/.test(userAgent)
          ? " on macOS"
          : /Linux/.test(userAgent)
            ? " on Linux"
            : "";
  return `${browser}${system}`;
}
