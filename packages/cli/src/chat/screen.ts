// The terminal side of `parley chat`: readline lines in, lines printed above the input, prompts and secret questions.
import { clearScreenDown, createInterface, cursorTo, type Interface, moveCursor } from "node:readline";
import { Writable } from "node:stream";
import { CliError, EXIT } from "../cli-error.js";
import { wrap } from "./format.js";

export interface ScreenOptions {
  input: NodeJS.ReadableStream & { isTTY?: boolean };
  output: NodeJS.WriteStream;
  /** NO_COLOR and TERM decide whether a terminal gets colour; default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * What a printed line is, for its colour on a terminal: a notice ("14:05 -- …", dim), a warning
 * or error ("!! …", bold red), one of this user's own messages (cyan), a message that mentions
 * this user (bold yellow), or anything else (the terminal's colour). The prefixes say the same
 * without colour (pipes, NO_COLOR, TERM=dumb).
 */
export type LineStyle = "plain" | "notice" | "warning" | "own" | "mention";

const SGR: Record<Exclude<LineStyle, "plain">, string> = {
  notice: "2",
  warning: "1;31",
  own: "36",
  mention: "1;33",
};

/** Colour on a terminal unless NO_COLOR is set (https://no-color.org) or TERM is "dumb". */
export function colourWanted(env: Readonly<Record<string, string | undefined>>): boolean {
  return (env.NO_COLOR ?? "") === "" && env.TERM !== "dumb";
}

/**
 * The terminal side of `parley chat`: one node:readline interface, lines in, lines out.
 *
 * On a terminal, output is printed above the input line without disturbing it: the prompt and
 * what has been typed so far are cleared, the new rows are written, and readline redraws the
 * prompt with the partial input and the cursor where they were (`rl.prompt(true)`). Rows are
 * wrapped to the terminal's width. Secrets are read on the same interface with its echo muted
 * and kept out of its history.
 *
 * Without a terminal (pipes, tests), the same calls read and write plain lines: no prompt, no
 * redraw, questions on a line of their own, 80 columns.
 */
export class Screen {
  readonly interactive: boolean;
  /** Whether printed lines get their style's colour (an interactive terminal that wants it). */
  readonly colour: boolean;
  readonly #out: NodeJS.WriteStream;
  readonly #input: ScreenOptions["input"];
  readonly #echo: MutableOutput | undefined;
  readonly #rl: Interface;
  readonly #queue: string[] = [];
  readonly #waiters: ((line: string | undefined) => void)[] = [];
  /** Rows printed while a secret is being typed, shown once it is entered. */
  readonly #held: string[] = [];
  #secret = false;
  /** The prompt of a question being asked (`ask`), which the chat prompt must not replace. */
  #question: string | undefined;
  #ended = false;
  #prompt = "> ";
  /** Called on Ctrl-C at an empty prompt. */
  onInterrupt: () => void = () => undefined;
  /** Called with the input line after each key typed on a terminal (not while a secret is typed). */
  onEdit: (line: string) => void = () => undefined;

