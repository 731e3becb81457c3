/**
 * What a line typed into `parley chat` asks for. Parsing is pure and separate from doing, so
 * every command's syntax is tested without a server. A line that does not start with "/" is a
 * message for the current conversation; "//" at the start sends a message that begins with "/".
 */
export type ChatInput =
  | { readonly kind: "say"; readonly text: string }
  | { readonly kind: "register"; readonly user: string; readonly inviteCode: string | undefined }
  | { readonly kind: "login"; readonly user: string }
  | { readonly kind: "logout" }
  /** AUTH-13: show two-step sign-in, or turn it on or off. */
  | { readonly kind: "2fa"; readonly action: "status" | "on" | "off" }
  /** POLICY-2: what this server keeps and logs; `accept` acknowledges a change. */
  | { readonly kind: "server"; readonly accept: boolean }
  /** A room id, or a public room's name (ROOM-3). */
  | { readonly kind: "join"; readonly roomId: string }
  | { readonly kind: "leave" }
  | { readonly kind: "rooms" }
  /** `--public`: listed, anyone may join (default: invitation only); `--cap N`; `--passphrase` (asked, not shown). */
  | {
      readonly kind: "create";
      readonly name: string;
      readonly isPublic: boolean;
      readonly maxMembers: number | undefined;
      readonly passphrase: boolean;
    }
  /** The public-room directory (ROOM-11): `/directory [text]`, `/rooms --all`; `/more` for the next page. */
  | { readonly kind: "directory"; readonly query: string | undefined }
  | { readonly kind: "more" }
  | { readonly kind: "invites" }
  | { readonly kind: "accept"; readonly room: string }
  | { readonly kind: "decline"; readonly room: string }
  | { readonly kind: "kick"; readonly user: string }
  /** ROOM-19: in the current room. */
  | { readonly kind: "ban"; readonly user: string }
  | { readonly kind: "unban"; readonly user: string }
  | { readonly kind: "bans" }
  /** ACCT-6. */
  | { readonly kind: "block"; readonly user: string }
  | { readonly kind: "unblock"; readonly user: string }
  | { readonly kind: "blocks" }
  /** ACCT-1, ACCT-2: list; or end session number `n` of the list. */
  | { readonly kind: "sessions" }
  | { readonly kind: "session-end"; readonly n: number }
  /** ACCT-3: password asked, then a typed confirmation. */
  | { readonly kind: "delete-account" }
  | { readonly kind: "mod"; readonly user: string; readonly role: "moderator" | "member" }
  | { readonly kind: "rename"; readonly name: string }
  /** Empty: clears the topic. */
  | { readonly kind: "topic"; readonly topic: string }
  | { readonly kind: "privacy"; readonly isPublic: boolean }
  | { readonly kind: "cap"; readonly maxMembers: number | null }
  /** `on`: asked, not shown; `off`: removed. */
  | { readonly kind: "passphrase"; readonly on: boolean }
  | { readonly kind: "settings" }
  | { readonly kind: "delete-room"; readonly confirm: string }
  | { readonly kind: "password" }
  | { readonly kind: "recovery-codes" }
  | { readonly kind: "invite"; readonly user: string }
  | { readonly kind: "msg"; readonly user: string; readonly text: string }
  | { readonly kind: "switch"; readonly target: string }
  | { readonly kind: "who" }
  | { readonly kind: "subscribe"; readonly user: string }
  | { readonly kind: "unsubscribe"; readonly user: string }
  | { readonly kind: "verify"; readonly user: string }
  | { readonly kind: "link"; readonly code: string }
  /** Show (no setting) or set what this device keeps: all, 1d/7d/30d/90d, none. */
  | { readonly kind: "history"; readonly setting: string | undefined }
  /** Show (no setting) or set the current conversation's disappearing timer: off, 1h, 1d, 1w. */
  | { readonly kind: "disappear"; readonly setting: string | undefined }
  | { readonly kind: "devices"; readonly user: string | undefined }
  /** Removes your device number `n` of /devices (IDENT-5), after a confirmation. */
  | { readonly kind: "device-remove"; readonly n: number }
  | { readonly kind: "reset-identity" }
  | { readonly kind: "info"; readonly n: number }
  /** CHAT-1..4, CHAT-6: `n` is the number shown after a message. */
  | { readonly kind: "reply"; readonly n: number; readonly text: string }
  | { readonly kind: "react"; readonly n: number; readonly emoji: string }
  | { readonly kind: "edit"; readonly n: number; readonly text: string }
  | { readonly kind: "delete"; readonly n: number }
  | { readonly kind: "search"; readonly query: string }
  | { readonly kind: "goto"; readonly n: number }
  /** Encrypt and send a file to the current conversation. */
  | { readonly kind: "send"; readonly path: string }
  /** Download message #n's file (to `path`, a directory, or the working directory). */
  | { readonly kind: "get"; readonly n: number; readonly path: string | undefined }
  | { readonly kind: "files" }
  /** Show (no setting) or set whether this user shares read receipts (and sees others'). */
  | { readonly kind: "receipts"; readonly setting: "on" | "off" | undefined }
  /** Issue 18.5: show (no level) or set the current conversation's notifications on this device. */
  | { readonly kind: "notify"; readonly level: "all" | "mentions" | "off" | undefined }
  /** The overview, or one topic's commands (HELP_TOPICS). */
  | { readonly kind: "help"; readonly topic: string | undefined }
  | { readonly kind: "quit" }
  | { readonly kind: "empty" }
  | { readonly kind: "invalid"; readonly reason: string };

