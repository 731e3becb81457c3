import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { describeAttachment, destinationFor, formatBytes, progressBar, safeName } from "./transfers.js";

describe("terminal file helpers", () => {
  it("strips paths, control characters and leading dots from a sender's file name", () => {
    assert.equal(safeName("../../etc/passwd"), "passwd");
    assert.equal(safeName("..\\..\\boot.ini"), "boot.ini");
    assert.equal(safeName(".bashrc"), "bashrc");
    assert.equal(safeName("a\u001b[31mred.txt"), "a_[31mred.txt");
    assert.equal(safeName("..."), "file");
  });

  it("picks a free name in a directory and never overwrites", async () => {
    const dir = await mkdtemp(join(tmpdir(), "parley-dest-"));
    try {
      assert.equal(await destinationFor("r.pdf", dir, "/nowhere"), join(dir, "r.pdf"));
      await writeFile(join(dir, "r.pdf"), "x");
      assert.equal(await destinationFor("r.pdf", dir, "/nowhere"), join(dir, "r (1).pdf"));
      assert.equal(await destinationFor("r.pdf", undefined, dir), join(dir, "r (1).pdf"));
      assert.equal(await destinationFor("r.pdf", join(dir, "new.pdf"), "/nowhere"), join(dir, "new.pdf"));
      await assert.rejects(destinationFor("r.pdf", join(dir, "r.pdf"), "/nowhere"), /exists/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("formats sizes and progress", () => {
    assert.equal(formatBytes(640), "640 B");
    assert.equal(formatBytes(2_500_000), "2.5 MB");
    assert.equal(formatBytes(8_388_608), "8.4 MB");
    assert.equal(progressBar(0, 10, 10), "[----------]   0%");
    assert.equal(progressBar(5, 10, 10), "[#####-----]  50%");
    assert.equal(progressBar(10, 10, 10), "[##########] 100%");
    assert.equal(progressBar(0, 0, 4), "[####] 100%");
  });

  it("describes an attachment in one line", () => {
    assert.equal(
      describeAttachment({
        name: "v.webm",
        type: "audio/webm",
        size: 12_000,
        durationMs: 4_400,
        viewOnce: true,
      }),
      "[view once] v.webm (12 kB, audio/webm, 4 s)",
    );
  });
});
