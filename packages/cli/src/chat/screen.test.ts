import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { Screen } from "./screen.js";

/** A Screen on pipes (no terminal), the way tests and scripts drive `parley chat`. */
function piped() {
  const input = new PassThrough();
  const output = new PassThrough();
  let written = "";
  output.setEncoding("utf8").on("data", (c: string) => {
    written += c;
  });
  const screen = new Screen({ input, output: output as unknown as NodeJS.WriteStream });
  return { input, screen, written: () => written };
}

describe("Screen without a terminal", () => {
  it("is not interactive and reads lines in order, queued or awaited", async () => {
    const { input, screen } = piped();
    assert.equal(screen.interactive, false);
    input.write("first\nsecond\n");
    assert.equal(await screen.nextLine(), "first");
    assert.equal(await screen.nextLine(), "second");
    const third = screen.nextLine();
    input.write("third\n");
    assert.equal(await third, "third");
    screen.close();
  });

  it("asks a question on its own line and takes the next line as the answer, secrets included", async () => {
    const { input, screen, written } = piped();
    input.write("hunter2-but-longer\n");
    assert.equal(await screen.askSecret("Password for a: "), "hunter2-but-longer");
    assert.equal(written(), "Password for a: \n");
    screen.close();
  });

  it("wraps printed lines to 80 columns", () => {
    const { screen, written } = piped();
    screen.print("x ".repeat(60).trim());
    const rows = written().split("\n").filter(Boolean);
    assert.equal(rows.length, 2);
    for (const row of rows) assert.ok(row.length <= 80);
    screen.printUnwrapped("y".repeat(100));
    assert.ok(written().includes(`${"y".repeat(100)}\n`));
    screen.close();
  });

  it("answers undefined once the input has ended", async () => {
    const { input, screen } = piped();
    input.end("last\n");
    assert.equal(await screen.nextLine(), "last");
    assert.equal(await screen.nextLine(), undefined);
    assert.equal(await screen.ask("still there?"), undefined);
  });
});

describe("Screen on a terminal whose output is not one", () => {
  it("refuses to ask for a secret rather than let the terminal echo it", async () => {
    const input = Object.assign(new PassThrough(), { isTTY: true });
    const output = new PassThrough();
    const screen = new Screen({ input, output: output as unknown as NodeJS.WriteStream });
    assert.equal(screen.interactive, false);
    await assert.rejects(screen.askSecret("Password: "), /without echo/);
    screen.close();
  });
});

describe("Screen colours", () => {
  /** A Screen on a pretend terminal: both ends say isTTY, 80 columns. */
  function terminal(env: Record<string, string | undefined>) {
    const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => undefined });
    const output = Object.assign(new PassThrough(), { isTTY: true, columns: 80 });
    let written = "";
    output.setEncoding("utf8").on("data", (c: string) => {
      written += c;
    });
    const screen = new Screen({ input, output: output as unknown as NodeJS.WriteStream, env });
    return { screen, written: () => written };
  }

  it("colours each kind of line on a terminal, row by row after wrapping", () => {
    const { screen, written } = terminal({ TERM: "xterm-256color" });
    assert.equal(screen.colour, true);
    screen.printAs("warning", "!! no such room");
    screen.printAs("notice", "14:05 -- bob joined");
    screen.printAs("own", "14:05 <me> hi #1 [sent]");
    screen.printAs("mention", "14:06 <bob?> @me look #2");
    screen.printAs("notice", `14:07 -- ${"long ".repeat(20).trim()}`);
    const out = written();
    assert.ok(out.includes("\x1b[1;31m!! no such room\x1b[0m"), JSON.stringify(out));
    assert.ok(out.includes("\x1b[2m14:05 -- bob joined\x1b[0m"));
    assert.ok(out.includes("\x1b[36m14:05 <me> hi #1 [sent]\x1b[0m"));
    assert.ok(out.includes("\x1b[1;33m14:06 <bob?> @me look #2\x1b[0m"));
    // Two rows, each coloured on its own and no wider than 80 columns without the codes.
    const rows = out
      .split("\x1b[2m")
      .slice(1)
      .map((piece) => piece.split("\x1b[0m")[0] ?? "")
      .filter((r) => r.includes("long"));
    assert.equal(rows.length, 2, JSON.stringify(out));
    for (const r of rows) assert.ok(r.length <= 80, r);
    screen.close();
  });

  it("uses no colour with NO_COLOR, with TERM=dumb, or off a terminal", () => {
    for (const env of [{ NO_COLOR: "1", TERM: "xterm" }, { TERM: "dumb" }]) {
      const { screen, written } = terminal(env);
      assert.equal(screen.colour, false);
      screen.printAs("warning", "!! plain");
      assert.ok(written().includes("!! plain"));
      assert.ok(!written().includes("\x1b[1;31m"), JSON.stringify(written()));
      screen.close();
    }
    const { screen, written } = piped();
    assert.equal(screen.colour, false);
    screen.printAs("own", "14:05 <me> hi #1");
    assert.equal(written(), "14:05 <me> hi #1\n");
    screen.close();
  });
});
