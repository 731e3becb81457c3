import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { isParleyClientError } from "@parley/client";
import { startTestServer, type TestServer } from "./support/harness.js";
import { type SdkUser, sdkSignUp } from "./support/sdk.js";

// ParleyClient.subscribe / unsubscribe / subscriptions against a real server (SUB-1).

let ts: TestServer;
let ann: SdkUser;
let ben: SdkUser;

before(async () => {
  ts = await startTestServer();
  ann = await sdkSignUp(ts, "ann");
  ben = await sdkSignUp(ts, "ben");
});

after(async () => {
  await Promise.all([ann?.client.close(), ben?.client.close()]);
  await ts?.stop();
});

describe("ParleyClient following (SUB-1)", () => {
  it("lists a followed user once, even when followed twice, and forgets them on unsubscribe", async () => {
    assert.deepEqual(await ann.client.subscriptions(), []);
    await ann.client.subscribe(ben.id);
    await ann.client.subscribe(ben.id);
    assert.deepEqual(await ann.client.subscriptions(), [{ id: ben.id, username: ben.username }]);
    await ann.client.unsubscribe(ben.id);
    assert.deepEqual(await ann.client.subscriptions(), []);
  });

  it("answers unsubscribe from someone not followed without an error", async () => {
    await ben.client.unsubscribe(ann.id);
    assert.deepEqual(await ben.client.subscriptions(), []);
  });

  it("refuses following oneself (invalid_target) and an unknown user (user_not_found)", async () => {
    await assert.rejects(ann.client.subscribe(ann.id), (e) => isParleyClientError(e, "invalid_target"));
    await assert.rejects(ann.client.subscribe("no-such-user"), (e) =>
      isParleyClientError(e, "user_not_found"),
    );
  });
});
