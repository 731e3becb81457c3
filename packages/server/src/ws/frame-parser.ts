// Turns a WebSocket message into a validated client frame, or a registry error (WS-3).
import { CLIENT_FRAME_SCHEMAS, type ClientFrame, type ClientFrameType, RequestId } from "@parley/protocol";
import { Compile, type Validator } from "typebox/compile";
import type { RawData } from "ws";
import { ParleyError } from "../domain/errors.js";

/**
 * Turns a text frame into a validated ClientFrame, or throws a ParleyError with a stable code.
 * Validators are compiled once per frame type, and the frame's `type` picks one, so errors
 * point at the field that is wrong instead of at every branch of the union. Unknown fields
 * are ignored; `__proto__` and `constructor` keys are dropped while parsing.
 */
export class FrameParser {
  readonly #validators = new Map<string, Validator>();
  /** The protocol's own RequestId schema, for the rid of a frame that is refused. */
  readonly #rid: Validator = Compile(RequestId);

  constructor() {
    for (const [type, schema] of CLIENT_FRAME_SCHEMAS) this.#validators.set(type, Compile(schema));
  }

  get types(): ClientFrameType[] {
    return [...this.#validators.keys()] as ClientFrameType[];
  }

  /** A WebSocket message as `ws` hands it over; binary frames are refused (WS-3). */
  parseMessage(data: RawData, isBinary: boolean): ClientFrame {
    if (isBinary) throw new ParleyError("binary_frames_unsupported");
    if (Buffer.isBuffer(data)) return this.parse(data.toString("utf8"));
    if (Array.isArray(data)) return this.parse(Buffer.concat(data).toString("utf8"));
    return this.parse(Buffer.from(data).toString("utf8"));
  }

  parse(text: string): ClientFrame {
    let value: unknown;
    try {
      // A reviver makes JSON.parse several times slower; it can only drop something when the
      // text holds one of its keys, spelled out or escaped.
      value = mayHoldPrototypeKey(text) ? JSON.parse(text, dropPrototypeKeys) : JSON.parse(text);
    } catch {
      throw new ParleyError("malformed_json");
    }
    const object =
      typeof value === "object" && value !== null ? (value as { type?: unknown; rid?: unknown }) : {};
    // WS-3: a refusal names the request it answers when the frame carries a usable rid.
    const rid = this.#rid.Check(object.rid) ? (object.rid as string) : undefined;
    const validator = typeof object.type === "string" ? this.#validators.get(object.type) : undefined;
    if (!validator) throw new FrameError({ details: ["/type"] }, rid);
    if (!validator.Check(value)) {
      const paths = [...new Set(validator.Errors(value).map((e) => e.instancePath || "/"))].slice(0, 5);
      throw new FrameError({ details: paths }, rid);
    }
    return value as ClientFrame;
  }
}

/** `validation_failed` for a frame that parsed as JSON, with its rid when it had one. */
export class FrameError extends ParleyError {
  constructor(
    options: { details: string[] },
    readonly rid: string | undefined,
  ) {
    super("validation_failed", options);
  }
}

/** False only when no key of the text can be `__proto__`, `constructor` or `prototype`. */
function mayHoldPrototypeKey(text: string): boolean {
  return (
    text.includes("\\") ||
    text.includes("__proto__") ||
    text.includes("constructor") ||
    text.includes("prototype")
  );
}

function dropPrototypeKeys(key: string, value: unknown): unknown {
  return key === "__proto__" || key === "constructor" || key === "prototype" ? undefined : value;
}
