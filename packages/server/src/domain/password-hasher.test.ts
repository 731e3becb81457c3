import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { availableParallelism, getPriority } from "node:os";
import { describe, it } from "node:test";
import { argon2i, argon2id, hash } from "argon2";
import {
  ARGON2_PARAMETERS,
  dummyVerify,
  FairGate,
  HASH_NICE,
  HashWorker,
  hashGate,
  hashPassword,
  hashWorker,
  needsRehash,
  parsePasswordHash,
  verifyPassword,
} from "./password-hasher.js";

const PASSWORD = "Tangerine-Rocket-42";

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

  it("takes about as long as verifying a real password", async () => {
    const encoded = await hashPassword(PASSWORD);
    await dummyVerify(PASSWORD);
    const median = async (run: () => Promise<unknown>) => {
      const times: number[] = [];
      for (let i = 0; i < 3; i++) {
        const start = performance.now();
        await run();
        times.push(performance.now() - start);
      }
      return times.sort((a, b) => a - b)[1] ?? 0;
    };
    const real = await median(() => verifyPassword(encoded, "wrong password"));
    const dummy = await median(() => dummyVerify("wrong password"));
    // Loose bounds: the point is that the dummy does a full argon2id verification, not a no-op.
    assert.ok(dummy > real / 4 && dummy < real * 4, `real ${real} ms, dummy ${dummy} ms`);
  });
});

describe("FairGate", () => {
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
    const gate = new FairGate(2);
    const started: string[] = [];
    const pieces = ["a", "b", "c", "d", "e"].map((n) => controlled(started, n));
    const results = pieces.map((p) => gate.run("one account", p.work).catch((e: Error) => e.message));
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

  it("serves waiting accounts round-robin, so a flood from one account does not delay the others", async () => {
    const gate = new FairGate(1);
    const finished: string[] = [];
    const piece = (account: string, name: string) =>
      gate.run(account, async () => {
        await settle();
        finished.push(name);
      });
    const all = [
      ...["m1", "m2", "m3", "m4", "m5", "m6"].map((n) => piece("mallory", n)),
      piece("alice", "a1"),
      piece("bob", "b1"),
      piece("alice", "a2"),
      ...["m7", "m8"].map((n) => piece("mallory", n)),
      piece("carol", "c1"),
    ];
    await Promise.all(all);
    // m1 was running when the others came; then each account in turn, the one served longest ago
    // first (accounts never served before in the order they came).
    assert.deepEqual(finished, ["m1", "a1", "b1", "c1", "m2", "a2", "m3", "m4", "m5", "m6", "m7", "m8"]);
  });

  it("refuses a limit below one", () => {
    assert.throws(() => new FairGate(0), RangeError);
    assert.throws(() => new FairGate(1.5), RangeError);
  });
});

describe("the hash process", () => {
  it("runs the hashes in a child process at a low priority", async () => {
    const worker = new HashWorker(1);
    try {
      const encoded = await worker.hash("Pw-long-enough!", ARGON2_PARAMETERS);
      assert.equal(await worker.verify(encoded, "Pw-long-enough!"), true);
      const pid = worker.pid;
      assert.ok(pid !== undefined && pid !== process.pid);
      // Every thread of the child, among them libuv's pool that ran the hash, at the low priority.
      const threads = readdirSync(`/proc/${pid}/task`);
      assert.ok(threads.length > 1);
      for (const tid of threads) assert.equal(getPriority(Number(tid)), HASH_NICE, `thread ${tid}`);
      assert.ok(HASH_NICE > 0);
    } finally {
      worker.stop();
    }
  });

  it("serves a login of another account before a flood of password changes from one account", async () => {
    // The real hasher, with one hash at a time: order of completion, not timing.
    const gate = new FairGate(1);
    const worker = new HashWorker(1);
    const finished: string[] = [];
    try {
      const encoded = await worker.hash(PASSWORD, ARGON2_PARAMETERS);
      const flood = Array.from({ length: 5 }, (_, i) =>
        gate.run("mallory", async () => {
          await worker.hash(`Flood-${i}-long-enough!`, ARGON2_PARAMETERS);
          finished.push(`mallory-${i}`);
        }),
      );
      const login = gate.run("alice", async () => {
        const ok = await worker.verify(encoded, PASSWORD);
        finished.push(`alice-${ok}`);
      });
      await Promise.all([...flood, login]);
      assert.deepEqual(finished.slice(0, 2), ["mallory-0", "alice-true"]);
      assert.equal(finished.length, 6);
    } finally {
      worker.stop();
    }
  });

  it("rejects what was in flight when the child dies, and starts a new one for the next hash", async () => {
    const worker = new HashWorker(1);
    try {
      await worker.hash("Pw-long-enough!", ARGON2_PARAMETERS);
      const inFlight = worker.hash("Pw-long-enough-2!", ARGON2_PARAMETERS);
      worker.kill();
      await assert.rejects(inFlight, /exited/);
      const encoded = await worker.hash("Pw-long-enough!", ARGON2_PARAMETERS);
      assert.equal(await worker.verify(encoded, "Pw-long-enough!"), true);
    } finally {
      worker.stop();
    }
  });

  it("the server's hasher allows one hash per usable core, at most 4", () => {
    assert.equal(hashGate.limit, Math.min(4, Math.max(1, availableParallelism())));
    assert.equal(hashWorker.threads, hashGate.limit);
  });
});
