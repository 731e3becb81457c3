import type { Kysely } from "kysely";
import type { UserId } from "../domain/ids.js";
import type { Database } from "./database.js";

/**
 * `reset`: issued by an admin, expires (AUTH-11). `recovery`: made by the person (AUTH-12).
 * `totp`: stands in for a TOTP code at sign-in (AUTH-15); never resets a password.
 */
export type RecoveryCodeKind = "reset" | "recovery" | "totp";

export interface NewRecoveryCode {
  codeHash: string;
  expiresAt: number | null;
}

/** Single-use account recovery codes, kept as SHA-256 hashes only. */
export interface RecoveryCodeStore {
  /** Drops the account's unused codes of `kind` and stores `codes` in their place, atomically. */
  replace(
    userId: UserId,
    kind: RecoveryCodeKind,
    createdBy: string,
    codes: NewRecoveryCode[],
    at: number,
  ): Promise<void>;
  /**
   * Marks the account's code used if it is one of `kinds`, unused and unexpired at `at`;
   * returns its kind, or undefined. Atomic: of two concurrent calls with one code, one wins.
   */
  consume(
    userId: UserId,
    codeHash: string,
    at: number,
    kinds: readonly RecoveryCodeKind[],
  ): Promise<RecoveryCodeKind | undefined>;
  /** Unused, unexpired codes of `kind` the account holds. */
  countUsable(userId: UserId, kind: RecoveryCodeKind, at: number): Promise<number>;
}

export class KyselyRecoveryCodeStore implements RecoveryCodeStore {
  constructor(private readonly db: Kysely<Database>) {}

  async replace(
    userId: UserId,
    kind: RecoveryCodeKind,
    createdBy: string,
    codes: NewRecoveryCode[],
    at: number,
  ): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx
        .deleteFrom("recovery_codes")
        .where("user_id", "=", userId)
        .where("kind", "=", kind)
        .where("used_at", "is", null)
        .execute();
      if (codes.length === 0) return;
      await tx
        .insertInto("recovery_codes")
        .values(
          codes.map((c) => ({
            code_hash: c.codeHash,
            user_id: userId,
            kind,
            created_by: createdBy,
            created_at: at,
            expires_at: c.expiresAt,
            used_at: null,
          })),
        )
        .execute();
    });
  }

  async consume(
    userId: UserId,
    codeHash: string,
    at: number,
    kinds: readonly RecoveryCodeKind[],
  ): Promise<RecoveryCodeKind | undefined> {
    if (kinds.length === 0) return undefined;
    const row = await this.db
      .updateTable("recovery_codes")
      .set({ used_at: at })
      .where("code_hash", "=", codeHash)
      .where("user_id", "=", userId)
      .where("kind", "in", kinds)
      .where("used_at", "is", null)
      .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", at)]))
      .returning("kind")
      .executeTakeFirst();
    return row?.kind;
  }

  async countUsable(userId: UserId, kind: RecoveryCodeKind, at: number): Promise<number> {
    const row = await this.db
      .selectFrom("recovery_codes")
      .select((eb) => eb.fn.countAll<number | string>().as("n"))
      .where("user_id", "=", userId)
      .where("kind", "=", kind)
      .where("used_at", "is", null)
      .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", at)]))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}
