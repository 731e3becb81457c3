/**
 * Where file ciphertext lives (DESIGN.md, "attachments"), behind one interface: the data dir
 * by default (disk-blob-store.ts), or the cluster's PostgreSQL (database-blob-store.ts), so
 * every server of a cluster serves every file. The domain (domain/files.ts) writes in pieces
 * and records how far each upload got, so a store only appends, reads ranges and deletes.
 */
export interface BlobWriter {
  /** Appends one piece; resolves once it is stored. */
  write(piece: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

export interface BlobStore {
  /** Opens a blob for appending at `offset`, first dropping whatever it holds past `offset`. */
  writer(id: string, offset: number): Promise<BlobWriter>;
  /** Bytes [start, end) of a blob, in order, a piece at a time. */
  read(id: string, start: number, end: number): AsyncIterable<Uint8Array>;
  /** Deletes a blob; a missing one is no error. */
  delete(id: string): Promise<void>;
}

/** Blob ids are the file ids: 32 lower-case hex digits, never anything a path could abuse. */
export function checkBlobId(id: string): string {
  if (!/^[0-9a-f]{32}$/.test(id)) throw new TypeError("blob id must be 32 lower-case hex digits");
  return id;
}
