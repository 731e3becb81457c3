import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { cleanEnv } from "./cli.js";

const run = promisify(execFile);

/** Whether tmux is installed (scripts/ensure-services.sh installs it). */
export async function haveTmux(): Promise<boolean> {
  try {
    await run("tmux", ["-V"]);
    return true;
  } catch {
    return false;
  }
}

/**
 * One detached tmux session on its own socket, for a program that needs a real terminal: type
 * with send-keys, read the screen with capture-pane, every wait bounded.
 */
export class TmuxSession {
  readonly socket = `parley-${process.pid}-${randomBytes(4).toString("hex")}`;
  readonly name = "s";

  constructor(private readonly env: Record<string, string>) {}

  tmux(...args: string[]) {
    return run("tmux", ["-L", this.socket, ...args], { env: cleanEnv(this.env) });
  }

  start(command: string, cwd: string, columns = 80, rows = 24) {
    return this.tmux(
      "new-session",
      "-d",
      "-s",
      this.name,
      "-x",
      String(columns),
      "-y",
      String(rows),
      "-c",
      cwd,
      command,
    );
  }

  async screen(): Promise<string[]> {
    const { stdout } = await this.tmux("capture-pane", "-p", "-t", this.name);
    return stdout.split("\n");
  }

  /**
   * Polls every 100 ms until `check` accepts the screen (a row holding the text, a row matching
   * the pattern, or a test of all rows); fails after `ms` showing it, named by `what`.
   */
  async waitFor(
    check: string | RegExp | ((rows: string[]) => boolean),
    ms = 20_000,
    what = String(check),
  ): Promise<string[]> {
    const accept =
      typeof check === "string"
        ? (rows: string[]) => rows.some((r) => r.includes(check))
        : check instanceof RegExp
          ? (rows: string[]) => rows.some((r) => check.test(r))
          : check;
    const end = Date.now() + ms;
    let rows: string[] = [];
    while (Date.now() < end) {
      rows = await this.screen();
      if (accept(rows)) return rows;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(`not on screen within ${ms} ms: ${what}\n${rows.join("\n")}`);
  }

  /**
   * Starts counting the bells (BEL) the program rings, from now: a hook on tmux's own bell alert
   * adds one to a session option, which bells() reads. Call after start().
   */
  async countBells(): Promise<void> {
    await this.tmux("set-option", "-g", "@bells", "0");
    await this.tmux("set-hook", "-g", "alert-bell", 'set-option -gF @bells "#{e|+:#{@bells},1}"');
  }

  /** How many bells rang since countBells(). */
  async bells(): Promise<number> {
    const { stdout } = await this.tmux("show-options", "-gv", "@bells");
    return Number(stdout.trim());
  }

  async type(text: string, enter = false): Promise<void> {
    await this.tmux("send-keys", "-t", this.name, "-l", "--", text);
    if (enter) await this.tmux("send-keys", "-t", this.name, "Enter");
  }

  async kill(): Promise<void> {
    await this.tmux("kill-server").catch(() => undefined);
  }
}
