/** `parley chat`'s room commands: listing, creating, joining and leaving conversations, invitations, moderation, room settings, members and per-room notification and timer settings. */
import {
  describeDisappearing,
  type InvitedEvent,
  invitationsTo,
  isParleyClientError,
  type NotifyLevel,
  parseDisappearing,
  roleIn,
} from "@parley/client";
import type { RoomView } from "@parley/protocol";
import { printable } from "../../printable.js";
import type { CommandTable } from "../commands.js";
import { type ChatContext, ChatError } from "../context.js";
import { dateTime, suiteLine, TRUST_MARK } from "../format.js";

/** Public rooms per `/directory` page. */
const DIRECTORY_PAGE = 20;

const NOTIFY_WORDS: Record<NotifyLevel, string> = {
  all: "every message rings the bell",
  mentions: "only mentions of you ring the bell",
  off: "muted, nothing rings the bell",
};

export const roomCommands = {
  rooms: (ctx) => rooms(ctx),
  create: async (ctx, input) => {
    const passphrase = input.passphrase
      ? await ctx.secret("Passphrase to join the room (not shown): ", "no passphrase given")
      : undefined;
    const room = await ctx.chat().createRoom(input.name, {
      isPublic: input.isPublic,
      ...(input.maxMembers !== undefined ? { maxMembers: input.maxMembers } : {}),
      ...(passphrase !== undefined ? { passphrase } : {}),
    });
    ctx.state.setCurrent(room.id);
    ctx.notice(
      room.isPublic
        ? `created ${ctx.state.label(room.id)} (id ${room.id}), public: listed in /directory, others join with /join ${room.id}`
        : `created ${ctx.state.label(room.id)} (id ${room.id}), private: only people you /invite can join`,
    );
    return ctx.view.showKept(room.id);
  },
  join: (ctx, input) => join(ctx, input.roomId),
  directory: (ctx, input) => directory(ctx, input.query, undefined),
  more: (ctx) => {
    const page = ctx.directoryPage;
    if (page === undefined) throw new ChatError("no more public rooms to show: /directory [text] first");
    return directory(ctx, page.query, page.next);
  },
  invites: (ctx) => invites(ctx),
  accept: async (ctx, input) => {
    const invited = await invitation(ctx, input.room);
    const room = await ctx.chat().acceptInvitation(invited.room.id);
    ctx.state.setCurrent(room.id);
    ctx.notice(`joined ${ctx.state.label(room.id)} (${room.id})`);
    return ctx.view.showKept(room.id);
  },
  decline: async (ctx, input) => {
    const invited = await invitation(ctx, input.room);
    await ctx.chat().declineInvitation(invited.room.id);
    ctx.notice(`declined ${invited.by.username}'s invitation to #${printable(invited.room.name)}`);
  },
  switch: (ctx, input) => {
    const found = ctx.state.resolve(input.target);
    if ("error" in found) throw new ChatError(found.error);
    ctx.state.setCurrent(found.roomId);
    ctx.notice(`now talking in ${ctx.state.label(found.roomId)}`);
    return ctx.view.showKept(found.roomId);
  },
  leave: async (ctx) => {
    const room = ctx.currentRoom();
    const label = ctx.state.label(room.id);
    await ctx.chat().leave(room.id);
    ctx.notice(`left ${label}`);
  },
  invite: async (ctx, input) => {
    const room = ctx.currentRoom();
    const user = await ctx.user(input.user);
    await ctx.chat().invite(room.id, user.id);
    ctx.notice(`invited ${user.username} to ${ctx.state.label(room.id)}`);
  },
  kick: async (ctx, input) => {
    const room = ctx.currentRoom();
    const user = await ctx.user(input.user);
    await ctx.chat().remove(room.id, user.id);
  },
  ban: async (ctx, input) => {
    const room = ctx.currentRoom();
    const user = await ctx.user(input.user);
    await ctx.chat().ban(room.id, user.id);
  },
  unban: async (ctx, input) => {
    const room = ctx.currentRoom();
    const user = await ctx.user(input.user);
    await ctx.chat().unban(room.id, user.id);
  },
  bans: async (ctx) => {
    const room = ctx.currentRoom();
    const bans = await ctx.chat().bans(room.id);
    ctx.screen.print(
      `banned from ${ctx.state.label(room.id)} (${bans.length}):`,
      ...bans.map(
        (b) => `  ${b.user.username}${b.by !== null ? ` by ${b.by.username}` : ""}, ${dateTime(b.ts)}`,
      ),
    );
  },
  mod: async (ctx, input) => {
    const room = ctx.currentRoom();
    const user = await ctx.user(input.user);
    await ctx.chat().setRole(room.id, user.id, input.role);
  },
  rename: async (ctx, input) => {
    await ctx.chat().updateRoom(ctx.currentRoom().id, { name: input.name });
  },
  topic: async (ctx, input) => {
    await ctx.chat().updateRoom(ctx.currentRoom().id, { topic: input.topic });
  },
  privacy: async (ctx, input) => {
    await ctx.chat().updateRoom(ctx.currentRoom().id, { isPublic: input.isPublic });
  },
  cap: async (ctx, input) => {
    await ctx.chat().updateRoom(ctx.currentRoom().id, { maxMembers: input.maxMembers });
  },
  passphrase: async (ctx, input) => {
    const room = ctx.currentRoom();
    const passphrase = input.on
      ? await ctx.secret("New passphrase to join the room (not shown): ", "no passphrase given")
      : null;
    await ctx.chat().updateRoom(room.id, { passphrase });
  },
  settings: (ctx) => settings(ctx),
  "delete-room": async (ctx, input) => {
    const room = ctx.currentRoom();
    if (input.confirm !== room.name)
      throw new ChatError(`type the room's name to delete it for everyone: /delete-room ${room.name}`);
    const label = ctx.state.label(room.id);
    await ctx.chat().deleteRoom(room.id);
    ctx.notice(`deleted ${label} for everyone`);
  },
  who: (ctx) => who(ctx),
  notify: (ctx, input) => notify(ctx, input.level),
  disappear: (ctx, input) => disappear(ctx, input.setting),
} satisfies Partial<CommandTable>;

