/** Fetches GET /api/info, what a client shows before anyone signs in. */
import { InfoResponse } from "@parley/protocol";
import { expectShape } from "./json.js";
import type { FetchLike } from "./platform.js";
import { requestJson } from "./session.js";

/**
 * GET /api/info: what a client shows before anyone signs in (registration mode, password
 * policy, limits, CA fingerprint). Needs no session, so no ParleyClient and no device store.
 */
export async function fetchServerInfo(baseUrl: string, fetch: FetchLike): Promise<InfoResponse> {
  return expectShape<InfoResponse>(
    InfoResponse,
    await requestJson(fetch, `${baseUrl}/api/info`, "GET"),
    "info",
  );
}
