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