/** Every command with its arguments and what it does, for /help and for "unknown command". */
export const COMMAND_HELP: readonly (readonly [string, string])[] = [
  ["/register <user> [invite]", "create an account (password asked twice, not shown)"],
  ["/login <user>", "sign in (password asked, not shown)"],
  ["/logout", "sign out; may erase this device's keys and history"],
  ["/2fa [on | off]", "two-step sign-in: show it, turn it on or off"],
  ["/server [accept]", "what this server keeps and logs; accept a change"],
  ["/rooms [--all]", "your rooms and conversations (--all: public rooms)"],
  ["/create <name> [options]", "new private room; --public --cap N --passphrase"],
  ["/directory [text]", "public rooms with members and topic (/more: next)"],
  ["/join <room-id | name>", "join a public room, or one you were invited to"],
  ["/switch <room>", "go to a room (id or name) or @user (also /open)"],
  ["/leave", "leave the current room"],
  ["/invite <user>", "invite a user to the current room"],
  ["/invites", "invitations waiting for you"],
  ["/accept <room>", "accept an invitation (room id or name)"],
  ["/decline <room>", "decline an invitation"],
  ["/settings", "the current room's settings and your role"],
  ["/rename <name>", "rename the current room (owner, moderators)"],
  ["/topic [text]", "set (or clear) the current room's topic"],
  ["/privacy public|private", "listed and open to all, or invitation only"],
  ["/cap <n>|off", "at most n members (owner)"],
  ["/passphrase on|off", "a passphrase to join this public room (owner)"],
  ["/kick <user>", "remove a member (owner, moderators; or /remove)"],
  ["/ban <user>", "remove and ban from the current room; /unban, /bans"],
  ["/mod <user>", "make a member a moderator (owner); /unmod to undo"],
  ["/delete-room <name>", "delete the room for everyone (owner; its name)"],
  ["/password", "change your password; your other sessions end"],
  ["/sessions", "where your account is signed in (end <n>: end one)"],
  ["/block <user>", "refuse their invitations; /unblock, /blocks"],
  ["/delete-account", "delete your account for good (password asked)"],
  ["/recovery-codes", "ten codes for a forgotten password; print them"],
  ["/msg <user> <text>", "send an end-to-end encrypted direct message"],
  ["/who", "who is online, and the members of the current room"],
  ["/subscribe <user>", "follow a user: see when they come and go"],
  ["/unsubscribe <user>", "stop following a user"],
  ["/verify <user>", "compare safety numbers; mark the user verified"],
  ["/link <code>", "link your new device by the code it shows"],
  ["/history [all|Nd|none]", "history kept here: all (default), 1d-90d, none"],
  ["/disappear [off|1h|1d|1w]", "disappearing messages here, for every member"],
  ["/devices [user]", "your devices (or a user's) and when each was added"],
  ["/devices remove <n>", "remove your device n: signed out and erased"],
  ["/reset-identity", "new identity keys: contacts are warned"],
  ["/reply <n> <text>", "reply to message #n (the number after it)"],
  ["/react <n> <emoji>", "react to #n; the same emoji again takes it back"],
  ["/edit <n> <text>", "change the text of your message #n"],
  ["/delete <n>", "delete your message #n for everyone"],
  ["/search <words>", "find messages on this device (local only)"],
  ["/goto <n>", "open #n's conversation at that message"],
  ["/info <n>", "who has your message #n, device by device"],
  ["/send <path>", "send a file here, end-to-end encrypted"],
  ["/get <n> [path]", "save the file of #n (to a path or directory)"],
  ["/files", "files here: number, name, size, sender"],
  ["/receipts [on|off]", "share read receipts (off: you see nobody's either)"],
  ["/notify [all|mentions|off]", "when this conversation rings the bell here"],
  ["/help [topic]", "the topics; a topic's commands"],
  ["/quit", "leave parley chat (also Ctrl-D)"],
];

