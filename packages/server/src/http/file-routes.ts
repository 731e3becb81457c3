import type { Server } from "node:http";
import { Readable } from "node:stream";
import { FileCreateRequest, type FileUploadState } from "@parley/protocol";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { ParleyError } from "../domain/errors.js";
import type { FileService } from "../domain/files.js";
import { authOf } from "./auth-hook.js";

export interface FileRouteDeps {
  files: FileService;
  /** The Bearer check every authenticated route uses; it sets `req.auth`. */
  requireAuth: (req: FastifyRequest) => Promise<void>;
}

/** What makes a served blob inert wherever it ends up: never rendered, sniffed, cached or framed. */
const BLOB_HEADERS: Readonly<Record<string, string>> = {
  "Content-Type": "application/octet-stream",
  "Content-Disposition": 'attachment; filename="parley-file.bin"',
  "X-Content-Type-Options": "nosniff",
  "Cache-Control": "no-store",
  "Referrer-Policy": "no-referrer",
  "Content-Security-Policy": "default-src 'none'; sandbox; frame-ancestors 'none'",
  "Cross-Origin-Resource-Policy": "same-origin",
};

const OFFSET = /^\d{1,16}$/;

/**
 * `/api/files` (docs/PROTOCOL.md, "Files"): announce an upload, append ciphertext where the
 * stored bytes end (resumable, `Upload-Offset` as in the tus protocol), ask how far an upload
 * got, download (whole or a byte range) as a member of the file's room, delete. The token is
 * checked in `onRequest`, before any body is read.
 */
export async function registerFileRoutes(app: FastifyInstance<Server>, deps: FileRouteDeps): Promise<void> {
  const { files } = deps;
  await app.register(
    async (scope) => {
      scope.addHook("onRequest", async (req) => {
        await deps.requireAuth(req);
      });
      // The body of a PATCH is streamed to the blob store as it arrives, never buffered whole.
      for (const type of ["application/octet-stream", "application/offset+octet-stream"]) {
        scope.addContentTypeParser(type, (_req, payload, done) => done(null, payload));
      }

      scope.post("/", { schema: { body: FileCreateRequest } }, async (req, reply) => {
        const body = req.body as FileCreateRequest;
        const state = await files.create(authOf(req).userId, body);
        return reply.status(201).send(state);
      });

      scope.get("/:id/upload", async (req): Promise<FileUploadState> => {
        return files.uploadState(authOf(req).userId, idOf(req));
      });

      scope.patch("/:id", async (req, reply) => {
        const raw = req.headers["upload-offset"];
        if (typeof raw !== "string" || !OFFSET.test(raw))
          throw new ParleyError("validation_failed", { details: ["upload-offset"] });
        const type = req.headers["content-type"]?.split(";", 1)[0]?.trim().toLowerCase();
        if (type !== "application/octet-stream" && type !== "application/offset+octet-stream")
          throw new ParleyError("unsupported_media_type");
        const state = await files.append(
          authOf(req).userId,
          idOf(req),
          Number(raw),
          req.body as AsyncIterable<Uint8Array>,
        );
        return reply.status(200).header("Upload-Offset", String(state.offset)).send(state);
      });

      scope.get("/:id", async (req, reply) => {
        const f = await files.open(authOf(req).userId, idOf(req));
        const range = parseRange(req.headers.range, f.length);
        const [start, end] = range ?? [0, f.length];
        reply
          .headers(BLOB_HEADERS)
          .header("Accept-Ranges", "bytes")
          .header("Content-Length", String(end - start));
        if (range !== undefined)
          reply.status(206).header("Content-Range", `bytes ${start}-${end - 1}/${f.length}`);
        return reply.send(Readable.from(files.read(f, start, end)));
      });

      scope.delete("/:id", async (req, reply) => {
        await files.remove(authOf(req).userId, idOf(req));
        return reply.status(204).send();
      });
    },
    { prefix: "/api/files" },
  );
}

function idOf(req: FastifyRequest): string {
  const id = (req.params as { id?: unknown }).id;
  return typeof id === "string" ? id : "";
}

/** `bytes=a-b` or `bytes=a-` (one range) as [start, end); undefined without a header. */
export function parseRange(header: string | undefined, length: number): [number, number] | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d{1,16})-(\d{0,16})$/.exec(header.trim());
  if (m === null) throw new ParleyError("range_not_satisfiable");
  const start = Number(m[1]);
  const last = m[2] === "" ? length - 1 : Math.min(Number(m[2]), length - 1);
  if (start >= length || last < start) throw new ParleyError("range_not_satisfiable");
  return [start, last + 1];
}
