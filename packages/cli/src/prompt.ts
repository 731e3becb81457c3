// Reads a password without echo, and yes/no answers, from the terminal.
import { createInterface } from "node:readline/promises";
import { CliError, EXIT } from "./cli-error.js";

/**
 * Reads a line from the terminal without echoing it (a password). Needs stdin to be a TTY.
 * Ctrl-C aborts (exit 130), Ctrl-D on an empty line aborts, backspace edits.
 */
export function readHidden(prompt: string): Promise<string> {
  const input = process.stdin;
  const output = process.stderr;
  if (!input.isTTY) throw new TypeError("readHidden needs a terminal on stdin");
  // Echo off before the prompt shows: whatever is typed after seeing it must not be echoed.
  input.setRawMode(true);
  input.resume();
  input.setEncoding("utf8");
  output.write(prompt);
  return new Promise((resolve, reject) => {
    let value = "";
    const finish = (error?: CliError) => {
      input.off("data", onData);
      input.setRawMode(false);
      input.pause();
      output.write("\n");
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === "\r" || ch === "\n") return finish();
        if (ch === "\u0003") return finish(new CliError("interrupted", EXIT.interrupted));
        if (ch === "\u0004" && value === "") return finish(new CliError("no password given", EXIT.usage));
        if (ch === "\u007f" || ch === "\b") value = [...value].slice(0, -1).join("");
        else if (ch >= " ") value += ch;
      }
    };
    input.on("data", onData);
  });
}

/** A yes/no question on the terminal; only "y" or "yes" is yes. */
export async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}
