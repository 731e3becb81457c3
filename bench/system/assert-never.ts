/** For the `default` of every switch over a union: a new member fails to compile here. */
export function assertNever(x: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(x)}`);
}
