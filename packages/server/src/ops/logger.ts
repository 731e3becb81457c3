import pino, { type DestinationStream, type Logger } from "pino";
import pretty from "pino-pretty";

export interface LoggerOptions {
  /**
   * One coloured, human-readable line per entry (pino-pretty) instead of JSON: for a person at a
   * terminal. Default false. Ignored when a destination is given.
   */
  pretty?: boolean;
}

/**
 * JSON logs with no message content and no secrets. Nothing in Parley passes a payload to the
 * logger; the redaction list is the second line of defence for credentials, and applies to the
 * pretty form too.
 */
export function createLogger(
  level: string,
  destination?: DestinationStream,
  options: LoggerOptions = {},
): Logger {
  const out =
    destination ??
    (options.pretty
      ? pretty({
          colorize: true,
          singleLine: true,
          translateTime: "SYS:HH:MM:ss",
          ignore: "pid,hostname,service",
          sync: true,
        })
      : pino.destination({ fd: 1, sync: false }));
  return pino(
    {
      level,
      base: { service: "parley" },
      redact: {
        paths: [
          "password",
          "*.password",
          "currentPassword",
          "*.currentPassword",
          "newPassword",
          "*.newPassword",
          "token",
          "*.token",
          "accessToken",
          "*.accessToken",
          "refreshToken",
          "*.refreshToken",
          "payload",
          "*.payload",
          "req.headers.authorization",
          "req.headers.cookie",
          "headers.authorization",
        ],
        censor: "[redacted]",
      },
    },
    out,
  );
}
