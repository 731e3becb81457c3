import type { Route } from "./model.js";

const PUBLIC_ROUTES: Readonly<Record<string, Route>> = {
  "#/signin": "signin",
  "#/register": "register",
  "#/reset": "reset",
  "#/trust": "trust",
};

/** The route a hash asks for; signed-in users are always in the app. */
export function routeFromHash(hash: string, signedIn: boolean): Route {
  if (signedIn) return hash === "#/trust" ? "trust" : "app";
  return PUBLIC_ROUTES[hash] ?? "signin";
}

const INVITE_PREFIX = "#invite=";

/** The link an admin hands out with an invite code: the registration page, code filled in. */
export function inviteLink(origin: string, code: string): string {
  return `${origin}/${INVITE_PREFIX}${encodeURIComponent(code)}`;
}

/**
 * The invite code of an invite link's hash, or undefined. The code sits in the fragment, which
 * the browser never sends to the server; the page removes it from the address at once.
 */
export function inviteFromHash(hash: string): string | undefined {
  if (!hash.startsWith(INVITE_PREFIX)) return undefined;
  let code: string;
  try {
    code = decodeURIComponent(hash.slice(INVITE_PREFIX.length)).trim();
  } catch {
    return undefined;
  }
  return code.length > 0 && code.length <= 64 ? code : undefined;
}
