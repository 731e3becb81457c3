/**
 * Known-answer tests: the MLS working group's vectors (mlswg/mls-implementations, copied into
 * shared/test-vectors/mls) for cipher suite 3, run through ts-mls with OUR noble provider, plus
 * RFC 9180 Appendix A.2.1 for the HPKE composition on its own. One test per vector family, one
 * subtest per vector, so a failure names the family and the case.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import {
  bytesToBase64,
  type CiphersuiteImpl,
  type GroupContext,
  type PrivateKeyPackage,
  type RatchetTree,
} from "ts-mls";
import type { AuthenticatedContent } from "ts-mls/authenticatedContent.js";
import { joinGroup, makePskIndex } from "ts-mls/clientState.js";
import { decodeCommit, encodeCommit } from "ts-mls/commit.js";
import { refhash } from "ts-mls/crypto/hash.js";
import { decryptWithLabel, encryptWithLabel } from "ts-mls/crypto/hpke.js";
import { deriveSecret, deriveTreeSecret, expandWithLabel } from "ts-mls/crypto/kdf.js";
import { signWithLabel, verifyWithLabel } from "ts-mls/crypto/signature.js";
import { createContentCommitSignature } from "ts-mls/framedContent.js";
import { verifyGroupInfoConfirmationTag, verifyGroupInfoSignature } from "ts-mls/groupInfo.js";
import { makeKeyPackageRef } from "ts-mls/keyPackage.js";
import { defaultKeyRetentionConfig } from "ts-mls/keyRetentionConfig.js";
import { verifyLeafNodeSignature } from "ts-mls/leafNode.js";
import { decodeMlsMessage, type MLSMessage } from "ts-mls/message.js";
import {
  protect,
  protectApplicationData,
  protectProposal,
  unprotectPrivateMessage,
} from "ts-mls/messageProtection.js";
import {
  protectProposalPublic,
  protectPublicMessage,
  unprotectPublicMessage,
} from "ts-mls/messageProtectionPublic.js";
import { defaultPaddingConfig } from "ts-mls/paddingConfig.js";
import { verifyParentHashes } from "ts-mls/parentHash.js";
import { processPrivateMessage, processPublicMessage } from "ts-mls/processMessages.js";
import { decodeProposal, encodeProposal } from "ts-mls/proposal.js";
import { decodeRatchetTree, resolution } from "ts-mls/ratchetTree.js";
import { createSecretTree } from "ts-mls/secretTree.js";
import { treeHash } from "ts-mls/treeHash.js";
import { nodeToLeafIndex, toNodeIndex } from "ts-mls/treemath.js";
import { decryptGroupInfo, decryptGroupSecrets } from "ts-mls/welcome.js";
import { ed25519Primitives } from "./ed25519.js";
import { openBase, sealBaseDeterministic } from "./hpke.js";
import { PARLEY_CIPHERSUITE, PARLEY_CIPHERSUITE_ID, parleyCiphersuite } from "./provider.js";
import { checkKeySchedule, checkSecretTree } from "./testing/kat-checks.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const vectorDir = resolve(repoRoot, "..", "shared", "test-vectors", "mls");
const cs: CiphersuiteImpl = parleyCiphersuite();
const hex = bytesToHex;
const bytes = hexToBytes;

// biome-ignore lint/suspicious/noExplicitAny: vector files are untyped JSON; each test narrows what it reads.
type Json = any;

/*
 * The vectors run on the primitives this process chose: WebCrypto's Ed25519 in Node by default,
 * @noble under PARLEY_CRYPTO_PRIMITIVES=noble (kat-noble.test.ts imports this file that way).
 */
test("runs on the primitives asked for", async () => {
  const asked = (process.env.PARLEY_CRYPTO_PRIMITIVES ?? "") || "native";
  assert.equal(await ed25519Primitives(), asked);
});

function suite3(file: string): Json[] {
  const path = resolve(vectorDir, file);
  if (!existsSync(path)) {
    throw new Error(
      `MLS test vector ${path} is missing. The known-answer tests need shared/test-vectors/mls beside ` +
        "the checkout (copied from mlswg/mls-implementations/test-vectors).",
    );
  }
  const all = JSON.parse(readFileSync(path, "utf8")) as Json[];
  const cases = all.filter((c) => c.cipher_suite === PARLEY_CIPHERSUITE_ID);
  assert.ok(cases.length > 0, `${file} has no case for cipher suite ${PARLEY_CIPHERSUITE_ID}`);
  return cases;
}

