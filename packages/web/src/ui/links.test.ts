import assert from "node:assert/strict";
import { test } from "node:test";
import { safeHref } from "./links.js";

test("only http, https and mailto targets may become links", () => {
  assert.equal(safeHref("https://example.org/a?b=1"), "https://example.org/a?b=1");
  assert.equal(safeHref("http://10.0.0.5:8443/"), "http://10.0.0.5:8443/");
  assert.equal(safeHref("mailto:ops@example.org"), "mailto:ops@example.org");
  for (const bad of [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "blob:https://example.org/x",
    "/relative/path",
    "not a url",
  ]) {
    assert.equal(safeHref(bad), undefined, bad);
  }
});
