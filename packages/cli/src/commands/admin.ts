// `parley admin`: invites, accounts, blocked addresses, rooms, live stats and settings from the terminal, over the admin API or on the data directory.
import { ADMIN_BLOCK_MINUTES_MAX, ADMIN_BLOCK_NOTE_MAX, assertNever } from "@parley/protocol";
import { AdminApi } from "../admin-api.js";
import { parseCommand, wantsHelp } from "../args.js";
import { CliError, EXIT, usageError } from "../cli-error.js";
import { defaultConfigDir } from "../config-dir.js";
import { trustedFetch } from "../https-fetch.js";
import { printable } from "../printable.js";
import { confirm, readHidden } from "../prompt.js";
import { trustServer } from "../server-trust.js";

export const DEFAULT_URL = "https://127.0.0.1:8443";

const USAGE = `usage: parley admin <command> [options]

On a server, over HTTPS, signed in as an admin account:
  invite [--ttl-hours N] [--uses N]
                           create an invite code (valid 72 hours unless N, 1-720; for one
                           account unless --uses, 1-1000)
  invites                  list the newest invite codes' ids, uses left and expiry
  revoke-invite <id>       end an invite code before its time
  users                    list every account
  role <user> admin|member make an account an admin, or take that away (never the last one)
  sign-out <user>          end every session of an account; it may sign in again
  clear-totp <user>        turn two-step sign-in off for someone who lost both their
                           authenticator and recovery codes (check who they are first);
                           their sessions end, and they enrol again at their next sign-in
                           if PARLEY_REQUIRE_TOTP covers them
  disable <user>           disable an account; its sessions end at once
  enable <user>            let a disabled account log in again
  reset-code <user>        a one-time code (24 hours) with which the person sets a new
                           password ("parley reset-password", or the sign-in page)
  blocks                   list the blocked IP addresses: why (failed sign-ins, or which
                           admin, with their note) and for how long
  block <ip> --minutes N [--note TEXT]
                           refuse sign-ins from an address for N minutes (1-43200)
  unblock <ip>             lift the block on an address
  rooms                    list every room with its size and owner
  delete-room <room-id>    delete a room for everyone (its members are told)
  stats                    live figures: connections, people online, rooms, messages per
                           minute, failed sign-ins per hour, blocked addresses
  settings                 the server's effective settings, secrets redacted

On this machine, on the server's own database (nobody becomes admin over the network):
  promote <user>           make an account an admin (this is how the first admin is made)
  demote <user>            take the admin role away
    --data-dir DIR         the server's data directory (default: PARLEY_DATA_DIR, ./data)
    --database-url URL     the server's PostgreSQL (default: DATABASE_URL)

Options of the server commands:
  --url URL                the server (default ${DEFAULT_URL})
  --user NAME              the admin account to sign in as (required)
  --json                   machine-readable output (invite, invites, users, blocks, rooms,
                           stats, settings)
  --ca FILE                trust this CA certificate (PEM) instead of pinning the server's
  --accept-new-fingerprint pin the server's CA again when its fingerprint changed
  --config-dir DIR         where pinned servers are kept (default: $XDG_CONFIG_HOME/parley,
                           else ~/.config/parley)
The password is read from PARLEY_PASSWORD, else asked for on the terminal without echo; an
account with two-step sign-in is asked for its code the same way (PARLEY_TOTP_CODE).
The first use of a URL pins the CA fingerprint the server presents (trust on first use, as
ssh does); a later change is refused with exit status 3.
`;

const REMOTE = [
  "invite",
  "invites",
  "revoke-invite",
  "users",
  "role",
  "sign-out",
  "clear-totp",
  "rooms",
  "stats",
  "settings",
  "disable",
  "enable",
  "reset-code",
  "blocks",
  "block",
  "unblock",
  "delete-room",
] as const;
type Remote = (typeof REMOTE)[number];

const OPTIONS = {
  url: { type: "string" },
  user: { type: "string" },
  json: { type: "boolean" },
  ca: { type: "string" },
  "accept-new-fingerprint": { type: "boolean" },
  "config-dir": { type: "string" },
  "ttl-hours": { type: "string" },
  minutes: { type: "string" },
  note: { type: "string" },
  uses: { type: "string" },
  "data-dir": { type: "string" },
  "database-url": { type: "string" },
} as const;

