import type { SessionResponse } from "@parley/protocol";
import { registerUser, STRONG_PASSWORD, uniqueName } from "../../integration/support/harness.js";
import type { E2eSuite, E2eUser, UserOptions } from "./suite.js";
import { register, signIn } from "./ui.js";

/** A registered, signed-in person in their own browser context. */
export interface Person extends E2eUser {
  readonly username: string;
  readonly password: string;
}

/** Opens a fresh context and registers a new account through the page's own form. */
export async function newPerson(s: E2eSuite, label: string, options: UserOptions = {}): Promise<Person> {
  const user = await s.newUser(label, options);
  const username = uniqueName(label);
  await register(user.page, username, STRONG_PASSWORD);
  return Object.assign(user, { username, password: STRONG_PASSWORD });
}

/** The same person on another device: a fresh context (new storage, so new device keys). */
export async function newDevice(s: E2eSuite, person: Person, label: string, options: UserOptions = {}) {
  const user = await s.newUser(label, options);
  await signIn(user.page, person.username, person.password);
  return Object.assign(user, { username: person.username, password: person.password });
}

/**
 * A person whose account is made over the HTTP API, then signed in through the page's form on a
 * fresh context (this first device creates the identity): for tests about something other than
 * registering, which auth.test.ts covers in the page. `prepare` runs in between, on the server's
 * side (an admin flag, which the page learns as it signs in).
 */
export async function signedInPerson(
  s: E2eSuite,
  label: string,
  options: UserOptions & { prepare?: (account: SessionResponse) => Promise<void> } = {},
): Promise<Person> {
  const { prepare, ...userOptions } = options;
  const username = uniqueName(label);
  const account = await registerUser(s.server, username);
  await prepare?.(account);
  const user = await s.newUser(label, userOptions);
  await signIn(user.page, username, STRONG_PASSWORD);
  return Object.assign(user, { username, password: STRONG_PASSWORD });
}
