/** `parley chat`'s controller: reads lines from the Screen, runs each through the dispatch table, and owns the signed-in client, its chat model and this session's terminal state. */
import {
  ChatModel,
  DEFAULT_RETENTION,
  type DeviceStore,
  emptyChatSnapshot,
  type FetchLike,
  fetchServerInfo,
  formatRetention,
  History,
  type HistoryRetention,
  isParleyClientError,
  maxAgeMs,
  ParleyClient,
  type PolicyCheck,
  type PolicyPinStore,
  parseRetention,
  type WebSocketConstructor,
} from "@parley/client";
import type { InfoResponse, RoomView, UserView } from "@parley/protocol";
import { CliError } from "../cli-error.js";
import { linkOrReset } from "./commands/devices.js";
import { checkPolicy, policyWatch } from "./commands/server.js";
import { runCommand } from "./commands.js";
import { type ChatContext, ChatError, isYes, NOT_SIGNED_IN } from "./context.js";
import { formatNotice, formatWarning } from "./format.js";
import { parseInput } from "./input.js";
import { MessageNumbers } from "./numbers.js";
import { OwnMessages } from "./own-messages.js";
import { ChatView } from "./render.js";
import type { Screen } from "./screen.js";
import { ChatState, type UserRef } from "./state.js";

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

const EMPTY = emptyChatSnapshot();

/**
 * The terminal client's logic: one ParleyClient and its ChatModel per signed-in user. The model
 * holds the chat (conversations, people, typing, messages, and the lookups in the SDK's
 * chat/lookup.ts); the command modules (commands/) act on it, ChatView (render.ts) prints it,
 * and this class holds the session: who is signed in, their device state and history setting.
 * Lines are handled one at a time, in order, so a question (a password, "verified?") takes the
 * next line.
 */
export class ChatController implements ChatContext {
  readonly options: ChatControllerOptions;
  readonly screen: Screen;
  readonly state = new ChatState(
    () => this.#model?.snapshot ?? EMPTY,
    (roomId) => this.#rememberOpen(roomId),
  );
  readonly view: ChatView = new ChatView(this);
  readonly now: () => number;
  numbers = new MessageNumbers();
  own = new OwnMessages(this.numbers);
  directoryPage: { query: string | undefined; next: string } | undefined;
  policy: PolicyCheck | undefined;
  #client: ParleyClient | undefined;
  #model: ChatModel | undefined;
  #store: DeviceStore | undefined;
  #history: History | undefined;
  #retention: HistoryRetention = DEFAULT_RETENTION;
  #serverInfo: InfoResponse | undefined;
  #events: Promise<void> = Promise.resolve();
  /** Uploads and downloads still running, so /quit can wait for them or say they stop. */
  readonly #running = new Set<Promise<void>>();

  constructor(options: ChatControllerOptions) {
    this.options = options;
    this.screen = options.screen;
    this.now = options.now ?? (() => Date.now());
    this.screen.onEdit = (line) => this.#edited(line);
  }

  /** Runs until /quit or the end of input; resolves with the exit status. */
  async run(): Promise<number> {
    this.notice(`parley chat on ${this.options.baseUrl}; /help lists the commands`);
    await checkPolicy(this);
    await this.#resume();
    this.updatePrompt();
    this.screen.start();
    try {
      for (;;) {
        const line = await this.screen.nextLine();
        if (line === undefined) break;
        const input = parseInput(line);
        if (input.kind === "quit") break;
        try {
          await runCommand(this, input);
        } catch (e) {
          this.#fail(e);
        }
        this.updatePrompt();
      }
    } finally {
      await this.closeClient();
    }
    return 0;
  }

  updatePrompt(): void {
    this.screen.setPrompt(this.view.prompt());
  }