async function rooms(ctx: ChatContext): Promise<void> {
  await ctx.chat().refresh();
  const rooms = ctx.state.rooms();
  if (rooms.length === 0) {
    ctx.notice("no rooms yet: /create <name>, /directory, /join <room> or /msg <user> <text>");
    return;
  }
  const current = ctx.state.current?.id;
  const model = ctx.chat();
  const unread = model.snapshot.unread;
  ctx.screen.print(
    ...rooms.map((r) => {
      const kind = r.kind === "direct" ? "direct" : r.isPublic ? "public room" : "private room";
      const n = unread[r.id] ?? 0;
      const count = n > 0 ? `  ${n} unread` : "";
      const muted = model.notifyLevel(r.id) === "off" ? ", muted" : "";
      return `${r.id === current ? "*" : " "} ${ctx.state.label(r.id).padEnd(24)} ${r.id}  ${kind}${muted}${count}`;
    }),
    ...model.snapshot.followedPosts.map(
      (p) =>
        `  ${p.by.username} (followed) posted ${p.count === 1 ? "once" : `${p.count} times`} in public room ${p.roomId}: /join ${p.roomId}`,
    ),
  );
}

/** `/join`: by id or a public room's name; asks for the passphrase when the room wants one (ROOM-15). */
async function join(ctx: ChatContext, target: string): Promise<void> {
  const model = ctx.chat();
  let room: RoomView;
  try {
    room = await model.join(target);
  } catch (e) {
    if (!isParleyClientError(e, "passphrase_required")) throw e;
    const passphrase = await ctx.secret("This room has a passphrase (not shown): ", "no passphrase given");
    room = await model.join(target, passphrase);
  }
  ctx.state.setCurrent(room.id);
  ctx.notice(`joined ${ctx.state.label(room.id)} (${room.id})`);
  return ctx.view.showKept(room.id);
}