/**
 * /help by topic, so that each screen fits a 80x24 terminal: the overview names the topics and
 * a few commands of each; `/help <topic>` lists that topic's commands. Every command of
 * COMMAND_HELP is in exactly one topic (input.test.ts checks it).
 */
export const HELP_TOPICS: readonly {
  readonly name: string;
  readonly about: string;
  readonly commands: readonly string[];
}[] = [
  {
    name: "messages",
    about: "reply, react, edit, delete, search, files",
    commands: [
      "/reply",
      "/react",
      "/edit",
      "/delete",
      "/search",
      "/goto",
      "/info",
      "/msg",
      "/send",
      "/get",
      "/files",
    ],
  },
  {
    name: "rooms",
    about: "list, create, join, switch, invite",
    commands: [
      "/rooms",
      "/create",
      "/directory",
      "/join",
      "/switch",
      "/leave",
      "/invite",
      "/invites",
      "/accept",
      "/decline",
      "/who",
    ],
  },
  {
    name: "manage",
    about: "a room's settings, members and bans",
    commands: [
      "/settings",
      "/rename",
      "/topic",
      "/privacy",
      "/cap",
      "/passphrase",
      "/kick",
      "/ban",
      "/mod",
      "/delete-room",
    ],
  },
  {
    name: "privacy",
    about: "history kept, disappearing, receipts, bell",
    commands: ["/history", "/disappear", "/receipts", "/notify", "/subscribe", "/unsubscribe", "/block"],
  },
  {
    name: "account",
    about: "sign in and out, password, two-step, sessions",
    commands: [
      "/register",
      "/login",
      "/logout",
      "/2fa",
      "/password",
      "/sessions",
      "/recovery-codes",
      "/delete-account",
      "/server",
    ],
  },
  {
    name: "security",
    about: "verify people, devices, linking, identity",
    commands: ["/verify", "/devices", "/devices remove", "/link", "/reset-identity"],
  },
];

/** The first word of a usage ("/devices remove <n>" is "/devices remove"). */
export function commandOf(usage: string): string {
  const words = usage.split(" ");
  return words[1] !== undefined && /^[a-z-]+$/.test(words[1]) ? `${words[0]} ${words[1]}` : (words[0] ?? "");
}

const ALIASES: Record<string, string> = {
  open: "switch",
  exit: "quit",
  q: "quit",
  j: "join",
  m: "msg",
  remove: "kick",
};