function decodeMessage(h: string): MLSMessage {
  const raw = bytes(h);
  const decoded = decodeMlsMessage(raw, 0);
  assert.ok(decoded !== undefined, "MLSMessage did not decode");
  assert.equal(decoded[1], raw.length, "MLSMessage has trailing bytes");
  return decoded[0];
}

function groupContextOf(v: Json): GroupContext {
  return {
    version: "mls10",
    cipherSuite: PARLEY_CIPHERSUITE,
    groupId: bytes(v.group_id),
    epoch: BigInt(v.epoch),
    treeHash: bytes(v.tree_hash),
    confirmedTranscriptHash: bytes(v.confirmed_transcript_hash),
    extensions: [],
  };
}

test("RFC 9180 A.2.1: base mode DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20Poly1305", () => {
  // Values from RFC 9180 Appendix A.2.1 (first encryption, sequence number 0).
  const info = bytes("4f6465206f6e2061204772656369616e2055726e");
  const ikmE = bytes("909a9b35d3dc4713a5e72a4da274b55d3d3821a37e5d099e74a647db583a904b");
  const pkRm = bytes("4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a");
  const skRm = bytes("8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb");
  const enc = "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a";
  const pt = bytes("4265617574792069732074727574682c20747275746820626561757479");
  const aad = bytes("436f756e742d30");
  const ct = "1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db21993c62ce81883d2dd1b51a28";

  const sealed = sealBaseDeterministic(pkRm, info, aad, pt, ikmE);
  assert.equal(hex(sealed.enc), enc);
  assert.equal(hex(sealed.ct), ct);
  assert.equal(hex(openBase(bytes(enc), skRm, pkRm, info, aad, bytes(ct))), hex(pt));
});

test("crypto-basics: RefHash, Expand/DeriveSecret/DeriveTreeSecret, Sign/EncryptWithLabel", async (t) => {
  for (const [i, v] of suite3("crypto-basics.json").entries()) {
    await t.test(`case ${i}`, async () => {
      const rh = v.ref_hash;
      assert.equal(hex(await refhash(rh.label, bytes(rh.value), cs.hash)), rh.out, "ref_hash");

      const ewl = v.expand_with_label;
      assert.equal(
        hex(await expandWithLabel(bytes(ewl.secret), ewl.label, bytes(ewl.context), ewl.length, cs.kdf)),
        ewl.out,
        "expand_with_label",
      );

      const ds = v.derive_secret;
      assert.equal(hex(await deriveSecret(bytes(ds.secret), ds.label, cs.kdf)), ds.out, "derive_secret");

      const dts = v.derive_tree_secret;
      assert.equal(
        hex(await deriveTreeSecret(bytes(dts.secret), dts.label, dts.generation, dts.length, cs.kdf)),
        dts.out,
        "derive_tree_secret",
      );

      // VerifyWithLabel(pub, label, content, signature) == true, and our own signature verifies.
      const swl = v.sign_with_label;
      assert.ok(
        await verifyWithLabel(
          bytes(swl.pub),
          swl.label,
          bytes(swl.content),
          bytes(swl.signature),
          cs.signature,
        ),
        "sign_with_label: vector signature verifies",
      );
      const ours = await signWithLabel(bytes(swl.priv), swl.label, bytes(swl.content), cs.signature);
      assert.ok(await verifyWithLabel(bytes(swl.pub), swl.label, bytes(swl.content), ours, cs.signature));
      assert.equal(hex(ours), swl.signature, "Ed25519 is deterministic, so our signature is the vector's");

      // DecryptWithLabel(priv, ...) == plaintext, then a round trip through EncryptWithLabel.
      const e = v.encrypt_with_label;
      const priv = await cs.hpke.importPrivateKey(bytes(e.priv));
      const pub = await cs.hpke.importPublicKey(bytes(e.pub));
      const opened = await decryptWithLabel(
        priv,
        e.label,
        bytes(e.context),
        bytes(e.kem_output),
        bytes(e.ciphertext),
        cs.hpke,
      );
      assert.equal(hex(opened), e.plaintext, "encrypt_with_label: vector ciphertext opens");
      const sealed = await encryptWithLabel(pub, e.label, bytes(e.context), bytes(e.plaintext), cs.hpke);
      const reopened = await decryptWithLabel(
        priv,
        e.label,
        bytes(e.context),
        sealed.enc,
        sealed.ct,
        cs.hpke,
      );
      assert.equal(hex(reopened), e.plaintext, "encrypt_with_label: round trip");
    });
  }
});

