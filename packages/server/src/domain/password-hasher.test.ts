import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism, getPriority } from "node:os";
import { describe, it } from "node:test";
import { argon2i, argon2id, hash } from "argon2";
import {
  ARGON2_PARAMETERS,
  dummyPasswordHash,
  dummyVerify,
  HASHER_NICE,
  HashProcess,
  hasher,
  hasherOptions,
  hashGate,
  hashPassword,
  loaderFlags,
  needsRehash,
  parsePasswordHash,
  verifyPassword,
  WorkGate,
} from "./password-hasher.js";

const PASSWORD = "Tangerine-Rocket-42";

// sched(7) policy numbers.
const SCHED_OTHER = 0;
const SCHED_IDLE = 5;

/** A process's scheduling policy: field 41 of /proc/<pid>/stat (proc(5)). */
function schedulingPolicy(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name, which is in parentheses and may hold spaces; the first is field 3.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[41 - 3]);
}

describe("hashPassword and verifyPassword", () => {
  it("verifies the password it hashed", async () => {
    const encoded = await hashPassword(PASSWORD);
    assert.equal(await verifyPassword(encoded, PASSWORD), true);
  });

  it("refuses a wrong password", async () => {
    const encoded = await hashPassword(PASSWORD);
    assert.equal(await verifyPassword(encoded, "Tangerine-Rocket-43"), false);
    assert.equal(await verifyPassword(encoded, ""), false);
  });

  it("salts every hash", async () => {
    assert.notEqual(await hashPassword(PASSWORD), await hashPassword(PASSWORD));
  });

  it("writes argon2id v1.3 with at least OWASP's parameters", async () => {
    const encoded = await hashPassword(PASSWORD);
    const match = /^\$argon2id\$v=19\$m=(\d+),p=(\d+),t=(\d+)\$/.exec(encoded);
    assert.ok(match, encoded);
    const [, m, p, t] = match.map(Number);
    assert.ok(m !== undefined && m >= 19_456, `m=${m}`);
    assert.ok(t !== undefined && t >= 2, `t=${t}`);
    assert.equal(p, 1);
    assert.deepEqual(parsePasswordHash(encoded), {
      algorithm: "argon2id",
      version: 0x13,
      memoryCost: ARGON2_PARAMETERS.memoryCost,
      timeCost: ARGON2_PARAMETERS.timeCost,
      parallelism: ARGON2_PARAMETERS.parallelism,
    });
  });

  it("treats NFKC-equivalent passwords as the same password", async () => {
    const fullWidth = await hashPassword("Ｔａｎｇｅｒｉｎｅ－Ｒｏｃｋｅｔ－４２");
    assert.equal(await verifyPassword(fullWidth, PASSWORD), true);
    const decomposed = await hashPassword("Cafe\u0301-Rocket-42");
    assert.equal(await verifyPassword(decomposed, "Caf\u00e9-Rocket-42"), true);
  });

  it("answers false, without throwing, for malformed hashes", async () => {
    const good = await hashPassword(PASSWORD);
    const malformed = [
      "",
      "plaintext",
      "$argon2id$",
      "$argon2id$v=19$m=19456,t=2,p=1$",
      good.slice(0, good.lastIndexOf("$")),
      `${good.slice(0, good.lastIndexOf("$") + 1)}!!!!!!!!!!!!!!!!`,
      good.replace("m=19456", "m=1"),
      good.replace("argon2id", "argon2x"),
      good.replace("m=19456,", "m=19456,m=19456,"),
      "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
      "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
    ];
    for (const encoded of malformed) {
      assert.equal(await verifyPassword(encoded, PASSWORD), false, encoded);
    }
  });

  it("parses nothing out of a malformed hash", () => {
    for (const encoded of [
      "",
      "$argon2id$v=19$m=19456,t=2$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNo",
      "$2b$12$abc",
    ]) {
      assert.equal(parsePasswordHash(encoded), undefined, encoded);
    }
  });
});

