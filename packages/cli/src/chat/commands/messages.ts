/** `parley chat`'s message commands: sending, replying, direct messages, reactions, edits and deletes by number, search, /goto, /info, and the history and read-receipt settings. */
import {
  type ChatMessage,
  describeRetention,
  keepsNoMessages,
  messageInContext,
  parseRetention,
} from "@parley/client";
import type { CommandTable } from "../commands.js";
import { type ChatContext, ChatError } from "../context.js";
import { dateTime } from "../format.js";
import { OwnMessages } from "../own-messages.js";

/** Search hits printed at most (CHAT-6). */
const SEARCH_SHOWN = 20;
/** Messages shown before and after the one /goto opens at. */
const CONTEXT = 5;

export const messageCommands = {
  say: (ctx, input) => say(ctx, input.text),
  reply: (ctx, input) => reply(ctx, input.n, input.text),
  msg: (ctx, input) => direct(ctx, input.user, input.text),
  react: (ctx, input) => {
    const m = numbered(ctx, input.n);
    return ctx.chat().react(m.roomId, m, input.emoji);
  },
  edit: (ctx, input) => {
    const m = numbered(ctx, input.n);
    return ctx.chat().edit(m.roomId, m, input.text);
  },
  delete: (ctx, input) => {
    const m = numbered(ctx, input.n);
    return ctx.chat().deleteForEveryone(m.roomId, m);
  },
  info: (ctx, input) => info(ctx, input.n),
  search: (ctx, input) => search(ctx, input.query),
  goto: (ctx, input) => goto(ctx, input.n),
  history: (ctx, input) => historySetting(ctx, input.setting),
  receipts: (ctx, input) => receipts(ctx, input.setting),
} satisfies Partial<CommandTable>;

async function say(ctx: ChatContext, text: string): Promise<void> {
  const model = ctx.chat();
  const room = ctx.state.current;
  if (room === undefined) throw new ChatError("no conversation open: /join, /create, /switch or /msg first");
  const sent = await model.send(room.id, text);
  ctx.screen.print(`${ctx.view.line(sent, undefined)} ${ctx.own.sent(sent)}`);
}

/** CHAT-1: a reply to message #n, in that message's conversation. */
async function reply(ctx: ChatContext, n: number, text: string): Promise<void> {
  const target = numbered(ctx, n);
  const sent = await ctx.chat().send(target.roomId, text, { replyTo: target });
  const where = ctx.state.current?.id === target.roomId ? undefined : ctx.state.label(target.roomId);
  ctx.screen.print(`${ctx.view.line(sent, where)} ${ctx.own.sent(sent)}`);
}

/** Message #n as the model has it now. */
export function numbered(ctx: ChatContext, n: number): ChatMessage {
  const at = ctx.numbers.find(n);
  const m = at === undefined ? undefined : ctx.chat().message(at.roomId, at);
  if (m === undefined) throw new ChatError(`no message #${n} on screen in this session`);
  if (m.deleted === true) throw new ChatError(`#${n} was deleted`);
  return m;
}

/** CHAT-6: messages on this device with every word, newest last (nearest the prompt). */
function search(ctx: ChatContext, query: string): void {
  const hits = ctx.chat().search(query, { limit: SEARCH_SHOWN });
  if (hits.length === 0) {
    ctx.notice(`no message on this device has "${query}" (search is local: this device's history only)`);
    return;
  }
  ctx.notice(
    `${hits.length}${hits.length === SEARCH_SHOWN ? "+" : ""} found on this device for "${query}"; /goto <n> opens one in its conversation`,
  );
  for (const m of [...hits].reverse()) {
    const line = `${ctx.view.line(m, ctx.state.label(m.roomId))} #${ctx.numbers.of(m)}`;
    ctx.screen.print(`${dateTime(m.ts).slice(0, 10)} ${line}`);
  }
}

/** CHAT-6: opens message #n's conversation at that message, with the messages around it. */
function goto(ctx: ChatContext, n: number): void {
  const at = ctx.numbers.find(n);
  const shown = at === undefined ? undefined : messageInContext(ctx.chat().snapshot, at, CONTEXT);
  if (at === undefined || shown === undefined)
    throw new ChatError(`no message #${n} on screen in this session`);
  ctx.state.setCurrent(at.roomId);
  ctx.chat().markRead(at.roomId);
  ctx.notice(`now talking in ${ctx.state.label(at.roomId)}, at #${n}:`);
  for (const m of shown) ctx.view.printMessage(m, true);
}

/** RCPT-2: who has one of this session's messages, device by device. */
async function info(ctx: ChatContext, n: number): Promise<void> {
  const model = ctx.chat();
  const mine = ctx.own.find(n);
  const m =
    mine === undefined ? undefined : model.snapshot.messages[mine.roomId]?.find((x) => x.key === mine.key);
  const info = m === undefined ? undefined : model.deliveryInfo(m.key);
  if (m === undefined || info === undefined) throw new ChatError(`no message #${n} of yours in this session`);
  const server = await ctx.serverInfo();
  ctx.screen.print(...OwnMessages.describe(n, m.text, info, keepsNoMessages(server)));
}

async function direct(ctx: ChatContext, name: string, text: string): Promise<void> {
  const model = ctx.chat();
  const user = await ctx.user(name);
  const room = await model.openDirect(user.id);
  const sent = await model.send(room.id, text);
  const where = ctx.state.current?.id === room.id ? undefined : `-> ${ctx.state.label(room.id)}`;
  ctx.screen.print(`${ctx.view.line(sent, where)} ${ctx.own.sent(sent)}`);
}

/** `/history [setting]`: how long this device keeps messages, shown or changed. */
async function historySetting(ctx: ChatContext, setting: string | undefined): Promise<void> {
  ctx.chat();
  if (setting === undefined) {
    ctx.notice(`${describeRetention(ctx.retention)} (/history all|1d|7d|30d|90d|none)`);
    return;
  }
  const next = parseRetention(setting);
  if (next === undefined) throw new ChatError("usage: /history [all|1d|7d|30d|90d|none]");
  await ctx.setRetention(next);
  ctx.notice(describeRetention(next));
}

async function receipts(ctx: ChatContext, setting: "on" | "off" | undefined): Promise<void> {
  const model = ctx.chat();
  if (setting !== undefined) await model.setReadReceipts(setting === "on");
  ctx.notice(
    model.readReceipts
      ? "read receipts: on (others see when you read their messages, you see when they read yours)"
      : "read receipts: off (nobody sees when you read, and you see nobody's)",
  );
}
