import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it, mock } from "node:test";
import { RESET_CHECK_SPACING_MS, ResetChecks } from "./reset-checks.js";

beforeEach(() => mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000 }));
afterEach(() => mock.timers.reset());

describe("ResetChecks (IDENT-4 hints)", () => {
  it("looks a person up once for a burst of hints about them", () => {
    const checked: string[] = [];
    const checks = new ResetChecks((userId) => checked.push(userId));
    for (let i = 0; i < 100; i++) checks.hint("bob");
    checks.hint("carol");
    mock.timers.tick(0);
    assert.deepEqual(checked, ["bob", "carol"]);
    mock.timers.tick(RESET_CHECK_SPACING_MS * 3);
    assert.deepEqual(checked, ["bob", "carol"]);
  });

  it("keeps a hint that comes soon after a look-up for when the spacing has passed", () => {
    const checked: string[] = [];
    const checks = new ResetChecks((userId) => checked.push(userId));
    checks.hint("bob");
    mock.timers.tick(0);
    mock.timers.tick(1_000);
    checks.hint("bob");
    checks.hint("bob");
    mock.timers.tick(RESET_CHECK_SPACING_MS - 1_001);
    assert.deepEqual(checked, ["bob"]);
    mock.timers.tick(1);
    assert.deepEqual(checked, ["bob", "bob"]);
    // Once the spacing has passed, a new hint is acted on at once.
    mock.timers.tick(RESET_CHECK_SPACING_MS);
    checks.hint("bob");
    mock.timers.tick(0);
    assert.deepEqual(checked, ["bob", "bob", "bob"]);
  });

  it("drops hints about more people than it lets wait", () => {
    const checked: string[] = [];
    const checks = new ResetChecks((userId) => checked.push(userId), { waitingMax: 3 });
    for (const userId of ["a", "b", "c", "d", "e"]) checks.hint(userId);
    assert.equal(checks.waiting, 3);
    mock.timers.tick(0);
    assert.deepEqual(checked, ["a", "b", "c"]);
    checks.hint("d");
    mock.timers.tick(0);
    assert.deepEqual(checked, ["a", "b", "c", "d"]);
  });

  it("runs nothing after clear()", () => {
    const checked: string[] = [];
    const checks = new ResetChecks((userId) => checked.push(userId));
    checks.hint("bob");
    checks.clear();
    mock.timers.tick(RESET_CHECK_SPACING_MS);
    assert.deepEqual(checked, []);
    assert.equal(checks.waiting, 0);
    checks.hint("bob");
    mock.timers.tick(0);
    assert.deepEqual(checked, ["bob"]);
  });
});
