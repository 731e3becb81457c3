import type { FastifyInstance } from "fastify";
import helmet from "helmet";

/** What a chat page never needs is off; the camera and microphone stay for voice notes and photos. */
const PERMISSIONS_POLICY =
  "camera=(self), microphone=(self), geolocation=(), payment=(), usb=(), serial=(), browsing-topics=()";

/**
 * Security headers on every response (OWASP Secure Headers): a strict CSP with no inline
 * script or style and no eval, no framing, no referrer, HSTS on TLS, and a Permissions-Policy
 * that turns off what a chat page never needs.
 *
 * Helmet's middleware is built once, here. The Fastify plugin (@fastify/helmet) built it again
 * for every request, parsing the whole CSP each time: a burst of logins spent more of the event
 * loop on that than on anything else before the password check (issue 16's login storm).
 */
export function registerSecurityHeaders(app: FastifyInstance, tls: boolean): void {
  const setHeaders = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", "data:", "blob:"],
        mediaSrc: ["'self'", "blob:"],
        fontSrc: ["'self'"],
        connectSrc: ["'self'"],
        workerSrc: ["'self'"],
        manifestSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        ...(tls ? { upgradeInsecureRequests: [] } : {}),
      },
    },
    strictTransportSecurity: tls ? { maxAge: 31_536_000, includeSubDomains: false } : false,
    referrerPolicy: { policy: "no-referrer" },
    crossOriginEmbedderPolicy: false,
    crossOriginOpenerPolicy: { policy: "same-origin" },
    crossOriginResourcePolicy: { policy: "same-origin" },
    xFrameOptions: { action: "deny" },
  });
  app.addHook("onRequest", (req, reply, done) => {
    reply.raw.setHeader("Permissions-Policy", PERMISSIONS_POLICY);
    // Helmet only sets headers and never fails (since 8.1 it throws rather than passing errors on).
    setHeaders(req.raw, reply.raw, () => done());
  });
}
