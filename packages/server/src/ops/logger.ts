import pino, { type DestinationStream, type Logger } from "pino";

/**
 * JSON logs with no message content and no secrets. Nothing in Parley passes a payload to the
 * logger; the redaction list is the second line of defence for credentials.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
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
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
}