describe("needsRehash", () => {
  const weaker = (options: {
    memoryCost?: number;
    timeCost?: number;
    parallelism?: number;
    type?: 0 | 1 | 2;
  }) => hash(PASSWORD, { ...ARGON2_PARAMETERS, ...options });

  it("is false for a hash made with the current parameters", async () => {
    assert.equal(needsRehash(await hashPassword(PASSWORD)), false);
  });

  it("is true when less memory was used", async () => {
    assert.equal(needsRehash(await weaker({ memoryCost: 8_192 })), true);
  });

  it("is true when fewer passes were made", async () => {
    assert.equal(needsRehash(await weaker({ timeCost: 1 })), true);
  });

  it("is true for another lane count", async () => {
    assert.equal(needsRehash(await weaker({ parallelism: 4 })), true);
  });

  it("is true for argon2i", async () => {
    assert.equal(needsRehash(await weaker({ type: argon2i })), true);
  });

  it("is false for a stronger argon2id hash, so lowering the cost never downgrades", async () => {
    assert.equal(needsRehash(await weaker({ type: argon2id, memoryCost: 32_768, timeCost: 3 })), false);
  });

  it("is true for a malformed hash", () => {
    assert.equal(needsRehash("not a hash"), true);
  });
});

describe("dummyVerify", () => {
  it("answers false whatever the password", async () => {
    assert.equal(await dummyVerify(PASSWORD), false);
    assert.equal(await dummyVerify(""), false);
    assert.equal(await dummyVerify(), false);
  });

  // Equal cost is shown by construction rather than by timing it (the machines are shared and
  // noisy): the dummy is a real argon2id hash with the stored parameters, verified through the
  // same gate as a real password.
  it("checks against an argon2id hash with the same parameters as a stored password", async () => {
    const real = parsePasswordHash(await hashPassword(PASSWORD));
    const dummy = parsePasswordHash(await dummyPasswordHash());
    assert.ok(real);
    assert.deepEqual(dummy, real);
    assert.equal(needsRehash(await dummyPasswordHash()), false);
  });

  it("runs a full verification through the hash gate, as a real password check does", async () => {
    await dummyVerify(PASSWORD);
    const before = hashGate.running + hashGate.waiting;
    const pending = dummyVerify("wrong password");
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(hashGate.running + hashGate.waiting, before + 1);
    assert.equal(await pending, false);
    assert.equal(hashGate.running + hashGate.waiting, before);
  });
});

