import type { Kysely } from "kysely";
import type { UserId } from "../domain/ids.js";
import type { Database } from "./database.js";

/** One account's TOTP factor (AUTH-13). `secret` is sealed; `enabledAt` null while enrolling. */
export interface TotpFactorRecord {
  userId: UserId;
  secret: string;
  createdAt: number;
  enabledAt: number | null;
  lastStep: number | null;
}

export type LoginChallengeKind = "totp" | "totp_enrol";

/** A login waiting for its second step (AUTH-14). */
export interface LoginChallengeRecord {
  userId: UserId;
  kind: LoginChallengeKind;
  ip: string;
  expiresAt: number;
  attempts: number;
}

/** TOTP factors and the login challenges of the second step. */
export interface TotpStore {
  find(userId: UserId): Promise<TotpFactorRecord | undefined>;
  /** Stores a new, not yet confirmed factor, replacing an unconfirmed one; false when one is on. */
  begin(userId: UserId, secret: string, at: number): Promise<boolean>;
  /** Turns the unconfirmed factor on with its first accepted step; false if there was none. */
  confirm(userId: UserId, step: number, at: number): Promise<boolean>;
  /**
   * RFC 6238 §5.2: records that a code of time step `step` was accepted; false (the code is
   * refused) when a code of this or a later step was accepted already. Atomic.
   */
  useStep(userId: UserId, step: number): Promise<boolean>;
  remove(userId: UserId): Promise<void>;
  /** Of `userIds`, those whose TOTP is on (confirmed), for the admin's user list. */
  enabledAmong(userIds: readonly UserId[]): Promise<Set<UserId>>;

  insertChallenge(tokenHash: string, challenge: LoginChallengeRecord & { createdAt: number }): Promise<void>;
  /**
   * Counts one try of an unused, unexpired challenge and returns it, or undefined when it is
   * unknown, used, expired or out of tries (`maxAttempts`). Atomic.
   */
  tryChallenge(tokenHash: string, at: number, maxAttempts: number): Promise<LoginChallengeRecord | undefined>;
  /** Spends the challenge; false when it was spent already (a concurrent second step). */
  spendChallenge(tokenHash: string, at: number): Promise<boolean>;
  purgeChallenges(at: number): Promise<number>;
}

export class KyselyTotpStore implements TotpStore {
  constructor(private readonly db: Kysely<Database>) {}

  async find(userId: UserId): Promise<TotpFactorRecord | undefined> {
    const row = await this.db
      .selectFrom("totp_factors")
      .selectAll()
      .where("user_id", "=", userId)
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      userId: row.user_id,
      secret: row.secret,
      createdAt: Number(row.created_at),
      enabledAt: row.enabled_at === null ? null : Number(row.enabled_at),
      lastStep: row.last_step === null ? null : Number(row.last_step),
    };
  }

  async begin(userId: UserId, secret: string, at: number): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      await tx
        .deleteFrom("totp_factors")
        .where("user_id", "=", userId)
        .where("enabled_at", "is", null)
        .execute();
      const inserted = await tx
        .insertInto("totp_factors")
        .values({ user_id: userId, secret, created_at: at, enabled_at: null, last_step: null })
        .onConflict((oc) => oc.column("user_id").doNothing())
        .executeTakeFirst();
      return Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1;
    });
  }

  async confirm(userId: UserId, step: number, at: number): Promise<boolean> {
    const r = await this.db
      .updateTable("totp_factors")
      .set({ enabled_at: at, last_step: step })
      .where("user_id", "=", userId)
      .where("enabled_at", "is", null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async useStep(userId: UserId, step: number): Promise<boolean> {
    const r = await this.db
      .updateTable("totp_factors")
      .set({ last_step: step })
      .where("user_id", "=", userId)
      .where((eb) => eb.or([eb("last_step", "is", null), eb("last_step", "<", step)]))
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async remove(userId: UserId): Promise<void> {
    await this.db.deleteFrom("totp_factors").where("user_id", "=", userId).execute();
  }

  async enabledAmong(userIds: readonly UserId[]): Promise<Set<UserId>> {
    const on = new Set<UserId>();
    // Chunked: SQLite caps the number of bound parameters of one statement.
    for (let i = 0; i < userIds.length; i += 500) {
      const rows = await this.db
        .selectFrom("totp_factors")
        .select("user_id")
        .where("user_id", "in", userIds.slice(i, i + 500))
        .where("enabled_at", "is not", null)
        .execute();
      for (const row of rows) on.add(row.user_id as UserId);
    }
    return on;
  }

  async insertChallenge(tokenHash: string, c: LoginChallengeRecord & { createdAt: number }): Promise<void> {
    await this.db
      .insertInto("login_challenges")
      .values({
        token_hash: tokenHash,
        user_id: c.userId,
        kind: c.kind,
        ip: c.ip,
        created_at: c.createdAt,
        expires_at: c.expiresAt,
        attempts: c.attempts,
        used_at: null,
      })
      .execute();
  }

  async tryChallenge(
    tokenHash: string,
    at: number,
    maxAttempts: number,
  ): Promise<LoginChallengeRecord | undefined> {
    const counted = await this.db
      .updateTable("login_challenges")
      .set((eb) => ({ attempts: eb("attempts", "+", 1) }))
      .where("token_hash", "=", tokenHash)
      .where("used_at", "is", null)
      .where("expires_at", ">", at)
      .where("attempts", "<", maxAttempts)
      .executeTakeFirst();
    if (Number(counted.numUpdatedRows) !== 1) return undefined;
    const row = await this.db
      .selectFrom("login_challenges")
      .selectAll()
      .where("token_hash", "=", tokenHash)
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      userId: row.user_id,
      kind: row.kind,
      ip: row.ip,
      expiresAt: Number(row.expires_at),
      attempts: Number(row.attempts),
    };
  }

  async spendChallenge(tokenHash: string, at: number): Promise<boolean> {
    const r = await this.db
      .updateTable("login_challenges")
      .set({ used_at: at })
      .where("token_hash", "=", tokenHash)
      .where("used_at", "is", null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async purgeChallenges(at: number): Promise<number> {
    const r = await this.db.deleteFrom("login_challenges").where("expires_at", "<=", at).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
