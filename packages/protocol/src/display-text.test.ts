import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isDisplayText } from "./display-text.js";

describe("isDisplayText", () => {
  test("accepts ordinary text in many scripts, with emoji and ZWJ sequences", () => {
    for (const t of ["ops", "Équipe 2", "会议室", "שלום", "مرحبا", "family 👨‍👩‍👧", "नमस्ते", "a b"]) {
      assert.equal(isDisplayText(t), true, t);
    }
  });

  test("refuses controls, bidi and other format characters, and invisible-only text", () => {
    for (const t of [
      "a\u0000b",
      "\u001b[31mred",
      "a\nb",
      "a\u0085b",
      "txt\u202Eexe",
      "a\u2066b",
      "\u200Eleft",
      "a\u2028b",
      "\u200B",
      "\u200D\u200C",
      "\uFEFF",
      "   ",
      "\u3164",
      "a\uE000",
      "a\uD800",
    ]) {
      assert.equal(isDisplayText(t), false, JSON.stringify(t));
    }
  });
});
