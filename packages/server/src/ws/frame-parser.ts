import { ClientFrame, type ClientFrameType } from "@parley/protocol";
import type { TSchema } from "typebox";
import type { Validator } from "typebox/compile";
import { Compile } from "typebox/compile";
import { ParleyError } from "../domain/errors.js";

/**
 * Turns a text frame into a validated ClientFrame, or throws a ParleyError with a stable code.
 * Validators are compiled once per frame type, and the frame's `type` picks one, so errors
 * point at the field that is wrong instead of at every branch of the union. Unknown fields
 * are ignored; `__proto__` and `constructor` keys are dropped while parsing.
 */
export class FrameParser {
  readonly #validators = new Map<string, Validator>();

  constructor() {
    for (const variant of (ClientFrame as unknown as { anyOf: TSchema[] }).anyOf) {
      const type = (variant as { properties: { type: { const: string } } }).properties.type.const;
      this.#validators.set(type, Compile(variant) as unknown as Validator);
    }
  }

  get types(): ClientFrameType[] {
    return [...this.#validators.keys()] as ClientFrameType[];
  }

  parse(text: string): ClientFrame {
    let value: unknown;
    try {
      value = JSON.parse(text, dropPrototypeKeys);
    } catch {
      throw new ParleyError("malformed_json");
    }
    const type = typeof value === "object" && value !== null ? (value as { type?: unknown }).type : undefined;
    const validator = typeof type === "string" ? this.#validators.get(type) : undefined;
    if (!validator) throw new ParleyError("validation_failed", { details: ["/type"] });
    if (!validator.Check(value)) {
      const paths = [...new Set(validator.Errors(value).map((e) => e.instancePath || "/"))].slice(0, 5);
      throw new ParleyError("validation_failed", { details: paths });
    }
    return value as ClientFrame;
  }
}

function dropPrototypeKeys(key: string, value: unknown): unknown {
  return key === "__proto__" || key === "constructor" || key === "prototype" ? undefined : value;
}
