import assert from "node:assert/strict";
import { test } from "node:test";
import { describeUrl, offLoopback, runKeyPrefix } from "./cluster-backend.js";

test("gives each run a Redis key prefix of its own that the server accepts", () => {
  const a = runKeyPrefix();
  assert.match(a, /^parley-bench-[0-9a-f]{8}:$/);
  assert.notEqual(runKeyPrefix(), a);
});

test("accepts services on 127.0.0.0/8 only", () => {
  assert.equal(offLoopback("postgres://postgres@127.0.0.1:5432/test"), null);
  assert.equal(offLoopback("redis://127.0.0.2:6379"), null);
  assert.match(offLoopback("redis://10.0.0.5:6379") ?? "", /not a loopback address/);
  assert.match(offLoopback("redis://localhost.example.com:6379") ?? "", /not a loopback address/);
  assert.match(offLoopback("not a url") ?? "", /not a valid URL/);
});

test("shows a service URL without its password or options", () => {
  assert.equal(
    describeUrl("postgres://bench:s3cret@127.0.0.1:5432/test?options=-c%20search_path%3Dx"),
    "postgres://bench@127.0.0.1:5432/test",
  );
  assert.equal(describeUrl("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
});