export function parseInput(line: string): ChatInput {
  const trimmed = line.trim();
  if (trimmed === "") return { kind: "empty" };
  if (trimmed.startsWith("//")) return { kind: "say", text: trimmed.slice(1) };
  if (!trimmed.startsWith("/")) return { kind: "say", text: trimmed };

  const [head = "", ...words] = trimmed.slice(1).split(/\s+/);
  const name = ALIASES[head.toLowerCase()] ?? head.toLowerCase();
  const rest = trimmed.slice(1 + head.length).trim();
  const one = (
    what: string,
    kind:
      | "login"
      | "invite"
      | "subscribe"
      | "unsubscribe"
      | "verify"
      | "kick"
      | "ban"
      | "unban"
      | "block"
      | "unblock",
  ): ChatInput =>
    words.length === 1 && words[0] !== undefined
      ? { kind, user: stripAt(words[0]) }
      : { kind: "invalid", reason: `usage: /${name} <${what}>` };
  const none = (
    kind:
      | "logout"
      | "leave"
      | "rooms"
      | "who"
      | "quit"
      | "more"
      | "invites"
      | "settings"
      | "password"
      | "bans"
      | "blocks"
      | "delete-account"
      | "recovery-codes",
  ): ChatInput =>
    words.length === 0 ? { kind } : { kind: "invalid", reason: `/${name} takes no arguments` };

  switch (name) {
    case "register":
      if (words.length < 1 || words.length > 2 || words[0] === undefined)
        return { kind: "invalid", reason: "usage: /register <user> [invite-code]" };
      return { kind: "register", user: stripAt(words[0]), inviteCode: words[1] };
    case "login":
      return one("user", "login");
    case "2fa":
      if (words.length === 0) return { kind: "2fa", action: "status" };
      return words.length === 1 && (words[0] === "on" || words[0] === "off")
        ? { kind: "2fa", action: words[0] }
        : { kind: "invalid", reason: "usage: /2fa [on | off]" };
    case "server":
      if (words.length === 0) return { kind: "server", accept: false };
      return words.length === 1 && words[0] === "accept"
        ? { kind: "server", accept: true }
        : { kind: "invalid", reason: "usage: /server [accept]" };
    case "invite":
    case "kick":
    case "ban":
    case "unban":
    case "block":
    case "unblock":
    case "subscribe":
    case "unsubscribe":
    case "verify":
      return one("user", name);
    case "link":
      return rest !== ""
        ? { kind: "link", code: rest }
        : { kind: "invalid", reason: "usage: /link <code shown on the new device>" };
    case "devices":
      if (words[0] === "remove") {
        const n = Number(words[1]);
        return words.length === 2 && Number.isSafeInteger(n) && n >= 1
          ? { kind: "device-remove", n }
          : { kind: "invalid", reason: "usage: /devices remove <n> (n as /devices numbers them)" };
      }
      return words.length <= 1
        ? { kind: "devices", user: words[0] === undefined ? undefined : stripAt(words[0]) }
        : { kind: "invalid", reason: "usage: /devices [user] or /devices remove <n>" };
    case "bans":
    case "blocks":
    case "delete-account":
      return none(name);
    case "sessions": {
      if (words.length === 0) return { kind: "sessions" };
      const n = Number(words[1]);
      return words[0] === "end" && words.length === 2 && Number.isSafeInteger(n) && n >= 1
        ? { kind: "session-end", n }
        : { kind: "invalid", reason: "usage: /sessions or /sessions end <n> (n as /sessions numbers them)" };
    }
    case "reset-identity":
      return words.length === 0
        ? { kind: "reset-identity" }
        : { kind: "invalid", reason: "/reset-identity takes no arguments" };
    case "join":
      return rest !== ""
        ? { kind: "join", roomId: rest }
        : { kind: "invalid", reason: "usage: /join <room-id | name>" };
    case "accept":
    case "decline":
      return rest !== "" ? { kind: name, room: rest } : { kind: "invalid", reason: `usage: /${name} <room>` };
    case "directory":
      return { kind: "directory", query: rest === "" ? undefined : rest };
    case "mod":
    case "unmod":
      return words.length === 1 && words[0] !== undefined
        ? { kind: "mod", user: stripAt(words[0]), role: name === "mod" ? "moderator" : "member" }
        : { kind: "invalid", reason: `usage: /${name} <user>` };
    case "rename":
      return rest !== ""
        ? { kind: "rename", name: rest }
        : { kind: "invalid", reason: "usage: /rename <name>" };
    case "topic":
      return { kind: "topic", topic: rest };
    case "privacy":
      return words.length === 1 && (words[0] === "public" || words[0] === "private")
        ? { kind: "privacy", isPublic: words[0] === "public" }
        : { kind: "invalid", reason: "usage: /privacy public|private" };
    case "cap": {
      const n = Number(words[0]);
      if (words.length === 1 && words[0] === "off") return { kind: "cap", maxMembers: null };
      return words.length === 1 && Number.isSafeInteger(n) && n >= 2
        ? { kind: "cap", maxMembers: n }
        : { kind: "invalid", reason: "usage: /cap <n (2 or more)>|off" };
    }
    case "passphrase":
      return words.length === 1 && (words[0] === "on" || words[0] === "off")
        ? { kind: "passphrase", on: words[0] === "on" }
        : { kind: "invalid", reason: "usage: /passphrase on|off" };
    case "delete-room":
      return rest !== ""
        ? { kind: "delete-room", confirm: rest }
        : { kind: "invalid", reason: "usage: /delete-room <the room's name, to confirm>" };
    case "switch":
      return words.length === 1 && words[0] !== undefined
        ? { kind: "switch", target: words[0] }
        : { kind: "invalid", reason: "usage: /switch <room-id | name | @user>" };
    case "create":
      return parseCreate(words);
    case "msg": {
      const user = words[0];
      const text = user === undefined ? "" : rest.slice(user.length).trim();
      return user !== undefined && text !== ""
        ? { kind: "msg", user: stripAt(user), text }
        : { kind: "invalid", reason: "usage: /msg <user> <text>" };
    }
    case "history":
    case "disappear":
      return words.length <= 1
        ? { kind: name, setting: words[0] }
        : {
            kind: "invalid",
            reason:
              name === "history"
                ? "usage: /history [all|1d|7d|30d|90d|none]"
                : "usage: /disappear [off|1h|1d|1w]",
          };
    case "receipts": {
      const setting = words[0];
      return words.length === 0 || (words.length === 1 && (setting === "on" || setting === "off"))
        ? { kind: "receipts", setting: setting as "on" | "off" | undefined }
        : { kind: "invalid", reason: "usage: /receipts [on|off]" };
    }
    case "notify": {
      const level = words[0];
      return words.length === 0 ||
        (words.length === 1 && (level === "all" || level === "mentions" || level === "off"))
        ? { kind: "notify", level: level as "all" | "mentions" | "off" | undefined }
        : { kind: "invalid", reason: "usage: /notify [all|mentions|off]" };
    }
    case "reply":
    case "edit":
    case "react": {
      const n = messageNumber(words[0]);
      const text = words[0] === undefined ? "" : rest.slice(words[0].length).trim();
      if (n === undefined || text === "")
        return {
          kind: "invalid",
          reason: name === "react" ? "usage: /react <n> <emoji>" : `usage: /${name} <n> <text>`,
        };
      if (name === "react")
        return [...text].length <= 32 && !/\s/.test(text)
          ? { kind: "react", n, emoji: text }
          : { kind: "invalid", reason: "usage: /react <n> <emoji> (one emoji)" };
      return { kind: name, n, text };
    }
    case "delete":
    case "goto": {
      const n = messageNumber(words[0]);
      return words.length === 1 && n !== undefined
        ? { kind: name, n }
        : { kind: "invalid", reason: `usage: /${name} <n> (the number after a message)` };
    }
    case "send":
      return rest !== "" ? { kind: "send", path: rest } : { kind: "invalid", reason: "usage: /send <path>" };
    case "get": {
      const n = messageNumber(words[0]);
      const path = words[0] === undefined ? "" : rest.slice(words[0].length).trim();
      return n !== undefined
        ? { kind: "get", n, path: path === "" ? undefined : path }
        : { kind: "invalid", reason: "usage: /get <n> [path] (the number after a file)" };
    }
    case "files":
      return words.length === 0
        ? { kind: "files" }
        : { kind: "invalid", reason: "/files takes no arguments" };
    case "search":
      return rest !== ""
        ? { kind: "search", query: rest }
        : { kind: "invalid", reason: "usage: /search <words>" };
    case "info": {
      const n = Number(words[0]);
      return words.length === 1 && Number.isSafeInteger(n) && n > 0
        ? { kind: "info", n }
        : { kind: "invalid", reason: "usage: /info <n> (the number after one of your messages)" };
    }
    case "rooms":
      if (words.length === 1 && words[0] === "--all") return { kind: "directory", query: undefined };
      return none(name);
    case "help":
      return words.length <= 1
        ? { kind: "help", topic: words[0]?.toLowerCase() }
        : { kind: "invalid", reason: "usage: /help [topic]" };
    case "logout":
    case "leave":
    case "who":
    case "quit":
    case "more":
    case "invites":
    case "settings":
    case "password":
    case "recovery-codes":
      return none(name);
    default:
      return { kind: "invalid", reason: `unknown command /${head} (see /help)` };
  }
}