  /** The input line changed (a terminal only): say "typing" for a message, nothing for a command. */
  #edited(line: string): void {
    const room = this.state.current;
    if (this.#model === undefined || room === undefined || line.trim() === "" || line.startsWith("/")) {
      this.#model?.stopTyping();
      return;
    }
    this.#model.typed(room.id);
  }

  // ------------------------------------------------------------------ what commands use

  get model(): ChatModel | undefined {
    return this.#model;
  }

  get retention(): HistoryRetention {
    return this.#retention;
  }

  async setRetention(next: HistoryRetention): Promise<void> {
    const model = this.chat();
    const store = this.#store;
    const history = this.#history;
    if (store === undefined || history === undefined) throw new ChatError("not signed in");
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
  }

  need(): ParleyClient {
    if (this.#client === undefined) throw new ChatError(NOT_SIGNED_IN);
    return this.#client;
  }

  chat(): ChatModel {
    if (this.#model === undefined) throw new ChatError(NOT_SIGNED_IN);
    return this.#model;
  }

  me(): UserRef {
    const me = this.state.me;
    if (me === undefined) throw new ChatError(NOT_SIGNED_IN);
    return me;
  }

  currentRoom(): RoomView {
    this.need();
    const room = this.state.current;
    if (room === undefined) throw new ChatError("no conversation open: /switch <room> first");
    return room;
  }

  async user(name: string): Promise<UserRef> {
    const user = await this.chat().findUser(name);
    if (user === undefined) throw new ChatError(`no user named ${name}`);
    return user;
  }

  async secret(question: string, missing = "no password given"): Promise<string> {
    const answer = await this.screen.askSecret(question);
    if (answer === undefined || answer === "") throw new ChatError(missing);
    return answer;
  }

  async confirm(question: string): Promise<boolean> {
    return isYes(await this.screen.ask(question));
  }

  background(work: Promise<void>): void {
    const p = work.finally(() => {
      this.#running.delete(p);
      this.updatePrompt();
    });
    this.#running.add(p);
  }

  async passwordPolicy(): Promise<InfoResponse["passwordPolicy"] | undefined> {
    return (await this.serverInfo())?.passwordPolicy;
  }

  async serverInfo(): Promise<InfoResponse | undefined> {
    try {
      this.#serverInfo ??= await fetchServerInfo(this.options.baseUrl, this.options.fetch);
    } catch {
      return undefined;
    }
    return this.#serverInfo;
  }

  notice(text: string): void {
    this.screen.printAs("notice", formatNotice(this.now(), text));
  }

  warn(text: string): void {
    this.screen.printAs("warning", formatWarning(text));
  }

  // ------------------------------------------------------------------ signing in and out

  async #resume(): Promise<void> {
    const username = await this.options.lastUser.get();
    if (username === undefined) {
      this.notice("not signed in: /register <user> or /login <user>");
      return;
    }
    try {
      const store = await this.options.openStore(username);
      const client = this.#newClient(store);
      if (!(await client.resume())) {
        await client.close();
        this.notice(`the session of ${username} ended: /login ${username}`);
        return;
      }
      await this.#connect(client, store);
    } catch (e) {
      this.#fail(e);
      this.notice(`not signed in: /login ${username}`);
    }
  }

  async signIn(username: string, how: (client: ParleyClient) => Promise<UserView>): Promise<void> {
    await this.closeClient();
    const store = await this.options.openStore(username);
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
    const watch = policyWatch(this);
    const model = new ChatModel(client, {
      holdWhileOffline: false,
      ...(keeps ? { history } : {}),
      ...(watch !== undefined ? { serverPolicy: watch } : {}),
      // A message that arrives in the conversation on screen is read as it is printed (RCPT-1).
      isRead: (roomId) => this.state.current?.id === roomId,
    });
    model.subscribe((change) => {
      // In order: a warning that waits for a user's name is not overtaken by the next line.
      if (this.#model !== model) return;
      this.#events = this.#events
        .then(() => this.view.onChange(model, change))
        .catch((e: unknown) => this.#fail(e));
    });
    this.#client = client;
    this.#model = model;
    this.#store = store;
    this.#history = history;
    this.state.reset();
    if (keeps) await model.restoreHistory();
    this.numbers = new MessageNumbers();
    this.own = new OwnMessages(this.numbers);
    try {
      try {
        await client.connect();
      } catch (e) {
        if (!isParleyClientError(e, "identity_link_required")) throw e;
        await linkOrReset(this, client);
      }
    } catch (e) {
      await this.closeClient();
      throw e;
    }
    await this.options.lastUser.set(user.username);
    await model.refresh();
    this.notice(`signed in as ${user.username}; device state sealed on this machine`);
    const rooms = this.state.rooms();
    if (rooms.length > 0)
      this.notice(`your rooms: ${rooms.map((r) => this.view.withUnread(r.id)).join(", ")}`);
    // Where this device was last: that conversation again, with what was kept of it.
    const open = await store.get(OPEN_ROOM_KEY);
    const last = open === undefined ? undefined : this.state.room(new TextDecoder().decode(open));
    if (last !== undefined) {
      this.state.setCurrent(last.id);
      this.notice(`now talking in ${this.state.label(last.id)}, where you were last`);
      await this.view.showKept(last.id);
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

  async closeClient(): Promise<void> {
    this.#model?.dispose();
    const client = this.#client;
    const history = this.#history;
    this.#client = undefined;
    this.#model = undefined;
    this.#store = undefined;
    this.#history = undefined;
    this.state.reset();
    this.numbers = new MessageNumbers();
    this.own = new OwnMessages(this.numbers);
    this.view.reset();
    try {
      await history?.flush();
    } finally {
      await client?.close();
    }
  }

  #newClient(store: DeviceStore): ParleyClient {
    return new ParleyClient({
      baseUrl: this.options.baseUrl,
      fetch: this.options.fetch,
      WebSocket: this.options.WebSocket,
      store,
    });
  }

  /** One line for anything that went wrong, never a stack, never a secret. */
  #fail(e: unknown): void {
    if (e instanceof ChatError) this.warn(e.message);
    else if (isParleyClientError(e)) this.warn(`${e.message} (${e.code})`);
    else if (e instanceof CliError) this.warn(e.message);
    else this.warn(`unexpected failure: ${e instanceof Error ? e.message : String(e)}`);
  }
}
