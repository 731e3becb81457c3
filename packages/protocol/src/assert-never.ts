/**
 * For the `default` of every switch over a union: a new member fails to compile there, and a
 * value the types did not foresee (bad input cast to the union) throws instead of passing.
 */
export function assertNever(x: never): never {
  let shown: string;
  try {
    shown = JSON.stringify(x) ?? String(x);
  } catch {
    shown = String(x);
  }
  throw new TypeError(`unhandled case: ${shown}`);
}
