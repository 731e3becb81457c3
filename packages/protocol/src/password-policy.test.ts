import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { getCommonPasswords, isCommonPassword } from "./common-passwords.js";
import {
  ASCII_SPECIAL_CHARACTERS,
  assertPasswordPolicy,
  checkPassword,
  normalizePassword,
  PASSWORD_POLICIES,
  PASSWORD_RULES,
  type PasswordPolicy,
  type PasswordPolicyName,
  type PasswordRule,
} from "./password-policy.js";

const { default: DEFAULT, nist: NIST, classic: CLASSIC } = PASSWORD_POLICIES;

interface Case {
  policy: PasswordPolicyName;
  password: string;
  username?: string;
  failed: PasswordRule[];
  why: string;
}

// One passing password per preset, then one password per rule that breaks that rule only.
const cases: Case[] = [
  { policy: "default", password: "Tangerine-Rocket-42", failed: [], why: "meets every rule" },
  { policy: "default", password: "Tangerine-4", failed: ["too_short"], why: "11 characters" },
  { policy: "default", password: `T-${"a".repeat(127)}`, failed: ["too_long"], why: "129 characters" },
  { policy: "default", password: `T-${"a".repeat(126)}`, failed: [], why: "exactly 128 characters" },
  { policy: "default", password: "tangerine-rocket-42", failed: ["needs_uppercase"], why: "no uppercase" },
  { policy: "default", password: "TangerineRocket42", failed: ["needs_special"], why: "no special" },
  {
    policy: "default",
    password: "Tangerine Rocket 42",
    failed: ["needs_special"],
    why: "space is not special",
  },
  { policy: "default", password: "Password123!", failed: ["common_password"], why: "a padded favourite" },
  {
    policy: "default",
    password: "Password1234",
    failed: ["needs_special", "common_password"],
    why: "on the list",
  },
  {
    policy: "default",
    password: "Tangerine-ROCKET-42",
    username: "rocket",
    failed: ["contains_username"],
    why: "contains the username",
  },

  { policy: "nist", password: "plinth mango ferry ukulele", failed: [], why: "a lowercase passphrase" },
  { policy: "nist", password: "plinth mango 1", failed: ["too_short"], why: "14 characters" },
  { policy: "nist", password: "ab".repeat(65), failed: ["too_long"], why: "130 characters" },
  { policy: "nist", password: "plinthmangoferry", failed: [], why: "no composition rules" },
  { policy: "nist", password: "1qaz2wsx3edc4rfv", failed: ["common_password"], why: "on the zxcvbn list" },
  {
    policy: "nist",
    password: "Correct Horse Battery Staple",
    failed: ["common_password"],
    why: "the famous passphrase itself",
  },
  {
    policy: "nist",
    password: "plinth mango ferry ukulele",
    username: "Ukulele",
    failed: ["contains_username"],
    why: "contains the username",
  },

  { policy: "classic", password: "Tangerine-Rock4", failed: [], why: "15 characters, upper and special" },
  { policy: "classic", password: "Tangerine-4", failed: ["too_short"], why: "11 characters" },
  { policy: "classic", password: "Tangerine-Rocket-42", failed: ["too_long"], why: "19 characters" },
  { policy: "classic", password: "tangerine-rock4", failed: ["needs_uppercase"], why: "no uppercase" },
  { policy: "classic", password: "TangerineRock42", failed: ["needs_special"], why: "no special" },
  { policy: "classic", password: "Password123!", failed: ["common_password"], why: "a padded favourite" },
  {
    policy: "classic",
    password: "Tangerine-Rock4",
    username: "TANGERINE",
    failed: ["contains_username"],
    why: "contains the username",
  },
];