test("secret-tree: sender data keys and every leaf's handshake/application ratchets", async (t) => {
  for (const [i, v] of suite3("secret-tree.json").entries()) {
    await t.test(`case ${i}`, () => checkSecretTree(v, cs));
  }
});

test("key-schedule: every epoch secret, external_pub and the exporter", async (t) => {
  for (const [i, v] of suite3("key-schedule.json").entries()) {
    await t.test(`case ${i}`, () =>
      checkKeySchedule(v, cs, PARLEY_CIPHERSUITE, async (n, ep, externalSecret) => {
        // external_pub is the public half of KEM.DeriveKeyPair(external_secret) (RFC 9420 §8).
        const { publicKey } = await cs.hpke.deriveKeyPair(externalSecret);
        assert.equal(
          hex(await cs.hpke.exportPublicKey(publicKey)),
          ep.external_pub,
          `epoch ${n} external_pub`,
        );
      }),
    );
  }
});

test("message-protection: the vector messages unprotect, and ours round-trip", async (t) => {
  for (const [i, v] of suite3("message-protection.json").entries()) {
    await t.test(`case ${i}`, async () => {
      const gc = groupContextOf(v);
      const sigPriv = bytes(v.signature_priv);
      const sigPub = bytes(v.signature_pub);
      const membershipKey = bytes(v.membership_key);
      const senderDataSecret = bytes(v.sender_data_secret);
      const freshTree = () => createSecretTree(2, bytes(v.encryption_secret), cs.kdf);
      const retention = defaultKeyRetentionConfig;
      const proposal = decodeProposal(bytes(v.proposal), 0)?.[0];
      const commit = decodeCommit(bytes(v.commit), 0)?.[0];
      assert.ok(proposal !== undefined && commit !== undefined);

      // The vector's PublicMessages.
      for (const [field, kind] of [
        ["proposal_pub", "proposal"],
        ["commit_pub", "commit"],
      ] as const) {
        const m = decodeMessage(v[field]);
        assert.equal(m.wireformat, "mls_public_message");
        if (m.wireformat !== "mls_public_message") return;
        const u = await unprotectPublicMessage(membershipKey, gc, [], m.publicMessage, cs, sigPub);
        assert.equal(u.content.contentType, kind, field);
        if (u.content.contentType === "proposal")
          assert.equal(hex(encodeProposal(u.content.proposal)), v.proposal);
        if (u.content.contentType === "commit") assert.equal(hex(encodeCommit(u.content.commit)), v.commit);
      }

      // The vector's PrivateMessages, each against a fresh secret tree.
      for (const field of ["proposal_priv", "commit_priv", "application_priv"] as const) {
        const m = decodeMessage(v[field]);
        assert.equal(m.wireformat, "mls_private_message");
        if (m.wireformat !== "mls_private_message") return;
        const u = await unprotectPrivateMessage(
          senderDataSecret,
          m.privateMessage,
          await freshTree(),
          [],
          gc,
          retention,
          cs,
          sigPub,
        );
        const c = u.content.content;
        if (field === "proposal_priv") {
          assert.equal(c.contentType, "proposal");
          if (c.contentType === "proposal") assert.equal(hex(encodeProposal(c.proposal)), v.proposal);
        } else if (field === "commit_priv") {
          assert.equal(c.contentType, "commit");
          if (c.contentType === "commit") assert.equal(hex(encodeCommit(c.commit)), v.commit);
        } else {
          assert.equal(c.contentType, "application");
          if (c.contentType === "application") assert.equal(hex(c.applicationData), v.application);
        }
      }

      // Protect with our provider as leaf 1, then unprotect.
      const pubProposal = await protectProposalPublic(
        sigPriv,
        membershipKey,
        gc,
        new Uint8Array(),
        proposal,
        1,
        cs,
      );
      const pubProposalBack = await unprotectPublicMessage(
        membershipKey,
        gc,
        [],
        pubProposal.publicMessage,
        cs,
        sigPub,
      );
      assert.equal(pubProposalBack.content.contentType, "proposal");

      const sender = { senderType: "member" as const, leafIndex: 1 };
      const confirmationTag = cs.rng.randomBytes(32);
      for (const wireformat of ["mls_public_message", "mls_private_message"] as const) {
        const { framedContent, signature } = await createContentCommitSignature(
          gc,
          wireformat,
          commit,
          sender,
          new Uint8Array(),
          sigPriv,
          cs.signature,
        );
        if (wireformat === "mls_public_message") {
          const content: AuthenticatedContent = {
            wireformat,
            content: framedContent,
            auth: { contentType: "commit", signature, confirmationTag },
          };
          const pm = await protectPublicMessage(membershipKey, gc, content, cs);
          const back = await unprotectPublicMessage(membershipKey, gc, [], pm, cs, sigPub);
          assert.ok(
            back.content.contentType === "commit" && hex(encodeCommit(back.content.commit)) === v.commit,
          );
        } else {
          const tree = await freshTree();
          const prot = await protect(
            senderDataSecret,
            new Uint8Array(),
            gc,
            tree,
            { contentType: "commit", commit, auth: { contentType: "commit", signature, confirmationTag } },
            1,
            defaultPaddingConfig,
            cs,
          );
          const back = await unprotectPrivateMessage(
            senderDataSecret,
            prot.privateMessage,
            tree,
            [],
            gc,
            retention,
            cs,
            sigPub,
          );
          const c = back.content.content;
          assert.ok(c.contentType === "commit" && hex(encodeCommit(c.commit)) === v.commit);
        }
      }

      const tree = await freshTree();
      const privProposal = await protectProposal(
        sigPriv,
        senderDataSecret,
        proposal,
        new Uint8Array(),
        gc,
        tree,
        1,
        defaultPaddingConfig,
        cs,
      );
      const privProposalBack = await unprotectPrivateMessage(
        senderDataSecret,
        privProposal.privateMessage,
        tree,
        [],
        gc,
        retention,
        cs,
        sigPub,
      );
      const pc = privProposalBack.content.content;
      assert.ok(pc.contentType === "proposal" && hex(encodeProposal(pc.proposal)) === v.proposal);

      const appTree = await freshTree();
      const app = await protectApplicationData(
        sigPriv,
        senderDataSecret,
        bytes(v.application),
        new Uint8Array(),
        gc,
        appTree,
        1,
        defaultPaddingConfig,
        cs,
      );
      const appBack = await unprotectPrivateMessage(
        senderDataSecret,
        app.privateMessage,
        appTree,
        [],
        gc,
        retention,
        cs,
        sigPub,
      );
      const ac = appBack.content.content;
      assert.ok(ac.contentType === "application" && hex(ac.applicationData) === v.application);
    });
  }
});