describe("the hasher process", () => {
  it("hashes in a child process that runs only when the server leaves the CPU idle", async () => {
    // The server's own hasher outside NODE_ENV=test (hasherOptions), started here with the same options.
    const server = new HashProcess(hasherOptions({ NODE_ENV: "production" }));
    try {
      const encoded = await server.hash(PASSWORD);
      const pid = server.pid;
      assert.ok(pid !== undefined && pid !== process.pid, "a child of its own");
      // SCHED_IDLE wherever util-linux's chrt may set it (it needs no privilege on Linux).
      const chrtWorks = spawnSync("chrt", ["--idle", "0", "true"]).status === 0;
      assert.equal(server.priority, chrtWorks ? "idle" : "nice");
      if (chrtWorks) assert.equal(schedulingPolicy(pid), SCHED_IDLE);
      else assert.equal(getPriority(pid), Math.max(getPriority(), HASHER_NICE));
      assert.equal(await server.verify(encoded, PASSWORD), true);
      assert.equal(server.pid, pid, "one long-lived child");
      assert.equal(server.started, 1);
    } finally {
      server.stop();
    }
  });

  const notTest = process.env.NODE_ENV !== "test" && "the server's hasher is set up without NODE_ENV=test";
  it("hashes at the test's own priority under NODE_ENV=test, in one long-lived child", {
    skip: notTest,
  }, async () => {
    assert.deepEqual(hasherOptions({ NODE_ENV: "test" }), { chrt: null, nice: null });
    assert.deepEqual(hasherOptions({}), {});
    const encoded = await hashPassword(PASSWORD);
    const pid = hasher.pid;
    assert.ok(pid !== undefined && pid !== process.pid, "a child of its own");
    assert.equal(hasher.priority, "normal");
    assert.equal(schedulingPolicy(pid), SCHED_OTHER);
    assert.equal(getPriority(pid), getPriority());
    assert.equal(await verifyPassword(encoded, PASSWORD), true);
    assert.equal(hasher.pid, pid, "one long-lived child");
  });

  it("falls back to a plain child at nice 19 when chrt is missing, and still hashes", async () => {
    const fallback = new HashProcess({ chrt: "/nonexistent/chrt" });
    try {
      assert.equal(await fallback.start(), "nice");
      const pid = fallback.pid;
      assert.ok(pid !== undefined && pid !== process.pid);
      assert.equal(schedulingPolicy(pid), SCHED_OTHER);
      assert.equal(getPriority(pid), Math.max(getPriority(), HASHER_NICE));
      const encoded = await fallback.hash(PASSWORD);
      assert.equal(await fallback.verify(encoded, PASSWORD), true);
      assert.equal(await fallback.verify(encoded, "Tangerine-Rocket-43"), false);
    } finally {
      fallback.stop();
    }
  });

  it("falls back to a plain child when chrt exits without starting the hasher", async () => {
    // /bin/false stands for a chrt the kernel refuses (it exits non-zero, nothing is started).
    const fallback = new HashProcess({ chrt: "false" });
    try {
      const encoded = await fallback.hash(PASSWORD);
      assert.equal(fallback.priority, "nice");
      assert.equal(schedulingPolicy(fallback.pid ?? 0), SCHED_OTHER);
      assert.equal(await fallback.verify(encoded, PASSWORD), true);
    } finally {
      fallback.stop();
    }
  });

  it("starts one child for requests that arrive while it is starting", async () => {
    const fresh = new HashProcess();
    try {
      const [a, b, c] = await Promise.all([fresh.hash(PASSWORD), fresh.hash(PASSWORD), fresh.start()]);
      assert.equal(fresh.started, 1);
      assert.notEqual(a, b);
      assert.equal(c, fresh.priority);
      assert.equal(await fresh.verify(a, PASSWORD), true);
    } finally {
      fresh.stop();
    }
  });

  it("answers a request the child died under from a new child, and the next ones too", async () => {
    const encoded = await hashPassword(PASSWORD);
    const before = hasher.started;
    const pending = verifyPassword(encoded, PASSWORD);
    await new Promise((resolve) => setImmediate(resolve));
    hasher.stop();
    assert.equal(await pending, true);
    assert.equal(hasher.started, before + 1);
    assert.equal(await verifyPassword(encoded, "wrong"), false);
  });

  it("starts its child with the loader flags only, never code to evaluate or a test runner", () => {
    assert.deepEqual(
      loaderFlags([
        "--conditions=parley-source",
        "--import",
        "tsx",
        "--test",
        "--test-force-exit",
        "--input-type=module",
        "-e",
        "start()",
        "--eval=start()",
        "-C",
        "dev",
        "--require=./hook.cjs",
        "--inspect=9229",
      ]),
      ["--conditions=parley-source", "--import", "tsx", "-C", "dev", "--require=./hook.cjs"],
    );
  });

  it("does not keep a process alive once its work is done", async () => {
    // A process that hashes once and has nothing else to do exits by itself (with its child).
    const script = [
      `const { hashPassword, hasher } = await import(${JSON.stringify(new URL("./password-hasher.ts", import.meta.url).href)});`,
      `await hashPassword("Tangerine-Rocket-42");`,
      "console.log(hasher.pid);",
    ].join("\n");
    const child = spawn(
      process.execPath,
      [...process.execArgv.filter((a) => !a.startsWith("--test")), "--input-type=module", "-e", script],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    const watchdog = setTimeout(() => child.kill(), 60_000);
    const code = await new Promise((resolve) => child.on("exit", resolve));
    clearTimeout(watchdog);
    assert.equal(code, 0, "exited by itself");
    const hasherPid = Number(out.trim());
    assert.ok(hasherPid > 0);
    // The hasher exits once it sees its parent gone (bounded wait; not a timing check).
    const alive = () => {
      try {
        process.kill(hasherPid, 0);
        return true;
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 300 && alive(); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(alive(), false, "the hasher went with it");
  });
});

describe("WorkGate", () => {
  /** A piece of work that finishes when told to, recording when it started. */
  function controlled(log: string[], name: string) {
    let finish: (ok: boolean) => void = () => undefined;
    const done = new Promise<boolean>((resolve) => {
      finish = resolve;
    });
    const work = async () => {
      log.push(name);
      if (!(await done)) throw new Error(`${name} failed`);
      return name;
    };
    return { work, finish: (ok = true) => finish(ok) };
  }
  const settle = () => new Promise((r) => setImmediate(r));

  it("runs at most its limit at once and starts the others in order, also after a failure", async () => {
    const gate = new WorkGate(2);
    const started: string[] = [];
    const pieces = ["a", "b", "c", "d", "e"].map((n) => controlled(started, n));
    const results = pieces.map((p) => gate.run(p.work).catch((e: Error) => e.message));
    await settle();
    assert.deepEqual(started, ["a", "b"]);
    assert.equal(gate.running, 2);
    assert.equal(gate.waiting, 3);
    pieces[1]?.finish(false);
    await settle();
    assert.deepEqual(started, ["a", "b", "c"], "a failed piece frees its slot");
    pieces[0]?.finish();
    pieces[2]?.finish();
    await settle();
    assert.deepEqual(started, ["a", "b", "c", "d", "e"]);
    assert.equal(gate.running, 2);
    pieces[3]?.finish();
    pieces[4]?.finish();
    assert.deepEqual(await Promise.all(results), ["a", "b failed", "c", "d", "e"]);
    assert.equal(gate.running, 0);
    assert.equal(gate.waiting, 0);
  });

  it("serves waiting keys in turn, so one address's flood does not hold back another's", async () => {
    const gate = new WorkGate(1);
    const started: string[] = [];
    const first = controlled(started, "flood-0");
    const flood = Array.from({ length: 4 }, (_, i) => controlled(started, `flood-${i + 1}`));
    const other = controlled(started, "other");
    const all = [gate.run(first.work, "10.0.0.9")];
    for (const f of flood) all.push(gate.run(f.work, "10.0.0.9"));
    all.push(gate.run(other.work, "10.0.0.7"));
    await settle();
    assert.equal(gate.waiting, 5);
    first.finish();
    await settle();
    flood[0]?.finish();
    await settle();
    assert.deepEqual(
      started,
      ["flood-0", "flood-1", "other"],
      "the other address goes next, not after the flood",
    );
    other.finish();
    for (const f of flood.slice(1)) {
      await settle();
      f.finish();
    }
    await Promise.all(all);
    assert.deepEqual(started, ["flood-0", "flood-1", "other", "flood-2", "flood-3", "flood-4"]);
    assert.equal(gate.waiting, 0);
    assert.equal(gate.running, 0);
  });

  it("refuses a limit below one", () => {
    assert.throws(() => new WorkGate(0), RangeError);
    assert.throws(() => new WorkGate(1.5), RangeError);
  });

  it("holds back password hashes beyond one less than the cores, so the event loop keeps a core", async () => {
    assert.equal(hashGate.limit, Math.max(1, availableParallelism() - 1));
    const hashes = Array.from({ length: hashGate.limit + 3 }, (_, i) => hashPassword(`Pw-${i}-long-enough!`));
    assert.equal(hashGate.running, hashGate.limit);
    assert.equal(hashGate.waiting, 3);
    const done = await Promise.all(hashes);
    assert.equal(new Set(done).size, done.length);
    assert.ok(await verifyPassword(done[0] ?? "", "Pw-0-long-enough!"));
    assert.equal(hashGate.running, 0);
  });
});