/** Which options each subcommand takes besides the connection ones. */
const OWN_OPTIONS: Record<Remote | "promote" | "demote", readonly string[]> = {
  invite: ["ttl-hours", "uses", "json"],
  invites: ["json"],
  "revoke-invite": [],
  users: ["json"],
  role: [],
  "sign-out": [],
  "clear-totp": [],
  rooms: ["json"],
  stats: ["json"],
  settings: ["json"],
  blocks: ["json"],
  disable: [],
  enable: [],
  "reset-code": ["json"],
  block: ["minutes", "note"],
  unblock: [],
  "delete-room": [],
  promote: ["data-dir", "database-url"],
  demote: ["data-dir", "database-url"],
};
const CONNECTION_OPTIONS = ["url", "user", "ca", "accept-new-fingerprint", "config-dir"];

/** `parley admin …`: see USAGE. */
export async function adminCommand(argv: string[]): Promise<number> {
  if (wantsHelp(argv)) {
    process.stdout.write(USAGE);
    return EXIT.ok;
  }
  const { values, positionals } = parseCommand(argv, OPTIONS, "admin");
  const [action, ...args] = positionals;
  if (action === undefined) throw usageError("which admin command?", "admin");
  if (!Object.hasOwn(OWN_OPTIONS, action)) throw usageError(`unknown admin command "${action}"`, "admin");
  const sub = action as keyof typeof OWN_OPTIONS;
  const allowed = new Set([
    ...OWN_OPTIONS[sub],
    ...(sub === "promote" || sub === "demote" ? [] : CONNECTION_OPTIONS),
  ]);
  for (const given of Object.keys(values)) {
    if (!allowed.has(given)) throw usageError(`"admin ${sub}" takes no --${given}`, "admin");
  }
  const wantArgs =
    sub === "role"
      ? 2
      : sub === "disable" ||
          sub === "revoke-invite" ||
          sub === "sign-out" ||
          sub === "clear-totp" ||
          sub === "enable" ||
          sub === "reset-code" ||
          sub === "unblock" ||
          sub === "block" ||
          sub === "delete-room" ||
          sub === "promote" ||
          sub === "demote"
        ? 1
        : 0;
  if (args.length !== wantArgs) {
    const count = ["no arguments", "one argument", "two arguments"][wantArgs];
    throw usageError(`"admin ${sub}" takes ${count}`, "admin");
  }
  if (sub === "role" && args[1] !== "admin" && args[1] !== "member") {
    throw usageError('"admin role" takes a user and "admin" or "member"', "admin");
  }

  if (sub === "promote" || sub === "demote") return promote(sub, args[0] ?? "", values);

  let ttlHours: number | undefined;
  if (values["ttl-hours"] !== undefined) {
    ttlHours = Number(values["ttl-hours"]);
    if (!/^\d+$/.test(values["ttl-hours"]) || ttlHours < 1 || ttlHours > 720) {
      throw usageError("--ttl-hours must be a whole number of hours from 1 to 720", "admin");
    }
  }
  let minutes: number | undefined;
  if (sub === "block") {
    if (values.minutes === undefined) throw usageError('"admin block" needs --minutes N', "admin");
    minutes = Number(values.minutes);
    if (!/^\d+$/.test(values.minutes) || minutes < 1 || minutes > ADMIN_BLOCK_MINUTES_MAX) {
      throw usageError(`--minutes must be a whole number from 1 to ${ADMIN_BLOCK_MINUTES_MAX}`, "admin");
    }
    if (values.note !== undefined && [...values.note].length > ADMIN_BLOCK_NOTE_MAX)
      throw usageError(`--note holds at most ${ADMIN_BLOCK_NOTE_MAX} characters`, "admin");
  }
  let maxUses: number | undefined;
  if (values.uses !== undefined) {
    maxUses = Number(values.uses);
    if (!/^\d+$/.test(values.uses) || maxUses < 1 || maxUses > 1000) {
      throw usageError("--uses must be a whole number from 1 to 1000", "admin");
    }
  }
  if (values.user === undefined || values.user.trim() === "")
    throw usageError("--user NAME is required", "admin");
  let url: URL;
  try {
    url = new URL(values.url ?? DEFAULT_URL);
  } catch {
    throw usageError(`--url "${values.url}" is not a URL`, "admin");
  }

  const trust = await trustServer({
    url,
    configDir: values["config-dir"] ?? defaultConfigDir(),
    caFile: values.ca,
    acceptNewFingerprint: values["accept-new-fingerprint"] === true,
    confirm: process.stdin.isTTY && process.stderr.isTTY ? confirm : undefined,
    notice: (line) => process.stderr.write(`${line}\n`),
  });
  const password = await readPassword(values.user);
  const user = values.user;
  const api = await AdminApi.signIn(url, trustedFetch({ ca: trust.ca }), user, password, () =>
    readTotpCode(user),
  );
  try {
    return await runRemote(api, sub, args, {
      json: values.json === true,
      ttlHours,
      maxUses,
      minutes,
      note: values.note,
    });
  } finally {
    await api.signOut();
  }
}

