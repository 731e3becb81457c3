import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { describePolicyChange, type PolicyPinStore, PolicyPins } from "@parley/client";
import type { InfoResponse } from "@parley/protocol";
import type { Config } from "@parley/server";
import { request, startTestServer, type TestServer } from "./support/harness.js";
import { nextEvent, sdkClient } from "./support/sdk.js";

// The server's signed policy (PROTOCOL.md POLICY-1, POLICY-2) over real HTTPS: the SDK verifies
// it, pins it on first use, and reports an operator's change after a restart.

function mapStore(): PolicyPinStore {
  const m = new Map<string, string>();
  return { get: async (k) => m.get(k), set: async (k, v) => void m.set(k, v) };
}

describe("signed server policy", () => {
  const running: TestServer[] = [];
  let dataDir = "";
  after(async () => {
    for (const ts of running) await ts.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });
  const start = async (overrides: Partial<Config>) => {
    const ts = await startTestServer(overrides, { dataDir });
    running.push(ts);
    return ts;
  };

  it("is pinned on first use, and a restart with the offline queue on is reported as a change", async () => {
    dataDir = await mkdtemp(join(tmpdir(), "parley-policy-"));
    const pins = new PolicyPins(mapStore());
    const first = await start({});
    const check = await sdkClient(first).checkServerPolicy(pins);
    assert.equal(check.state, "first_use");
    assert.deepEqual(check.policy.statement.messages, { storage: "none" });
    const info = await request<InfoResponse>(first, "GET", "/api/info");
    assert.equal(
      info.body.policyKeyFingerprint,
      check.policy.keyFingerprint,
      "the fingerprint /api/info shows",
    );
    assert.equal(info.body.policyKeyFingerprint, first.server.policyKeyFingerprint);
    const port = first.server.port;
    assert.equal((await sdkClient(first).checkServerPolicy(pins)).state, "unchanged");
    await first.stop();

    // The same server (same data dir and address), restarted by an operator who turned the queue on.
    const second = await start({ port, offlineQueue: "on", offlineQueueTtlS: 3 * 86_400 });
    const client = sdkClient(second);
    const event = nextEvent(client, "policy_changed");
    const changed = await client.checkServerPolicy(pins);
    assert.ok(changed.state === "changed");
    assert.equal(changed.keyChanged, false, "the same key signed it");
    assert.deepEqual(changed.changes.map(describePolicyChange), [
      "Messages: never stored on the server → kept (ciphertext) for offline devices up to 3 days",
    ]);
    assert.equal((await event).changes.length, 1);
    await pins.accept(second.url, changed.policy);
    assert.equal((await sdkClient(second).checkServerPolicy(pins)).state, "unchanged");
    await second.stop();

    // A lost data dir (or another machine at the address) signs with a new key: the louder warning.
    await rm(join(dataDir, "policy-key.pem"));
    const third = await start({ port, offlineQueue: "on", offlineQueueTtlS: 3 * 86_400 });
    const rekeyed = await sdkClient(third).checkServerPolicy(pins);
    assert.ok(rekeyed.state === "changed");
    assert.equal(rekeyed.keyChanged, true);
    assert.notEqual(rekeyed.policy.keyFingerprint, rekeyed.pinnedKeyFingerprint);
  });
});
