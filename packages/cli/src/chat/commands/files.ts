/** `parley chat`'s file commands: /send uploads in the background, /get saves a message's file, /files lists them. */
import { filesIn } from "@parley/client";
import type { CommandTable } from "../commands.js";
import { type ChatContext, ChatError, reason } from "../context.js";
import { dateTime } from "../format.js";
import {
  createLocalSink,
  describeAttachment,
  destinationFor,
  formatBytes,
  openLocalFile,
} from "../transfers.js";
import { numbered } from "./messages.js";

export const fileCommands = {
  send: (ctx, input) => sendFile(ctx, input.path),
  get: (ctx, input) => getFile(ctx, input.n, input.path),
  files: (ctx) => files(ctx),
} satisfies Partial<CommandTable>;

/**
 * `/send <path>`: refused at once when the server would refuse it (off, too large, a refused
 * type); otherwise encrypted and uploaded in the background with a progress bar, and its
 * line printed once sent.
 */
async function sendFile(ctx: ChatContext, path: string): Promise<void> {
  const model = ctx.chat();
  const room = ctx.state.current;
  if (room === undefined) throw new ChatError("no conversation open: /join, /create, /switch or /msg first");
  let file: Awaited<ReturnType<typeof openLocalFile>>;
  try {
    file = await openLocalFile(path);
  } catch (e) {
    throw new ChatError(`cannot read ${path}: ${(e as { code?: string }).code ?? (e as Error).message}`);
  }
  const refusal = await refusalOf(ctx, file.source.size, file.type);
  if (refusal !== undefined) {
    await file.close();
    throw new ChatError(refusal);
  }
  ctx.notice(`sending ${file.name} (${formatBytes(file.source.size)}, ${file.type})`);
  ctx.background(
    model
      .sendFile(room.id, file.source, { name: file.name, type: file.type })
      .then(
        (sent) => {
          const where = ctx.state.current?.id === sent.roomId ? undefined : ctx.state.label(sent.roomId);
          ctx.screen.print(`${ctx.view.line(sent, where)} ${ctx.own.sent(sent)}`);
        },
        (e: unknown) => ctx.warn(`${file.name} was not sent: ${reason(e)}`),
      )
      .finally(() => file.close()),
  );
}

/** Why the server would refuse a file, in words; undefined when it would take it. */
async function refusalOf(ctx: ChatContext, size: number, type: string): Promise<string | undefined> {
  const limits = await ctx.chat().fileLimits();
  if (!limits.enabled) return "this server does not take files (PARLEY_FILES=off)";
  if (size > limits.maxBytes)
    return `the file is ${formatBytes(size)}; this server takes files up to ${formatBytes(limits.maxBytes)}`;
  try {
    await ctx.need().checkFile({ size, type });
  } catch {
    return `this server does not take ${type} files (it takes ${limits.types.join(", ")})`;
  }
  return undefined;
}

/** `/get <n> [path]`: downloads, checks and saves message #n's file in the background. */
async function getFile(ctx: ChatContext, n: number, target: string | undefined): Promise<void> {
  const m = numbered(ctx, n);
  const a = m.attachment;
  if (a === undefined) throw new ChatError(`#${n} has no file`);
  if (a.file === undefined)
    throw new ChatError(
      a.opened === true ? `#${n} was view once and is opened` : `#${n} is still being sent`,
    );
  let path: string;
  try {
    path = await destinationFor(a.name, target, ctx.options.cwd ?? process.cwd());
  } catch (e) {
    throw new ChatError((e as Error).message);
  }
  const sink = await createLocalSink(path);
  ctx.notice(`getting ${a.name} (${formatBytes(a.size)}) from ${m.fromName}`);
  ctx.background(
    ctx
      .chat()
      .download(m.key, sink)
      .then(
        async () => {
          await sink.finish();
          ctx.notice(
            `saved ${a.name} to ${path}${a.viewOnce === true ? " (view once: now gone from your devices)" : ""}`,
          );
        },
        async (e: unknown) => {
          await sink.abort();
          ctx.warn(`${a.name} was not saved: ${reason(e)}`);
        },
      ),
  );
}

/** `/files`: the files of the current conversation (or all), with number, size and sender. */
function files(ctx: ChatContext): void {
  const room = ctx.state.current;
  const files = filesIn(ctx.chat().snapshot, room?.id);
  if (files.length === 0) {
    ctx.notice(room === undefined ? "no files on this device" : `no files in ${ctx.state.label(room.id)}`);
    return;
  }
  for (const m of files) {
    const a = m.attachment!;
    const left =
      a.expiresAt === undefined
        ? ""
        : a.expiresAt <= ctx.now()
          ? ", expired"
          : `, until ${dateTime(a.expiresAt).slice(0, 16)}`;
    ctx.screen.print(`#${ctx.numbers.of(m)} ${describeAttachment(a)} from ${m.fromName}${left}`);
  }
}
