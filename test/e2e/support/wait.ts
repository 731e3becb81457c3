import { setTimeout as sleep } from "node:timers/promises";
import type { Locator } from "playwright-core";

/**
 * Generous by design: two busy cores, MLS key schedules in every browser. No test asserts a
 * duration; this only bounds how long a broken build takes to fail.
 */
export const WAIT_MS = 45_000;

/**
 * Polls `probe` until it returns something truthy, every 100 ms, for at most `timeoutMs`.
 * For conditions Playwright's own auto-waiting cannot express (an attribute's value, a count).
 */
export async function until<T>(
  probe: () => Promise<T | false | null | undefined>,
  what: string,
  timeoutMs = WAIT_MS,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
      last = value;
    } catch (e) {
      last = e instanceof Error ? e.message.split("\n")[0] : e;
    }
    if (Date.now() >= deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${String(last)})`);
    await sleep(100);
  }
}

/** Waits until `locator`'s attribute `name` equals `value`. */
export async function waitForAttribute(locator: Locator, name: string, value: string, timeoutMs = WAIT_MS) {
  await until(
    async () => (await locator.getAttribute(name, { timeout: 1000 })) === value,
    `${locator} [${name}="${value}"]`,
    timeoutMs,
  );
}

/** Waits until `locator`'s text content, whitespace-collapsed, satisfies `match`. */
export async function waitForText(
  locator: Locator,
  match: string | RegExp,
  timeoutMs = WAIT_MS,
): Promise<string> {
  // Wrapped: an empty text is a valid answer, but a falsy one to `until`.
  const found = await until(
    async () => {
      const text = ((await locator.textContent({ timeout: 1000 })) ?? "").replace(/\s+/g, " ").trim();
      const ok = typeof match === "string" ? text === match : match.test(text);
      return ok ? { text } : false;
    },
    `${locator} text ${JSON.stringify(String(match))}`,
    timeoutMs,
  );
  return found.text;
}

/** Waits until `locator` matches exactly `n` elements. */
export async function waitForCount(locator: Locator, n: number, timeoutMs = WAIT_MS): Promise<void> {
  await until(async () => (await locator.count()) === n, `${n} × ${locator}`, timeoutMs);
}