/** The most rooms `admin rooms` lists (pages of 200). */
const ROOMS_LIST_MAX = 100_000;

async function runRemote(
  api: AdminApi,
  sub: Remote,
  args: string[],
  o: {
    json: boolean;
    ttlHours: number | undefined;
    maxUses: number | undefined;
    minutes: number | undefined;
    note: string | undefined;
  },
): Promise<number> {
  const out = (text: string) => process.stdout.write(`${text}\n`);
  const arg = args[0] ?? "";
  const iso = (ms: number) => new Date(ms).toISOString();
  switch (sub) {
    case "invite": {
      const invite = await api.createInvite(o.ttlHours, o.maxUses);
      const uses = invite.maxUses === 1 ? "single use" : `${invite.maxUses} uses`;
      if (o.json) out(JSON.stringify(invite));
      else out(`${invite.code}  (${uses}, valid until ${iso(invite.expiresAt)}; id ${invite.id})`);
      return EXIT.ok;
    }
    case "invites": {
      const invites = await api.invites();
      if (o.json) out(JSON.stringify({ invites }));
      else if (invites.length === 0) out("no invites");
      else {
        out("ID                USES  LEFT  STATUS    EXPIRES                   CREATED BY");
        for (const i of invites) {
          const uses = `${i.uses}/${i.maxUses}`;
          out(
            `${i.id}  ${uses.padEnd(4)}  ${String(i.usesLeft).padEnd(4)}  ${i.status.padEnd(8)}  ${iso(i.expiresAt)}  ${printable(i.createdBy?.username ?? "-")}`,
          );
        }
      }
      return EXIT.ok;
    }
    case "revoke-invite":
      await api.revokeInvite(arg);
      out(`invite ${printable(arg)} revoked`);
      return EXIT.ok;
    case "role": {
      const user = await findUser(api, arg);
      await api.setAdmin(user.id, args[1] === "admin");
      out(`${printable(user.username)} is ${args[1] === "admin" ? "an admin" : "no longer an admin"}`);
      return EXIT.ok;
    }
    case "sign-out": {
      const user = await findUser(api, arg);
      await api.signOutEverywhere(user.id);
      out(`${printable(user.username)} signed out everywhere`);
      return EXIT.ok;
    }
    case "clear-totp": {
      const user = await findUser(api, arg);
      const sessions = await api.clearTotp(user.id);
      const ended = sessions === 1 ? "1 session ended" : `${sessions} sessions ended`;
      out(`two-step sign-in cleared for ${printable(user.username)} (${ended})`);
      return EXIT.ok;
    }
    case "rooms": {
      const rooms: Awaited<ReturnType<AdminApi["rooms"]>>["rooms"] = [];
      let cursor: string | undefined;
      do {
        const page = await api.rooms(cursor);
        rooms.push(...page.rooms);
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined && rooms.length < ROOMS_LIST_MAX);
      if (o.json) out(JSON.stringify({ rooms }));
      else if (rooms.length === 0) out("no rooms");
      else {
        const width = Math.max(4, ...rooms.map((r) => r.name.length));
        out(`ID      ${"NAME".padEnd(width)}  KIND     MEMBERS  OWNER`);
        for (const r of rooms) {
          out(
            `${r.id}  ${printable(r.name).padEnd(width)}  ${(r.isPublic ? "public" : "private").padEnd(7)}  ${String(r.members).padEnd(7)}  ${printable(r.owner?.username ?? "-")}`,
          );
        }
      }
      return EXIT.ok;
    }
    case "stats": {
      const s = await api.stats();
      if (o.json) out(JSON.stringify(s));
      else {
        out(`connections             ${s.connections}`);
        out(`people online           ${s.onlinePeople}`);
        out(`rooms                   ${s.rooms}`);
        out(`messages per minute     ${s.messagesPerMinute}`);
        out(`failed sign-ins / hour  ${s.failedLoginsPerHour}`);
        out(`blocked addresses       ${s.blockedIps}`);
      }
      return EXIT.ok;
    }
    case "settings": {
      const settings = await api.settings();
      if (o.json) out(JSON.stringify({ settings }));
      else
        for (const [key, value] of Object.entries(settings).sort(([a], [b]) => a.localeCompare(b)))
          out(`${key}=${printable(value === null ? "" : String(value))}`);
      return EXIT.ok;
    }
    case "users": {
      const users = await api.users();
      if (o.json) out(JSON.stringify({ users }));
      else if (users.length === 0) out("no accounts");
      else {
        const width = Math.max(8, ...users.map((u) => u.username.length));
        out(`${"USERNAME".padEnd(width)}  ADMIN  DISABLED  2FA  CREATED`);
        for (const u of users) {
          const created = new Date(u.createdAt).toISOString().slice(0, 10);
          out(
            `${printable(u.username).padEnd(width)}  ${(u.isAdmin ? "yes" : "no").padEnd(5)}  ${(u.disabled ? "yes" : "no").padEnd(8)}  ${(u.totp ? "on" : "off").padEnd(3)}  ${created}`,
          );
        }
      }
      return EXIT.ok;
    }
    case "disable":
    case "enable": {
      const user = await findUser(api, arg);
      await api.setDisabled(user.id, sub === "disable");
      out(`${printable(user.username)} ${sub === "disable" ? "disabled (its sessions ended)" : "enabled"}`);
      return EXIT.ok;
    }
    case "blocks": {
      const blocks = await api.blocks();
      if (o.json) out(JSON.stringify({ blocks }));
      else if (blocks.length === 0) out("no blocked addresses");
      else
        for (const b of blocks) {
          const why =
            b.reason === "admin"
              ? `by ${printable(b.blockedBy?.username ?? "an admin")}${b.note === null ? "" : `: ${printable(b.note)}`}`
              : "failed sign-ins";
          out(`${printable(b.ip)}  blocked for ${Math.ceil(b.retryAfterMs / 1000)} s more  (${why})`);
        }
      return EXIT.ok;
    }
    case "reset-code": {
      const user = await findUser(api, arg);
      const issued = await api.issueResetCode(user.id);
      if (o.json) out(JSON.stringify(issued));
      else {
        out(issued.code);
        process.stderr.write(
          `reset code for ${printable(user.username)}, valid until ${new Date(issued.expiresAt).toISOString()}; shown once\n`,
        );
      }
      return EXIT.ok;
    }
    case "delete-room":
      await api.deleteRoom(arg);
      out(`room ${printable(arg)} deleted`);
      return EXIT.ok;
    case "block": {
      const ip = await api.block({
        ip: arg,
        minutes: o.minutes ?? 0,
        ...(o.note === undefined || o.note.trim() === "" ? {} : { note: o.note }),
      });
      out(`${printable(ip)} blocked for ${o.minutes} min`);
      return EXIT.ok;
    }
    case "unblock":
      await api.unblock(arg);
      out(`${arg} unblocked`);
      return EXIT.ok;
    default:
      return assertNever(sub);
  }
}