describe("checkPassword", () => {
  for (const c of cases) {
    const verdict = c.failed.length === 0 ? "accepts" : `fails ${c.failed.join(", ")} for`;
    it(`${c.policy}: ${verdict} a password with ${c.why}`, () => {
      const result = checkPassword(c.password, c.username ?? "someone", PASSWORD_POLICIES[c.policy]);
      assert.deepEqual(result.failed, c.failed);
      assert.equal(result.ok, c.failed.length === 0);
    });
  }

  it("reports every failed rule at once, in the documented order", () => {
    const result = checkPassword("alice", "alice", DEFAULT);
    assert.deepEqual(result.failed, [
      "too_short",
      "needs_uppercase",
      "needs_special",
      "common_password",
      "contains_username",
    ]);
    assert.equal(result.ok, false);
  });

  it("lists a check for every rule the policy enforces, failed or not", () => {
    const result = checkPassword("Tangerine-4", "someone", DEFAULT);
    assert.deepEqual(result.checks, [
      { rule: "too_short", ok: false },
      { rule: "too_long", ok: true },
      { rule: "needs_uppercase", ok: true },
      { rule: "needs_special", ok: true },
      { rule: "common_password", ok: true },
      { rule: "contains_username", ok: true },
    ]);
    assert.deepEqual(
      result.checks.map((c) => c.rule),
      PASSWORD_RULES,
    );
  });

  it("leaves the composition rules out of the nist checklist", () => {
    const rules = checkPassword("plinth mango ferry ukulele", "someone", NIST).checks.map((c) => c.rule);
    assert.deepEqual(rules, ["too_short", "too_long", "common_password", "contains_username"]);
  });

  it("omits rules that a custom policy turns off", () => {
    const lax: PasswordPolicy = { ...DEFAULT, rejectCommon: false, rejectUsername: false };
    const result = checkPassword("Password123!", "password", lax);
    assert.equal(result.ok, true);
    assert.deepEqual(
      result.checks.map((c) => c.rule),
      ["too_short", "too_long", "needs_uppercase", "needs_special"],
    );
  });
});

describe("checkPassword counts code points after NFKC", () => {
  it("counts an emoji as one character", () => {
    // 14 + 1 code points, 16 UTF-16 units.
    assert.deepEqual(checkPassword("Tangerine-Rock🔒", "someone", CLASSIC).failed, []);
    // 10 + 1 code points, 12 UTF-16 units.
    assert.deepEqual(checkPassword("Tangerine-🔒", "someone", DEFAULT).failed, ["too_short"]);
  });

  it("counts a sequence with no precomposed form per code point", () => {
    // q + U+0307 has no precomposed form: two code points.
    assert.deepEqual(checkPassword("Tangerine-q\u0307", "someone", DEFAULT).failed, []);
  });

  it("counts a composable sequence as its composed character", () => {
    // e + U+0301 becomes é: 12 code points typed, 11 after NFKC.
    assert.deepEqual(checkPassword("Tangerine-e\u0301", "someone", DEFAULT).failed, ["too_short"]);
  });

  it("counts a ligature as the letters NFKC expands it to", () => {
    // U+FB01 (ﬁ) becomes "fi": 11 code points typed, 12 after NFKC.
    assert.deepEqual(checkPassword("Tangerine-\uFB01", "someone", DEFAULT).failed, []);
  });

  it("reads full-width letters and punctuation as their ASCII forms", () => {
    assert.deepEqual(checkPassword("Ｐａｓｓｗｏｒｄ１２３！", "someone", DEFAULT).failed, [
      "common_password",
    ]);
    // U+FF0D is a full-width hyphen-minus: special once normalised.
    assert.deepEqual(checkPassword("Tangerine\uFF0DRocket42", "someone", DEFAULT).failed, []);
  });

  it("counts a non-ASCII uppercase letter as uppercase", () => {
    assert.deepEqual(checkPassword("Élan-vital-42", "someone", DEFAULT).failed, []);
  });
});

