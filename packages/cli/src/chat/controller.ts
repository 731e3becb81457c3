import {
  type ClientEvents,
  type DeviceStore,
  type FetchLike,
  fetchServerInfo,
  isParleyClientError,
  type KeyChange,
  type MembershipEvent,
  type MessageEvent,
  ParleyClient,
  TypingNotifier,
  TypingRoster,
  type WebSocketConstructor,
} from "@parley/client";
import {
  assertNever,
  type InfoResponse,
  passwordRefusal,
  type RoomView,
  type UserView,
} from "@parley/protocol";
import { CliError } from "../cli-error.js";
import {
  COMMAND_HELP_LINES,
  formatMessage,
  formatNotice,
  formatWarning,
  MARK_LEGEND,
  passwordRequirements,
  safetyNumberRows,
  TRUST_MARK,
} from "./format.js";
import { type ChatInput, parseInput } from "./input.js";
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
  /** Who signed in last on this server, to resume their session at start. */
  lastUser: { get(): Promise<string | undefined>; set(username: string | undefined): Promise<void> };
  now?: () => number;
}

/** A refusal the user caused and can fix; shown as one line, never fatal. */
class ChatError extends Error {}

/**
 * The terminal client's logic: reads lines from the Screen, runs them as commands on one
 * ParleyClient (one per signed-in user), and turns the SDK's events into lines. Lines are
 * handled one at a time, in order, so a question (a password, "verified?") takes the next line.
 */