  constructor(o: ScreenOptions) {
    this.#out = o.output;
    this.#input = o.input;
    this.interactive = o.input.isTTY === true && o.output.isTTY === true;
    this.colour = this.interactive && colourWanted(o.env ?? process.env);
    if (this.interactive) {
      this.#echo = new MutableOutput(o.output);
      this.#rl = createInterface({ input: o.input, output: this.#echo, terminal: true, historySize: 200 });
      this.#rl.setPrompt(this.#prompt);
      this.#rl.on("history", (history) => {
        // A secret is never kept for arrow-up, nor is an answer to a question.
        if (this.#secret || this.#question !== undefined) history.shift();
      });
      this.#rl.on("SIGINT", () => {
        if (this.#secret) return this.#deliver(undefined);
        if (this.#rl.line !== "") {
          this.#rl.write(null, { ctrl: true, name: "u" });
          return;
        }
        this.onInterrupt();
      });
      // readline handles each key first (its listener came first), so the line is up to date.
      // An answer to a question is not a message being typed (no typing notice).
      o.input.on("keypress", () => {
        if (!this.#secret && this.#question === undefined && !this.#ended) this.onEdit(this.#rl.line);
      });
    } else {
      this.#echo = undefined;
      this.#rl = createInterface({ input: o.input, terminal: false });
    }
    this.#rl.on("line", (line) => this.#deliver(line));
    this.#rl.on("close", () => {
      this.#ended = true;
      for (const w of this.#waiters.splice(0)) w(undefined);
    });
  }

  get columns(): number {
    return this.interactive ? Math.max(20, this.#out.columns || 80) : 80;
  }

  /** Shows the prompt; call once the first output is on screen. */
  start(): void {
    if (this.interactive) this.#rl.prompt();
  }

  setPrompt(prompt: string): void {
    this.#prompt = prompt;
    if (this.#secret || this.#question !== undefined || !this.interactive) return;
    this.#rl.setPrompt(prompt);
    this.#redraw([]);
  }

  /**
   * Rings the terminal's bell (BEL): the terminal or tmux decides what that does (a sound, a
   * flash, a flag on a window out of view). Only on a terminal: piped output stays plain text.
   */
  bell(): void {
    if (this.interactive) this.#out.write("\x07");
  }

  /** Prints lines above the input line, wrapped to the terminal's width. */
  print(...lines: string[]): void {
    this.printAs("plain", ...lines);
  }

  /**
   * Prints lines like print(), each row in the style's colour when the terminal gets colour:
   * rows are wrapped first, so a colour code never counts towards a row's width.
   */
  printAs(style: LineStyle, ...lines: string[]): void {
    const rows = lines.flatMap((l) => l.split("\n")).flatMap((l) => wrap(l, this.columns));
    this.#show(style === "plain" || !this.colour ? rows : rows.map((r) => `\x1b[${SGR[style]}m${r}\x1b[0m`));
  }

  /**
   * Prints lines as they are, for text that must survive copy and paste in one piece (a CA
   * fingerprint): the terminal folds a long row without adding indentation.
   */
  printUnwrapped(...lines: string[]): void {
    this.#show(lines.flatMap((l) => l.split("\n")));
  }

  #show(rows: string[]): void {
    if (!this.interactive) {
      this.#out.write(`${rows.join("\n")}\n`);
      return;
    }
    if (this.#secret) {
      this.#held.push(...rows);
      return;
    }
    this.#redraw(rows);
  }

  /** The next line typed (or piped); undefined once the input ended. */
  nextLine(): Promise<string | undefined> {
    const queued = this.#queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.#ended) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /**
   * Asks a question; the answer is the next line. On a terminal the question is the prompt while
   * it waits (its last row, when it needs more than one), so the answer is typed after it and
   * not at the chat prompt; the chat prompt comes back once it is answered.
   */
  async ask(question: string): Promise<string | undefined> {
    if (!this.interactive) {
      this.print(question);
      return this.nextLine();
    }
    const rows = wrap(question, this.columns);
    const last = rows.pop() ?? "";
    this.#question = `${last.trimEnd()} `;
    this.#rl.setPrompt(this.#question);
    this.#redraw(rows);
    try {
      return await this.nextLine();
    } finally {
      this.#question = undefined;
      this.#rl.setPrompt(this.#prompt);
    }
  }

  /** Asks for a secret: on a terminal it is not echoed and not kept in the history. */
  async askSecret(question: string): Promise<string | undefined> {
    if (this.#input.isTTY === true && !this.interactive) {
      // Typed on a terminal whose echo only readline's terminal mode could turn off.
      throw new CliError(
        "cannot ask for a secret without echo when the output is not a terminal",
        EXIT.usage,
      );
    }
    if (!this.interactive || this.#echo === undefined) return this.ask(question);
    this.#clearInput();
    this.#out.write(question);
    this.#secret = true;
    this.#rl.setPrompt("");
    this.#echo.muted = true;
    try {
      return await this.nextLine();
    } finally {
      this.#echo.muted = false;
      this.#secret = false;
      this.#out.write("\n");
      this.#rl.setPrompt(this.#prompt);
      this.#redraw(this.#held.splice(0));
    }
  }

  close(): void {
    if (this.#ended) return;
    if (this.interactive) {
      this.#clearInput();
    }
    this.#rl.close();
  }

  #deliver(line: string | undefined): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter(line);
    else if (line !== undefined) this.#queue.push(line);
    // The prompt comes back after each line on a terminal; readline does not redraw it itself.
    if (this.interactive && !this.#ended && !this.#secret)
      setImmediate(() => this.#ended || this.#rl.prompt(true));
  }

  /** Moves to the start of the prompt and clears it and everything under it. */
  #clearInput(): number {
    const { rows } = this.#rl.getCursorPos();
    if (rows > 0) moveCursor(this.#out, 0, -rows);
    cursorTo(this.#out, 0);
    clearScreenDown(this.#out);
    return rows;
  }

  #redraw(rows: string[]): void {
    if (this.#ended) return;
    const moved = this.#clearInput();
    if (rows.length > 0) this.#out.write(`${rows.join("\n")}\n`);
    // readline moves up by the rows it last drew before redrawing; the input was just cleared
    // from its first row, so that offset is now 0. (`prevRows` is readline's own field.)
    if (moved > 0) (this.#rl as unknown as { prevRows?: number }).prevRows = 0;
    this.#rl.prompt(true);
  }
}

/** stdout for readline, with a switch that swallows its echo (for secrets). */
class MutableOutput extends Writable {
  muted = false;
  readonly isTTY = true;

  constructor(private readonly target: NodeJS.WriteStream) {
    super();
    target.on("resize", () => this.emit("resize"));
  }

  get columns(): number {
    return this.target.columns;
  }

  get rows(): number {
    return this.target.rows;
  }

  override _write(
    chunk: Buffer | string,
    _encoding: BufferEncoding,
    done: (error?: Error | null) => void,
  ): void {
    // Synchronously, so readline's writes and Screen's own stay in order.
    if (!this.muted) this.target.write(chunk);
    done();
  }
}
