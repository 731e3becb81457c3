import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { COMMON_PASSWORD_TABLE } from "./common-password-table.generated.js";
import {
  COMMON_PASSWORD_FALSE_POSITIVE_RATE,
  decodeCommonPasswordTable,
  encodeCommonPasswordTable,
  mayBeCommonPassword,
  passwordHashPrefix,
} from "./common-password-table.js";
import { getCommonPasswords, isCommonPassword } from "./common-passwords.js";
import { checkPassword, PASSWORD_POLICIES } from "./password-policy.js";
import { checkPassword as checkCompact } from "./password-policy-compact.js";

describe("common-password table", () => {
  it("is the committed encoding of the current list (run `npm run common-password-table` if not)", () => {
    const fresh = encodeCommonPasswordTable(
      getCommonPasswords(),
      COMMON_PASSWORD_TABLE.prefixBits,
      COMMON_PASSWORD_TABLE.riceBits,
    );
    assert.deepEqual(COMMON_PASSWORD_TABLE, fresh);
  });

  it("finds every password on the list, in any case and width", () => {
    const missed = [...getCommonPasswords()].filter((p) => !mayBeCommonPassword(p));
    assert.deepEqual(missed, []);
    assert.equal(mayBeCommonPassword("PASSWORD"), true);
    assert.equal(mayBeCommonPassword("ＰＡＳＳＷＯＲＤ"), true);
    assert.equal(mayBeCommonPassword("Correct Horse Battery Staple"), true);
  });

  it("has the false-positive rate its documentation states", (t) => {
    const prefixes = decodeCommonPasswordTable(COMMON_PASSWORD_TABLE);
    assert.equal(new Set(prefixes).size, COMMON_PASSWORD_TABLE.count, "prefixes are distinct");
    // A password not on the list has a uniformly distributed SHA-256 prefix, so it collides with
    // one of the table's distinct prefixes with probability count / 2^prefixBits.
    const rate = COMMON_PASSWORD_TABLE.count / 2 ** COMMON_PASSWORD_TABLE.prefixBits;
    assert.ok(
      Math.abs(rate - COMMON_PASSWORD_FALSE_POSITIVE_RATE) < 0.00005,
      `the table's rate is ${rate}, the documented one ${COMMON_PASSWORD_FALSE_POSITIVE_RATE}`,
    );
    // The same figure, counted: a fixed set of passwords that are not on the list.
    const tries = 50_000;
    let flagged = 0;
    for (let i = 0; i < tries; i++) {
      const password = `Unlisted-${i}-passphrase!`;
      assert.equal(isCommonPassword(password), false);
      if (mayBeCommonPassword(password)) flagged++;
    }
    // 50,000 draws at p = 0.00585: mean 293, standard deviation 17; these bounds are 5 of them.
    t.diagnostic(`${flagged} of ${tries} unlisted passwords flagged`);
    assert.ok(flagged > 205 && flagged < 380, `${flagged} of ${tries} flagged`);
  });

  it("hashes with SHA-256 over the UTF-8 of the NFKC, lowercase form", () => {
    for (const password of ["hunter2", "Ｔａｎｇｅｒｉｎｅ", "Grüße-aus-Köln"]) {
      const digest = createHash("sha256").update(password.normalize("NFKC").toLowerCase(), "utf8").digest();
      assert.equal(passwordHashPrefix(password, 32), digest.readUInt32BE(0));
      assert.equal(passwordHashPrefix(password, 23), digest.readUInt32BE(0) >>> 9);
    }
    assert.throws(() => passwordHashPrefix("x", 0), RangeError);
    assert.throws(() => passwordHashPrefix("x", 33), RangeError);
  });

  it("encodes as standard base64 of the bit stream", () => {
    const table = encodeCommonPasswordTable(["a", "b", "c", "d", "e"], 16, 12);
    const decoded = decodeCommonPasswordTable(table);
    const expected = [...new Set(["a", "b", "c", "d", "e"].map((p) => passwordHashPrefix(p, 16)))];
    assert.deepEqual(
      [...decoded],
      expected.sort((x, y) => x - y),
    );
    // The same alphabet and bit order as RFC 4648 base64: Node's codec reads the same bytes back.
    const roundTrip = Buffer.from(table.data, "base64").toString("base64").replace(/=+$/, "");
    assert.ok(table.data.length > 2);
    assert.equal(roundTrip.slice(0, table.data.length - 1), table.data.slice(0, -1));
  });

  it("refuses a truncated or corrupted table", () => {
    const table = encodeCommonPasswordTable(["a", "b", "c"], 16, 12);
    assert.throws(() => decodeCommonPasswordTable({ ...table, data: table.data.slice(0, 2) }), RangeError);
    assert.throws(() => decodeCommonPasswordTable({ ...table, data: `*${table.data.slice(1)}` }), RangeError);
  });
});

describe("the compact checker", () => {
  it("gives the server's verdict on listed and strong passwords", () => {
    const policy = PASSWORD_POLICIES.default;
    for (const [password, username] of [
      ["Password123!", "alice"],
      ["Tangerine-Rocket-42", "alice"],
      ["Tangerine-Rocket-42", "rocket"],
      ["short", ""],
      ["correct horse battery staple", ""],
    ] as const) {
      assert.deepEqual(checkCompact(password, username, policy), checkPassword(password, username, policy));
    }
  });
});