export class ChatController {
  readonly #o: ChatControllerOptions;
  readonly #screen: Screen;
  readonly #state = new ChatState();
  readonly #now: () => number;
  #client: ParleyClient | undefined;
  #offline = false;
  #events: Promise<void> = Promise.resolve();
  /** Who is typing in which room: the current room's typists are shown on the prompt. */
  readonly #typists = new TypingRoster((roomId) => {
    if (roomId === this.#state.current?.id) this.#updatePrompt();
  });
  /** This user's typing, told to the current room while a message (not a command) is typed. */
  readonly #ownTyping = new TypingNotifier((roomId, active) => this.#client?.typing(roomId, active));

  constructor(options: ChatControllerOptions) {
    this.#o = options;
    this.#screen = options.screen;
    this.#now = options.now ?? (() => Date.now());
    this.#screen.onEdit = (line) => this.#edited(line);
  }

  /** Runs until /quit or the end of input; resolves with the exit status. */
  async run(): Promise<number> {
    this.#notice(`parley chat on ${this.#o.baseUrl}; /help lists the commands`);
    await this.#resume();
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
      this.#ownTyping.stop();
      this.#typists.clear();
      await this.#client?.close();
      this.#client = undefined;
    }
    return 0;
  }

  #updatePrompt(): void {
    const room = this.#state.current;
    const typing = room === undefined ? [] : this.#typists.typists(room.id).map((t) => t.username);
    this.#screen.setPrompt(this.#state.prompt(typing));
  }

  /** The input line changed (a terminal only): say "typing" for a message, nothing for a command. */
  #edited(line: string): void {
    const room = this.#state.current;
    if (this.#client === undefined || room === undefined || line.trim() === "" || line.startsWith("/")) {
      this.#ownTyping.stop();
      return;
    }
    this.#ownTyping.typed(room.id);
  }

  // ------------------------------------------------------------------ commands

  async #handle(input: ChatInput): Promise<void> {
    switch (input.kind) {
      case "empty":
      case "quit":
        return;
      case "invalid":
        throw new ChatError(input.reason);
      case "help":
        this.#screen.print(...COMMAND_HELP_LINES, MARK_LEGEND);
        return;
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
        return this.#signIn(input.user, (c) => c.login(input.user, password));
      }
      case "logout":
        return this.#logout();
      case "rooms":
        return this.#rooms();
      case "create": {
        const room = await this.#need().createRoom(input.name);
        this.#state.addRoom(room);
        this.#state.setCurrent(room.id);
        this.#notice(
          `created ${this.#state.label(room.id)} (id ${room.id}; others join with /join ${room.id})`,
        );
        return;
      }
      case "join": {
        const room = await this.#need().join(input.roomId);
        this.#state.addRoom(room);
        this.#state.setCurrent(room.id);
        this.#notice(`joined ${this.#state.label(room.id)} (${room.id})`);
        return;
      }
      case "leave": {
        const room = this.#currentRoom();
        await this.#need().leave(room.id);
        this.#notice(`left ${this.#state.label(room.id)}`);
        this.#state.removeRoom(room.id);
        return;
      }
      case "switch": {
        const found = this.#state.resolve(input.target);
        if ("error" in found) throw new ChatError(found.error);
        this.#state.setCurrent(found.roomId);
        this.#notice(`now talking in ${this.#state.label(found.roomId)}`);
        return;
      }
      case "invite": {
        const room = this.#currentRoom();
        const user = await this.#user(input.user);
        await this.#need().invite(room.id, user.id);
        this.#notice(`invited ${user.username} to ${this.#state.label(room.id)}`);
        return;
      }
      case "msg":
        return this.#direct(input.user, input.text);
      case "who":
        return this.#who();
      case "subscribe": {
        const user = await this.#user(input.user);
        await this.#need().subscribe(user.id);
        this.#state.follow(user);
        const online = (await this.#need().users()).find((u) => u.id === user.id)?.online;
        this.#notice(
          `following ${user.username} (${online ? "online" : "offline"} now); you will see when they come and go`,
        );
        return;
      }
      case "unsubscribe": {
        const user = await this.#user(input.user);
        await this.#need().unsubscribe(user.id);
        this.#state.unfollow(user.id);
        this.#notice(`no longer following ${user.username}`);
        return;
      }
      case "verify":
        return this.#verify(input.user);
      default:
        return assertNever(input);
    }
  }

  async #say(text: string): Promise<void> {
    const client = this.#need();
    const room = this.#state.current;
    if (room === undefined)
      throw new ChatError("no conversation open: /join, /create, /switch or /msg first");
    const sent = await client.send(room.id, text);
    this.#screen.print(
      formatMessage({ ts: sent.ts, where: undefined, sender: this.#me().username, trust: undefined, text }),
    );
  }

  async #direct(name: string, text: string): Promise<void> {
    const client = this.#need();
    const user = await this.#user(name);
    const room = await client.openDirect(user.id);
    this.#state.addRoom(room);
    this.#state.setPeer(room.id, user);
    const sent = await client.send(room.id, text);
    const where = this.#state.current?.id === room.id ? undefined : `-> ${this.#state.label(room.id)}`;
    this.#screen.print(
      formatMessage({ ts: sent.ts, where, sender: this.#me().username, trust: undefined, text }),
    );
  }

  async #rooms(): Promise<void> {
    await this.#refreshRooms();
    const rooms = this.#state.rooms();
    if (rooms.length === 0) {
      this.#notice("no rooms yet: /create <name>, /join <room-id> or /msg <user> <text>");
      return;
    }
    const current = this.#state.current?.id;
    this.#screen.print(
      ...rooms.map((r) => {
        const kind = r.kind === "direct" ? "direct" : r.isPublic ? "public room" : "private room";
        return `${r.id === current ? "*" : " "} ${this.#state.label(r.id).padEnd(24)} ${r.id}  ${kind}`;
      }),
    );
  }

  async #who(): Promise<void> {
    const client = this.#need();
    const online = (await client.users()).filter((u) => u.online);
    for (const u of online) this.#state.learn(u);
    this.#screen.print(`online (${online.length}): ${online.map((u) => u.username).join(", ") || "nobody"}`);
    const room = this.#state.current;
    if (room === undefined) return;
    const members = await client.members(room.id);
    const me = this.#me();
    const rows: string[] = [];
    for (const m of members) {
      this.#state.learn({ id: m.userId, username: m.username });
      const mark = m.userId === me.id ? " " : TRUST_MARK[await client.trust(m.userId)];
      const role = m.role === "owner" ? " (owner)" : "";
      rows.push(`  ${mark} ${m.username}${role}${m.online ? "" : "  offline"}`);
    }
    this.#screen.print(`members of ${this.#state.label(room.id)} (${members.length}):`, ...rows);
  }

  async #verify(name: string): Promise<void> {
    const client = this.#need();
    const user = await this.#user(name);
    const sn = await client.safetyNumber(user.id);
    const state =
      sn.trust === "verified"
        ? "verified"
        : sn.trust === "changed"
          ? "KEY CHANGED since pinned"
          : "not verified yet";
    this.#screen.print(
      `Safety number of you and ${user.username} (${state}):`,
      ...safetyNumberRows(sn.groups),
      `Compare it with the one ${user.username} sees, in person or over a channel you trust.`,
    );
    const answer = await this.#screen.ask(`Mark ${user.username} as verified? [y/N]`);
    if (answer !== undefined && /^\s*y(es)?\s*$/i.test(answer)) {
      await client.markVerified(user.id);
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
      await this.#connect(client);
    } catch (e) {
      this.#fail(e);
      this.#notice(`not signed in: /login ${username}`);
    }
  }

  async #signIn(username: string, how: (client: ParleyClient) => Promise<UserView>): Promise<void> {
    await this.#closeClient();
    const client = this.#newClient(await this.#o.openStore(username));
    try {
      await how(client);
    } catch (e) {
      await client.close();
      throw e;
    }
    await this.#connect(client);
  }

  async #connect(client: ParleyClient): Promise<void> {
    const user = client.user;
    if (user === undefined) {
      await client.close();
      throw new ChatError("signed in, but the server did not say as whom");
    }
    // Current before connecting, so what arrives with the connection (a Welcome's room, a
    // message) is shown rather than dropped as the event of a replaced client.
    this.#client = client;
    this.#state.reset();
    this.#state.me = { id: user.id, username: user.username };
    this.#state.learn(user);
    try {
      await client.connect();
    } catch (e) {
      this.#client = undefined;
      this.#state.reset();
      await client.close();
      throw e;
    }
    await this.#o.lastUser.set(user.username);
    await this.#refreshRooms();
    this.#state.setFollowing(await client.subscriptions());
    this.#notice(`signed in as ${user.username}; device state sealed on this machine`);
    const rooms = this.#state.rooms();
    if (rooms.length > 0) this.#notice(`your rooms: ${rooms.map((r) => this.#state.label(r.id)).join(", ")}`);
  }

  async #logout(): Promise<void> {
    const client = this.#need();
    const name = this.#me().username;
    await client.logout();
    await this.#closeClient();
    await this.#o.lastUser.set(undefined);
    this.#notice(`${name} signed out (this device's keys stay, sealed)`);
  }

  async #closeClient(): Promise<void> {
    this.#ownTyping.stop();
    this.#typists.clear();
    const client = this.#client;
    this.#client = undefined;
    this.#state.reset();
    this.#offline = false;
    await client?.close();
  }

  #newClient(store: DeviceStore): ParleyClient {
    const client = new ParleyClient({
      baseUrl: this.#o.baseUrl,
      fetch: this.#o.fetch,
      WebSocket: this.#o.WebSocket,
      store,
    });
    const on = <K extends keyof ClientEvents>(
      event: K,
      handle: (payload: ClientEvents[K]) => void | Promise<void>,
    ): void => {
      client.on(event, (payload) => {
        // Events of a client that was replaced (logout, another login) are not shown. One at a
        // time, in order: a message that waits for its room's name is not overtaken.
        if (this.#client !== client) return;
        this.#events = this.#events.then(() => handle(payload)).catch((e: unknown) => this.#fail(e));
      });
    };
    on("message", (m) => this.#onMessage(client, m));
    on("membership", (m) => this.#onMembership(m));
    on("room", (room) => this.#onRoom(client, room));
    on("key_changed", (c) => this.#onKeyChanged(c));
    on("typing", (t) => {
      if (t.userId !== client.user?.id) this.#typists.update(t);
    });
    on("presence", (p) => {
      this.#state.learn({ id: p.userId, username: p.username });
      if (this.#state.follows(p.userId)) this.#notice(`${p.username} is ${p.online ? "online" : "offline"}`);
    });
    on("invited", (i) => {
      this.#state.learn(i.by);
      this.#notice(`${i.by.username} invited you to #${i.room.name} (${i.room.id}): /join ${i.room.id}`);
    });
    on("status", (s) => {
      if (s.state === "connected" && this.#offline) {
        this.#offline = false;
        this.#notice("connected again");
      } else if (s.state === "reconnecting" && !this.#offline) {
        this.#offline = true;
        this.#notice(`connection lost (${s.reason}); reconnecting`);
      } else if (s.state === "offline" && s.reason === "signed_out") {
        this.#warn("the server ended this session: /login again");
      }
    });
    on("error", (e) => {
      if (e.code === "closed" || e.code === "not_connected") return;
      const where = e.roomId !== undefined ? ` in ${this.#state.label(e.roomId)}` : "";
      this.#warn(`${e.error.message}${where} (${e.code})`);
    });
    return client;
  }

  // ------------------------------------------------------------------ events

  async #onMessage(client: ParleyClient, m: MessageEvent): Promise<void> {
    // Structured payloads (receipts, reactions) are for richer clients; text is what is shown.
    if (m.text === undefined) return;
    this.#state.learn({ id: m.from.userId, username: m.from.username });
    if (this.#state.room(m.roomId) === undefined) await this.#refreshRooms();
    const room = this.#state.room(m.roomId);
    if (
      room?.kind === "direct" &&
      this.#state.peer(m.roomId) === undefined &&
      m.from.userId !== this.#me().id
    ) {
      this.#state.setPeer(m.roomId, { id: m.from.userId, username: m.from.username });
    }
    const text = m.text;
    const mine = m.from.userId === client.user?.id;
    // The message is what they were typing.
    this.#typists.update({
      roomId: m.roomId,
      userId: m.from.userId,
      username: m.from.username,
      active: false,
    });
    this.#screen.print(
      formatMessage({
        ts: m.ts,
        where:
          this.#state.current?.id === room?.id && room !== undefined
            ? undefined
            : this.#state.label(m.roomId),
        sender: m.from.username,
        trust: mine ? undefined : m.trust,
        text,
      }),
    );
  }

  #onMembership(m: MembershipEvent): void {
    if (m.source !== "room" || m.userId === this.#state.me?.id) return;
    this.#state.learn({ id: m.userId, username: m.username });
    const label = this.#state.label(m.roomId);
    const what = { joined: "joined", left: "left", removed: "was removed from", invited: "was invited to" }[
      m.event
    ];
    this.#notice(`${m.username} ${what} ${label}`);
  }

  async #onRoom(client: ParleyClient, room: RoomView): Promise<void> {
    const known = this.#state.room(room.id) !== undefined;
    this.#state.addRoom(room);
    if (room.kind === "direct" && this.#state.peer(room.id) === undefined)
      await this.#findPeer(client, room.id);
    if (!known && room.kind === "direct")
      this.#notice(`${this.#state.label(room.id)} opened a direct conversation`);
  }

  async #onKeyChanged(c: KeyChange): Promise<void> {
    const name = this.#state.nameOf(c.userId) ?? (await this.#lookupName(c.userId)) ?? c.userId;
    const what = c.kind === "new_device" ? "has a new device" : "changed the key of a device";
    this.#warn(
      `WARNING: ${name} ${what} since you pinned their keys. If they did not tell you, someone may be listening in. Compare safety numbers: /verify ${name}`,
    );
  }

  // ------------------------------------------------------------------ helpers

  async #refreshRooms(): Promise<void> {
    const client = this.#need();
    this.#state.setRooms(await client.rooms());
    for (const r of this.#state.rooms()) {
      if (r.kind === "direct" && this.#state.peer(r.id) === undefined) await this.#findPeer(client, r.id);
    }
  }

  async #findPeer(client: ParleyClient, roomId: string): Promise<void> {
    const me = this.#me();
    const other = (await client.members(roomId)).find((m) => m.userId !== me.id);
    if (other) this.#state.setPeer(roomId, { id: other.userId, username: other.username });
  }

  async #user(name: string): Promise<UserRef> {
    let id = this.#state.idOf(name);
    if (id === undefined) {
      for (const u of await this.#need().users()) this.#state.learn(u);
      id = this.#state.idOf(name);
    }
    if (id === undefined) throw new ChatError(`no user named ${name}`);
    return { id, username: this.#state.nameOf(id) ?? name };
  }

  async #lookupName(userId: string): Promise<string | undefined> {
    try {
      for (const u of await this.#need().users()) this.#state.learn(u);
    } catch {
      return undefined;
    }
    return this.#state.nameOf(userId);
  }

  async #secret(question: string): Promise<string> {
    const answer = await this.#screen.askSecret(question);
    if (answer === undefined || answer === "") throw new ChatError("no password given");
    return answer;
  }

  #need(): ParleyClient {
    if (this.#client === undefined) throw new ChatError("not signed in: /login <user> or /register <user>");
    return this.#client;
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
    try {
      return (await fetchServerInfo(this.#o.baseUrl, this.#o.fetch)).passwordPolicy;
    } catch {
      return undefined;
    }
  }

  #notice(text: string): void {
    this.#screen.print(formatNotice(this.#now(), text));
  }

  #warn(text: string): void {
    this.#screen.print(formatWarning(text));
  }

  /** One line for anything that went wrong, never a stack, never a secret. */
  #fail(e: unknown): void {
    if (e instanceof ChatError) this.#warn(e.message);
    else if (isParleyClientError(e)) this.#warn(`${e.message} (${e.code})`);
    else if (e instanceof CliError) this.#warn(e.message);
    else this.#warn(`unexpected failure: ${e instanceof Error ? e.message : String(e)}`);
  }
}