describe("the username rule", () => {
  it("matches case-insensitively", () => {
    assert.deepEqual(checkPassword("Tangerine-AlIcE-42", "aLiCe", DEFAULT).failed, ["contains_username"]);
  });

  it("matches a username typed in full-width forms", () => {
    assert.deepEqual(checkPassword("Tangerine-alice-42", "ａｌｉｃｅ", DEFAULT).failed, [
      "contains_username",
    ]);
  });

  it("applies from three characters", () => {
    assert.deepEqual(checkPassword("Tangerine-Bob-42", "bob", DEFAULT).failed, ["contains_username"]);
  });

  it("ignores usernames shorter than three characters", () => {
    assert.deepEqual(checkPassword("Tangerine-al-42", "al", DEFAULT).failed, []);
    assert.deepEqual(checkPassword("Tangerine-Rocket-42", "", DEFAULT).failed, []);
  });
});

describe("the common-password list", () => {
  it("holds the zxcvbn list and the padded favourites", () => {
    assert.ok(getCommonPasswords().size > 40_000);
    for (const p of ["123456", "password", "qwerty123456", "1qaz2wsx3edc", "password123!", "welcome12345"]) {
      assert.equal(isCommonPassword(p), true, p);
    }
  });

  it("matches case-insensitively and after NFKC", () => {
    assert.equal(isCommonPassword("PASSWORD"), true);
    assert.equal(isCommonPassword("Password123!"), true);
    assert.equal(isCommonPassword("ｑｗｅｒｔｙ"), true);
  });

  it("does not match a password merely containing a common one", () => {
    assert.equal(isCommonPassword("plinth mango ferry ukulele"), false);
    assert.equal(isCommonPassword("Tangerine-Rocket-42"), false);
  });
});

describe("normalizePassword", () => {
  it("maps composed and decomposed accents to one form", () => {
    assert.equal(normalizePassword("Caf\u00e9"), normalizePassword("Cafe\u0301"));
  });

  it("maps full-width forms to ASCII", () => {
    assert.equal(normalizePassword("Ｐａｓｓ！"), "Pass!");
  });
});

describe("the presets", () => {
  it("are frozen", () => {
    assert.ok(Object.isFrozen(PASSWORD_POLICIES));
    assert.ok(Object.isFrozen(DEFAULT));
  });

  it("use the 32 ASCII punctuation characters as specials, without space", () => {
    assert.equal(ASCII_SPECIAL_CHARACTERS.length, 32);
    assert.equal(ASCII_SPECIAL_CHARACTERS.includes(" "), false);
    for (const ch of ASCII_SPECIAL_CHARACTERS) assert.match(ch, /^[\x21-\x2f\x3a-\x40\x5b-\x60\x7b-\x7e]$/);
  });

  it("match the design", () => {
    assert.deepEqual(
      [DEFAULT.minLength, DEFAULT.maxLength, DEFAULT.requireUppercase, DEFAULT.requireSpecial],
      [12, 128, true, true],
    );
    assert.deepEqual(
      [NIST.minLength, NIST.maxLength, NIST.requireUppercase, NIST.requireSpecial],
      [15, 128, false, false],
    );
    assert.deepEqual(
      [CLASSIC.minLength, CLASSIC.maxLength, CLASSIC.requireUppercase, CLASSIC.requireSpecial],
      [12, 15, true, true],
    );
    for (const p of [DEFAULT, NIST, CLASSIC]) {
      assert.equal(p.rejectCommon && p.rejectUsername, true, p.name);
      assertPasswordPolicy(p);
    }
  });
});

describe("assertPasswordPolicy", () => {
  it("throws RangeError when maxLength is below minLength", () => {
    assert.throws(() => checkPassword("x", "", { ...DEFAULT, minLength: 20, maxLength: 10 }), RangeError);
  });

  it("throws RangeError for a minimum below one or a fractional length", () => {
    assert.throws(() => assertPasswordPolicy({ ...DEFAULT, minLength: 0 }), RangeError);
    assert.throws(() => assertPasswordPolicy({ ...DEFAULT, maxLength: 12.5 }), RangeError);
  });

  it("throws TypeError when specials are required from an empty set", () => {
    assert.throws(() => assertPasswordPolicy({ ...DEFAULT, specialCharacters: "" }), TypeError);
  });
});