/** `/create <name> [--public] [--cap N] [--passphrase]`: flags anywhere, the other words are the name. */
function parseCreate(words: readonly string[]): ChatInput {
  const usage: ChatInput = {
    kind: "invalid",
    reason: "usage: /create <name> [--public] [--cap N] [--passphrase]",
  };
  const name: string[] = [];
  let isPublic = false;
  let passphrase = false;
  let maxMembers: number | undefined;
  for (let i = 0; i < words.length; i++) {
    const w = words[i] ?? "";
    if (w === "--public") isPublic = true;
    else if (w === "--private") isPublic = false;
    else if (w === "--passphrase") passphrase = true;
    else if (w === "--cap") {
      const n = Number(words[++i]);
      if (!Number.isSafeInteger(n) || n < 2) return usage;
      maxMembers = n;
    } else if (w.startsWith("--")) return usage;
    else name.push(w);
  }
  if (name.length === 0) return usage;
  return { kind: "create", name: name.join(" "), isPublic, maxMembers, passphrase };
}

/** A message's number as shown ("7" or "#7"), or undefined. */
function messageNumber(word: string | undefined): number | undefined {
  const n = Number(word?.startsWith("#") ? word.slice(1) : word);
  return word !== undefined && word !== "" && Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** "@alice" and "alice" name the same user. */
function stripAt(user: string): string {
  return user.startsWith("@") && user.length > 1 ? user.slice(1) : user;
}
