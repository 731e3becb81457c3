import { createHash, X509Certificate } from "node:crypto";
import { connect } from "node:tls";
import { type Browser, chromium } from "playwright-core";

/** Debian's Chromium, installed by scripts/ensure-services.sh (npm pretest). */
export const CHROMIUM_PATH = process.env.PARLEY_E2E_CHROMIUM ?? "/usr/bin/chromium";

/**
 * Flags that keep Chromium from talking to anyone but the page's own server: no background
 * fetches (safe browsing lists, component updates, translation, media router discovery,
 * metrics uploads). `--no-sandbox` because the tests may run as root in a container.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  "--no-sandbox",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-default-apps",
  "--disable-sync",
  "--metrics-recording-only",
  "--no-first-run",
  "--disable-features=MediaRouter,OptimizationHints,Translate",
];

/**
 * The base64 SHA-256 of the server's leaf SubjectPublicKeyInfo, as Chromium's
 * `--ignore-certificate-errors-spki-list` wants it. Read from a real TLS handshake that
 * verifies the chain against the server's own CA, so the pin is the certificate the browser
 * will be shown, and nothing else is trusted (no blanket ignoreHTTPSErrors).
 */
export async function leafSpkiPin(url: string, caPem: string): Promise<string> {
  const { hostname, port } = new URL(url);
  const raw = await new Promise<Buffer>((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), ca: caPem }, () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      resolve(cert.raw);
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error(`TLS handshake with ${url} timed out`)));
    socket.on("error", reject);
  });
  const spki = new X509Certificate(raw).publicKey.export({ type: "spki", format: "der" });
  return createHash("sha256").update(spki).digest("base64");
}

/** One headless Chromium that trusts exactly the given leaf key pins; `extraArgs` for one test file's needs. */
export function launchChromium(
  spkiPins: readonly string[],
  extraArgs: readonly string[] = [],
): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      ...CHROMIUM_ARGS,
      ...extraArgs,
      ...(spkiPins.length > 0 ? [`--ignore-certificate-errors-spki-list=${spkiPins.join(",")}`] : []),
    ],
    timeout: 60_000,
  });
}
