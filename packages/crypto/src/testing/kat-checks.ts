/**
 * Checks shared by the known-answer tests of every suite (kat.test.ts for suite 3,
 * kat-xwing.test.ts for the parts suite 0x0054 shares with suite 6): the MLS working group's
 * secret-tree and key-schedule vectors, run through a CiphersuiteImpl. Test code only.
 */
import assert from "node:assert/strict";
import { hexToBytes as bytes, bytesToHex as hex } from "@noble/hashes/utils.js";
import type { CiphersuiteImpl, CiphersuiteName, GroupContext } from "ts-mls";
import { encodeGroupContext } from "ts-mls/groupContext.js";
import { defaultKeyRetentionConfig } from "ts-mls/keyRetentionConfig.js";
import { initializeEpoch, mlsExporter } from "ts-mls/keySchedule.js";
import { createSecretTree, ratchetToGeneration } from "ts-mls/secretTree.js";
import { expandSenderDataKey, expandSenderDataNonce, type ReuseGuard } from "ts-mls/sender.js";

// biome-ignore lint/suspicious/noExplicitAny: test vectors are untyped JSON
type Json = any;

/** secret-tree.json, one case: sender data key and nonce, and every leaf's two ratchets. */
export async function checkSecretTree(v: Json, cs: CiphersuiteImpl): Promise<void> {
  const sd = v.sender_data;
  assert.equal(
    hex(await expandSenderDataKey(cs, bytes(sd.sender_data_secret), bytes(sd.ciphertext))),
    sd.key,
  );
  assert.equal(
    hex(await expandSenderDataNonce(cs, bytes(sd.sender_data_secret), bytes(sd.ciphertext))),
    sd.nonce,
  );
  const leaves = v.leaves as Json[][];
  let tree = await createSecretTree(leaves.length, bytes(v.encryption_secret), cs.kdf);
  // Generations may jump ahead; allow it and keep every skipped key for this test.
  const config = { ...defaultKeyRetentionConfig, maximumForwardRatchetSteps: 1 << 16 };
  for (const [leafIndex, generations] of leaves.entries()) {
    for (const g of generations) {
      const senderData = { leafIndex, generation: g.generation, reuseGuard: new Uint8Array(4) as ReuseGuard };
      const at = `leaf ${leafIndex} gen ${g.generation}`;
      const app = await ratchetToGeneration(tree, senderData, "application", config, cs);
      assert.equal(hex(app.key), g.application_key, `${at} application key`);
      assert.equal(hex(app.nonce), g.application_nonce, `${at} application nonce`);
      const hs = await ratchetToGeneration(app.newTree, senderData, "commit", config, cs);
      assert.equal(hex(hs.key), g.handshake_key, `${at} handshake key`);
      assert.equal(hex(hs.nonce), g.handshake_nonce, `${at} handshake nonce`);
      tree = hs.newTree;
    }
  }
}

/**
 * key-schedule.json, one case: each epoch's group context, every secret and the exporter.
 * `alsoCheck` adds what only some suites can compare (external_pub needs the suite's KEM).
 */
export async function checkKeySchedule(
  v: Json,
  cs: CiphersuiteImpl,
  cipherSuite: CiphersuiteName,
  alsoCheck?: (epoch: number, ep: Json, externalSecret: Uint8Array) => Promise<void>,
): Promise<void> {
  let initSecret = bytes(v.initial_init_secret);
  for (const [n, ep] of (v.epochs as Json[]).entries()) {
    const gc: GroupContext = {
      version: "mls10",
      cipherSuite,
      groupId: bytes(v.group_id),
      epoch: BigInt(n),
      treeHash: bytes(ep.tree_hash),
      confirmedTranscriptHash: bytes(ep.confirmed_transcript_hash),
      extensions: [],
    };
    assert.equal(hex(encodeGroupContext(gc)), ep.group_context, `epoch ${n} group_context`);
    const s = await initializeEpoch(initSecret, bytes(ep.commit_secret), gc, bytes(ep.psk_secret), cs.kdf);
    const ks = s.keySchedule;
    const expected: [string, Uint8Array][] = [
      ["joiner_secret", s.joinerSecret],
      ["welcome_secret", s.welcomeSecret],
      ["init_secret", ks.initSecret],
      ["sender_data_secret", ks.senderDataSecret],
      ["encryption_secret", s.encryptionSecret],
      ["exporter_secret", ks.exporterSecret],
      ["external_secret", ks.externalSecret],
      ["confirmation_key", ks.confirmationKey],
      ["membership_key", ks.membershipKey],
      ["resumption_psk", ks.resumptionPsk],
      ["epoch_authenticator", ks.epochAuthenticator],
    ];
    for (const [name, value] of expected) assert.equal(hex(value), ep[name], `epoch ${n} ${name}`);
    await alsoCheck?.(n, ep, ks.externalSecret);
    const x = ep.exporter;
    const exported = await mlsExporter(ks.exporterSecret, x.label, bytes(x.context), x.length, cs);
    assert.equal(hex(exported), x.secret, `epoch ${n} exporter`);
    initSecret = ks.initSecret;
  }
}
