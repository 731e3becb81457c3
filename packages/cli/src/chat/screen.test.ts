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
