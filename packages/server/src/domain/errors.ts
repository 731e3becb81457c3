import { ERRORS, type ErrorCode } from "@parley/protocol";

export interface ParleyErrorOptions {
  retryAfterMs?: number;
  failedRules?: readonly string[];
  details?: readonly string[];
  /** For `stale_epoch`: the group's current epoch. */
  epoch?: number;
  message?: string;
}

/**
 * A refusal with a stable code from the protocol's registry. Domain code throws it; the HTTP
 * and WebSocket layers translate it into a status or an `error` frame. It never carries user
 * input, tokens or passwords.
 */
export class ParleyError extends Error {
  readonly retryAfterMs: number | undefined;
  readonly failedRules: readonly string[] | undefined;
  readonly details: readonly string[] | undefined;
  readonly epoch: number | undefined;

  constructor(
    readonly code: ErrorCode,
    options: ParleyErrorOptions = {},
  ) {
    super(options.message ?? ERRORS[code].message);
    this.name = "ParleyError";
    this.retryAfterMs = options.retryAfterMs;
    this.failedRules = options.failedRules;
    this.details = options.details;
    this.epoch = options.epoch;
  }

  get status(): number {
    return ERRORS[this.code].status;
  }

  /** The wire body shared by REST answers and `error` frames. */
  toBody(): {
    code: ErrorCode;
    message: string;
    retryAfterMs?: number;
    failedRules?: string[];
    details?: string[];
    epoch?: number;
  } {
    return {
      code: this.code,
      message: this.message,
      ...(this.retryAfterMs !== undefined ? { retryAfterMs: Math.ceil(this.retryAfterMs) } : {}),
      ...(this.failedRules ? { failedRules: [...this.failedRules] } : {}),
      ...(this.details ? { details: [...this.details] } : {}),
      ...(this.epoch !== undefined ? { epoch: this.epoch } : {}),
    };
  }
}