test("welcome: secrets open with the init key, GroupInfo decrypts, tag and signature verify", async (t) => {
  for (const [i, v] of suite3("welcome.json").entries()) {
    await t.test(`case ${i}`, async () => {
      const w = decodeMessage(v.welcome);
      const kp = decodeMessage(v.key_package);
      assert.ok(w.wireformat === "mls_welcome" && kp.wireformat === "mls_key_package");
      if (w.wireformat !== "mls_welcome" || kp.wireformat !== "mls_key_package") return;
      const ref = await makeKeyPackageRef(kp.keyPackage, cs.hash);
      const initKey = await cs.hpke.importPrivateKey(bytes(v.init_priv));
      const secrets = await decryptGroupSecrets(initKey, ref, w.welcome, cs.hpke);
      assert.ok(secrets !== undefined, "group secrets decode");
      const pskSecret = new Uint8Array(cs.kdf.size);
      const gi = await decryptGroupInfo(w.welcome, secrets.joinerSecret, pskSecret, cs);
      assert.ok(gi !== undefined, "GroupInfo decrypts and decodes");
      assert.ok(
        await verifyGroupInfoConfirmationTag(gi, secrets.joinerSecret, pskSecret, cs),
        "confirmation tag",
      );
      assert.ok(await verifyGroupInfoSignature(gi, bytes(v.signer_pub), cs.signature), "GroupInfo signature");
    });
  }
});

/**
 * RFC 9420 §12.4.3.1 join, then every epoch's proposals and commit; the epoch authenticator
 * after each step must match. Mirrors the interop harness's passive client.
 */
