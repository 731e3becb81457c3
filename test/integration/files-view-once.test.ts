import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import {
  bytesSource,
  type ChatMessage,
  ChatModel,
  isParleyClientError,
  type ParleyClient,
} from "@parley/client";
import { STRONG_PASSWORD, startTestServer, type TestServer } from "./support/harness.js";
import { linkBySdk, type SdkUser, sdkClient, sdkSignUp } from "./support/sdk.js";

// View once (docs/PROTOCOL.md FILE-6) with real clients: bob opens alice's view-once photo on
// his laptop; his phone drops it too, and the server deletes its ciphertext.

let ts: TestServer;
let alice: SdkUser;
let bob: SdkUser;
let bobPhone: ParleyClient;

before(async () => {
  ts = await startTestServer();
  alice = await sdkSignUp(ts, "alice");
  bob = await sdkSignUp(ts, "bob");
  bobPhone = sdkClient(ts);
  await bobPhone.login(bob.username, STRONG_PASSWORD);
  await linkBySdk(bob.client, bobPhone);
});

after(async () => {
  await alice?.client.close();
  await bob?.client.close();
  await bobPhone?.close();
  await ts?.stop();
});

/** Polls the model until `check` finds what it waits for; fails after 20 s. */
async function until<T>(model: ChatModel, check: (m: ChatModel) => T | undefined, what: string): Promise<T> {
  const end = Date.now() + 20_000;
  while (Date.now() < end) {
    const found = check(model);
    if (found !== undefined) return found;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`not within 20 s: ${what}`);
}

const photo = (roomId: string) => (m: ChatModel) =>
  m.snapshot.messages[roomId]?.find((x: ChatMessage) => x.attachment?.name === "once.jpg");

test("a view-once photo opened on one device is gone from the recipient's others and from the server", async () => {
  const room = await alice.client.openDirect(bob.id);
  const laptop = new ChatModel(bob.client);
  const phone = new ChatModel(bobPhone);
  const sender = new ChatModel(alice.client);
  try {
    await Promise.all([laptop.refresh(), phone.refresh(), sender.refresh()]);
    const bytes = randomBytes(40_000);
    const sent = await sender.sendFile(room.id, bytesSource(bytes), {
      name: "once.jpg",
      type: "image/jpeg",
      viewOnce: true,
      thumbnail: randomBytes(500),
      thumbnailType: "image/jpeg",
    });
    const onLaptop = await until(laptop, photo(room.id), "the photo on bob's laptop");
    await until(phone, (m) => photo(room.id)(m)?.attachment?.file, "the photo on bob's phone");
    assert.equal(onLaptop.attachment?.viewOnce, true);
    const parts: Uint8Array[] = [];
    await laptop.download(onLaptop.key, { write: (b) => void parts.push(b.slice()) });
    assert.ok(Buffer.concat(parts).equals(bytes));
    assert.equal(photo(room.id)(laptop)?.attachment?.opened, true);
    assert.equal(photo(room.id)(laptop)?.attachment?.file, undefined);
    // Bob's phone hears it from the group and drops the key and the preview.
    const phoneCopy = await until(
      phone,
      (m) => (photo(room.id)(m)?.attachment?.opened ? photo(room.id)(m) : undefined),
      "opened on the phone",
    );
    assert.equal(phoneCopy.attachment?.file, undefined);
    assert.equal(phoneCopy.attachment?.thumbnail, undefined);
    await assert.rejects(phone.download(phoneCopy.key, { write: () => undefined }), (e) =>
      isParleyClientError(e, "not_found"),
    );
    // The sender sees it opened; the server no longer has the ciphertext.
    await until(
      sender,
      (m) => (photo(room.id)(m)?.attachment?.opened ? true : undefined),
      "opened for alice",
    );
    await assert.rejects(alice.client.downloadFile(sent.attachment!.file!, { write: () => undefined }), (e) =>
      isParleyClientError(e, "file_expired"),
    );
  } finally {
    laptop.dispose();
    phone.dispose();
    sender.dispose();
  }
});