/** Accounts are named by username on the command line, by id in the API. */
async function findUser(api: AdminApi, name: string) {
  // The server's own comparison (storage/username-key.ts): NFKC, then case-folded.
  const key = name.normalize("NFKC").trim().toLowerCase();
  const user = (await api.users()).find((u) => u.username.normalize("NFKC").toLowerCase() === key);
  if (!user) throw new CliError(`no account named "${printable(name)}"`, EXIT.failed);
  return user;
}

async function readPassword(user: string): Promise<string> {
  const fromEnv = process.env.PARLEY_PASSWORD;
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  if (!process.stdin.isTTY) {
    throw new CliError("no password: set PARLEY_PASSWORD, or run on a terminal to be asked", EXIT.usage);
  }
  return readHidden(`Password for ${user}: `);
}

/** A two-step sign-in code (AUTH-13), or one of the account's TOTP recovery codes. */
async function readTotpCode(user: string): Promise<string> {
  const fromEnv = process.env.PARLEY_TOTP_CODE;
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  if (!process.stdin.isTTY) {
    throw new CliError(
      "this account signs in with a two-step code: set PARLEY_TOTP_CODE, or run on a terminal to be asked",
      EXIT.usage,
    );
  }
  return readHidden(`Two-step code for ${user} (or a recovery code): `);
}

async function promote(
  action: "promote" | "demote",
  username: string,
  values: { "data-dir"?: string; "database-url"?: string },
): Promise<number> {
  const { runPromote, PromoteError, ConfigError } = await import("@parley/server");
  const argv = [action, username];
  if (values["data-dir"] !== undefined) argv.push("--data-dir", values["data-dir"]);
  if (values["database-url"] !== undefined) argv.push("--database-url", values["database-url"]);
  try {
    process.stdout.write(`${await runPromote(argv)}\n`);
    return EXIT.ok;
  } catch (e) {
    if (e instanceof PromoteError) throw new CliError(e.message, e.exitCode);
    if (e instanceof ConfigError) throw new CliError(e.message, EXIT.usage);
    throw e;
  }
}