/** ROOM-11: one page of the public rooms, with member counts and topics. */
async function directory(
  ctx: ChatContext,
  query: string | undefined,
  after: string | undefined,
): Promise<void> {
  const page = await ctx.chat().discover({
    limit: DIRECTORY_PAGE,
    ...(query !== undefined ? { query } : {}),
    ...(after !== undefined ? { after } : {}),
  });
  ctx.directoryPage = page.next !== undefined ? { query, next: page.next } : undefined;
  if (page.rooms.length === 0) {
    ctx.notice(
      after === undefined
        ? `no public rooms${query ? ` named like "${printable(query)}"` : ""}`
        : "no more public rooms",
    );
    return;
  }
  const mine = new Set(ctx.chat().snapshot.rooms.map((r) => r.id));
  ctx.screen.print(
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
async function invites(ctx: ChatContext): Promise<void> {
  const model = ctx.chat();
  await model.loadInvitations();
  const list = model.snapshot.invitations;
  if (list.length === 0) {
    ctx.notice("no invitations waiting");
    return;
  }
  ctx.screen.print(
    ...list.map((i) => `  #${printable(i.room.name).padEnd(22)} ${i.room.id}  from ${i.by.username}`),
    "  (/accept <room> or /decline <room>)",
  );
}

/** A waiting invitation by room id or name. */
async function invitation(ctx: ChatContext, target: string): Promise<InvitedEvent> {
  const model = ctx.chat();
  await model.loadInvitations();
  const found = invitationsTo(model.snapshot, target);
  if (found.length === 0) throw new ChatError(`no invitation to ${target} (see /invites)`);
  if (found.length > 1)
    throw new ChatError(`several invitations to rooms named ${target}: use the room's id`);
  return found[0]!;
}

/** The current room's settings and this user's role in it. */
async function settings(ctx: ChatContext): Promise<void> {
  const model = ctx.chat();
  const room = ctx.currentRoom();
  await model.loadMembers(room.id);
  const me = ctx.me();
  const role = roleIn(model.snapshot, room.id, me.id);
  ctx.screen.print(
    `${ctx.state.label(room.id)} (${room.id})`,
    `  topic:      ${room.topic ? printable(room.topic) : "none"}`,
    `  privacy:    ${room.isPublic ? "public: listed, anyone may join" : "private: by invitation only"}`,
    `  cap:        ${room.maxMembers !== undefined ? `${room.maxMembers} members` : "none"}`,
    `  passphrase: ${room.hasPassphrase ? "set" : "none"}`,
    `  your role:  ${role}`,
  );
}

async function who(ctx: ChatContext): Promise<void> {
  const model = ctx.chat();
  await model.refreshPeople();
  const online = model.snapshot.people.filter((u) => u.online);
  ctx.screen.print(`online (${online.length}): ${online.map((u) => u.username).join(", ") || "nobody"}`);
  const room = ctx.state.current;
  if (room === undefined) return;
  await model.loadMembers(room.id);
  const { members: all, trust } = model.snapshot;
  const members = all[room.id] ?? [];
  const me = ctx.me();
  const rows: string[] = [];
  for (const m of members) {
    const mark = m.userId === me.id ? " " : TRUST_MARK[trust[m.userId] ?? "unverified"];
    const role = m.role === "member" ? "" : ` (${m.role})`;
    rows.push(`  ${mark} ${m.username}${role}${m.online ? "" : "  offline"}`);
  }
  ctx.screen.print(
    `members of ${ctx.state.label(room.id)} (${members.length}):`,
    ...rows,
    suiteLine(await ctx.need().suite(room.id)),
  );
}

/** Issue 18.5: the current conversation's notification level on this device. */
function notify(ctx: ChatContext, level: NotifyLevel | undefined): void {
  const room = ctx.currentRoom();
  const model = ctx.chat();
  if (level !== undefined) model.setNotifyLevel(room.id, level);
  const now = model.notifyLevel(room.id);
  ctx.notice(
    `notifications in ${ctx.state.label(room.id)}: ${NOTIFY_WORDS[now]}${level === undefined ? " (/notify all|mentions|off)" : ""}`,
  );
}

async function disappear(ctx: ChatContext, setting: string | undefined): Promise<void> {
  const room = ctx.currentRoom();
  const model = ctx.chat();
  if (setting === undefined) {
    const now = describeDisappearing(model.snapshot.disappearing[room.id] ?? 0);
    ctx.notice(`disappearing messages in ${ctx.state.label(room.id)}: ${now} (/disappear off|1h|1d|1w)`);
    return;
  }
  const seconds = parseDisappearing(setting);
  if (seconds === undefined) throw new ChatError("usage: /disappear [off|1h|1d|1w]");
  await model.setDisappearing(room.id, seconds);
  ctx.notice(
    seconds === 0
      ? "you turned off disappearing messages"
      : `you set disappearing messages to ${describeDisappearing(seconds)}`,
  );
}
