import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { pino } from "pino";
import { ParleyError } from "../domain/errors.js";
import { FrameFailures } from "./frame-failures.js";

function failures(storageUp = true) {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { lines, f: new FrameFailures(log, async () => storageUp) };
}

const diskFull = () => Object.assign(new Error("write failed: secret text"), { code: "SQLITE_FULL" });

describe("what a failed frame becomes for the client (WS-3)", () => {
  test("a ParleyError is answered as it is, and not logged", async () => {
    const { f, lines } = failures();
    const e = new ParleyError("room_not_found");
    assert.equal(await f.describe(e, "room.join"), e);
    assert.deepEqual(lines, []);
  });

  test("a full disk is storage_full, logged once with a count of the folded ones", async () => {
    const { f, lines } = failures();
    for (let i = 0; i < 3; i++)
      assert.equal((await f.describe(diskFull(), "message.send")).code, "storage_full");
    assert.equal(lines.length, 1, "one line, not one per frame");
    assert.equal(lines[0]?.event, "storage_full");
    assert.equal(lines[0]?.count, 1);
  });

  test("anything else is internal_error, or service_unavailable while the database is down", async () => {
    const up = failures(true);
    const bug = await up.f.describe(new Error("boom: what the client sent"), "room.create");
    assert.equal(bug.code, "internal_error");
    assert.doesNotMatch(bug.message, /what the client sent/, "never the error's own text");
    assert.equal(up.lines[0]?.event, "frame_error");
    assert.equal(up.lines[0]?.frameType, "room.create");
    const down = failures(false);
    assert.equal(
      (await down.f.describe(new Error("connection refused"), "room.create")).code,
      "service_unavailable",
    );
  });
});