async function runPassiveClient(v: Json): Promise<void> {
  const kp = decodeMessage(v.key_package);
  const welcome = decodeMessage(v.welcome);
  assert.ok(kp.wireformat === "mls_key_package" && welcome.wireformat === "mls_welcome");
  if (kp.wireformat !== "mls_key_package" || welcome.wireformat !== "mls_welcome") return;

  // The private keys must be the ones behind the KeyPackage's public keys.
  assert.equal(hex(x25519.getPublicKey(bytes(v.encryption_priv))), hex(kp.keyPackage.leafNode.hpkePublicKey));
  assert.equal(hex(x25519.getPublicKey(bytes(v.init_priv))), hex(kp.keyPackage.initKey));
  assert.equal(
    hex(ed25519.getPublicKey(bytes(v.signature_priv))),
    hex(kp.keyPackage.leafNode.signaturePublicKey),
  );

  const privateKeys: PrivateKeyPackage = {
    hpkePrivateKey: bytes(v.encryption_priv),
    initPrivateKey: bytes(v.init_priv),
    signaturePrivateKey: bytes(v.signature_priv),
  };
  let tree: RatchetTree | undefined;
  if (v.ratchet_tree !== null) {
    const decoded = decodeRatchetTree(bytes(v.ratchet_tree), 0);
    assert.ok(decoded !== undefined, "ratchet_tree decodes");
    tree = decoded[0];
  }
  const psks: Record<string, Uint8Array> = {};
  for (const p of v.external_psks as Json[]) psks[bytesToBase64(bytes(p.psk_id))] = bytes(p.psk);

  let state = await joinGroup(
    welcome.welcome,
    kp.keyPackage,
    privateKeys,
    makePskIndex(undefined, psks),
    cs,
    tree,
  );
  assert.equal(hex(state.keySchedule.epochAuthenticator), v.initial_epoch_authenticator, "after the Welcome");

  for (const [n, ep] of (v.epochs as Json[]).entries()) {
    for (const raw of [...(ep.proposals as string[]), ep.commit as string]) {
      const m = decodeMessage(raw);
      if (m.wireformat === "mls_private_message") {
        state = (await processPrivateMessage(state, m.privateMessage, makePskIndex(state, psks), cs))
          .newState;
      } else if (m.wireformat === "mls_public_message") {
        state = (await processPublicMessage(state, m.publicMessage, makePskIndex(state, psks), cs)).newState;
      } else {
        assert.fail(`epoch ${n}: unexpected wire format ${m.wireformat}`);
      }
    }
    assert.equal(hex(state.keySchedule.epochAuthenticator), ep.epoch_authenticator, `after epoch ${n + 1}`);
  }
}

test("passive-client-welcome: join from every Welcome, epoch authenticator matches", async (t) => {
  for (const [i, v] of suite3("passive-client-welcome.json").entries()) {
    await t.test(`case ${i}`, () => runPassiveClient(v));
  }
});

test("passive-client-handling-commit: join, then follow each commit", async (t) => {
  for (const [i, v] of suite3("passive-client-handling-commit.json").entries()) {
    await t.test(`case ${i}`, () => runPassiveClient(v));
  }
});

test("tree-validation: tree hashes, resolutions, parent hashes and leaf signatures", async (t) => {
  for (const [i, v] of suite3("tree-validation.json").entries()) {
    await t.test(`case ${i}`, async () => {
      const decoded = decodeRatchetTree(bytes(v.tree), 0);
      assert.ok(decoded !== undefined, "tree decodes");
      const tree = decoded[0];
      for (const [n, h] of (v.tree_hashes as string[]).entries()) {
        assert.equal(hex(await treeHash(tree, toNodeIndex(n), cs.hash)), h, `tree hash of node ${n}`);
      }
      for (const [n, r] of (v.resolutions as number[][]).entries()) {
        assert.deepEqual(resolution(tree, toNodeIndex(n)), r, `resolution of node ${n}`);
      }
      assert.ok(await verifyParentHashes(tree, cs.hash), "parent hashes");
      for (const [n, node] of tree.entries()) {
        if (node?.nodeType !== "leaf") continue;
        const leafIndex = nodeToLeafIndex(toNodeIndex(n));
        assert.ok(
          await verifyLeafNodeSignature(node.leaf, bytes(v.group_id), leafIndex, cs.signature),
          `leaf ${leafIndex} signature`,
        );
      }
    });
  }
});
