/** `parley chat`'s dispatch table: one handler per kind of input line (input.ts parses them), gathered from the command modules by area. */

import { accountCommands } from "./commands/account.js";
import { deviceCommands } from "./commands/devices.js";
import { fileCommands } from "./commands/files.js";
import { messageCommands } from "./commands/messages.js";
import { roomCommands } from "./commands/rooms.js";
import { serverCommands } from "./commands/server.js";
import type { ChatContext } from "./context.js";
import { ChatError } from "./context.js";
import { HELP_OVERVIEW_LINES, helpTopicLines } from "./format.js";
import { type ChatInput, HELP_TOPICS } from "./input.js";

type Kind = ChatInput["kind"];
type Handler<K extends Kind> = (
  ctx: ChatContext,
  input: Extract<ChatInput, { kind: K }>,
) => Promise<void> | void;

/** A handler for every kind of input: a kind without one does not compile. */
export type CommandTable = { readonly [K in Kind]: Handler<K> };

const COMMANDS: CommandTable = {
  empty: () => undefined,
  quit: () => undefined,
  invalid: (_, input) => {
    throw new ChatError(input.reason);
  },
  help: (ctx, input) => {
    if (input.topic === undefined) {
      ctx.screen.print(...HELP_OVERVIEW_LINES);
      return;
    }
    const lines = helpTopicLines(input.topic);
    if (lines === undefined)
      throw new ChatError(
        `no help topic "${input.topic}" (topics: ${HELP_TOPICS.map((t) => t.name).join(", ")}, all)`,
      );
    ctx.screen.print(...lines);
  },
  ...accountCommands,
  ...deviceCommands,
  ...fileCommands,
  ...messageCommands,
  ...roomCommands,
  ...serverCommands,
};

/** Runs one parsed line. */
export function runCommand(ctx: ChatContext, input: ChatInput): Promise<void> | void {
  const handler = COMMANDS[input.kind] as Handler<Kind>;
  return handler(ctx, input as never);
}
