import { fingerprintLines } from "@parley/protocol";
import { terminalQr } from "./tls/index.js";

/** What a person needs to reach a freshly started server and to check its certificate. */
export interface StartBannerInfo {
  /** Every address the server listens on, the one to open first. */
  readonly urls: readonly string[];
  /** The local CA's SHA-256 fingerprint (`AB:CD:…`), null without one (own certificate, plain HTTP). */
  readonly caFingerprint: string | null;
}

/** The address to show: the first one that is not loopback, else the first. */
export function mainUrl(urls: readonly string[]): string {
  return urls.find((u) => !/\/\/(127\.|\[::1\]|localhost)/.test(u)) ?? urls[0] ?? "";
}

/** The browser client's page that shows the CA fingerprint and how to trust it. */
export function trustPageUrl(url: string): string {
  return `${url}/#/trust`;
}

/**
 * One plain line for a service's journal or a log file: "Parley is up at <url> (also …); CA
 * SHA-256 fingerprint AB:…; trust page <url>/#/trust". Found with grep, read by a person.
 */
export function plainBanner(info: StartBannerInfo): string {
  const main = mainUrl(info.urls);
  const others = info.urls.filter((u) => u !== main);
  const parts = [`Parley is up at ${main}${others.length > 0 ? ` (also ${others.join(", ")})` : ""}`];
  if (info.caFingerprint) {
    parts.push(`CA SHA-256 fingerprint ${info.caFingerprint}`, `trust page ${trustPageUrl(main)}`);
  }
  return `${parts.join("; ")}\n`;
}

/**
 * The banner for a terminal: the addresses, the fingerprint in lines of whole bytes (16 to a
 * line, 47 columns: no terminal folds it mid-byte), the trust page and a QR code of the address.
 */
export async function terminalBanner(info: StartBannerInfo): Promise<string> {
  const main = mainUrl(info.urls);
  const lines = ["", `Parley is up. Open ${main}`];
  for (const u of info.urls) if (u !== main) lines.push(`  also ${u}`);
  if (info.caFingerprint) {
    lines.push("CA fingerprint (SHA-256):");
    for (const l of fingerprintLines(info.caFingerprint)) lines.push(`  ${l}`);
    lines.push(`Trust this server on a phone: ${trustPageUrl(main)}`);
  }
  lines.push(await terminalQr(main));
  return `${lines.join("\n")}\n`;
}
