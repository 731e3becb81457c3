/** JSON parsing for untrusted input and schema checks of server answers. */
import type { TSchema } from "typebox";
import { Check } from "typebox/value";
import { ParleyClientError } from "./errors.js";

/** JSON.parse for untrusted input: drops keys that could reach an object's prototype. */
export function parseJson(text: string): unknown {
  return JSON.parse(text, (key, value: unknown) =>
    key === "__proto__" || key === "constructor" || key === "prototype" ? undefined : value,
  );
}

/** Checks an answer against its protocol schema; throws `unexpected_answer` when it does not fit. */
export function expectShape<T>(schema: TSchema, value: unknown, what: string): T {
  if (!Check(schema, value)) {
    throw new ParleyClientError("unexpected_answer", {
      message: `the server's ${what} does not match the protocol`,
    });
  }
  return value as T;
}
