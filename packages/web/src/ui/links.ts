const SAFE_SCHEMES = new Set(["http:", "https:", "mailto:"]);

/** The URL when it is one a message may link to, else undefined. */
export function safeHref(href: string): string | undefined {
  let url: URL;
  try {
    url = new URL(href);
  } catch {
    return undefined;
  }
  return SAFE_SCHEMES.has(url.protocol) ? url.href : undefined;
}
