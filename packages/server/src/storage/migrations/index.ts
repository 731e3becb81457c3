import type { Migration, MigrationProvider } from "kysely";
import { initial } from "./0001-initial.js";
import { mlsDelivery } from "./0002-mls-delivery.js";
import { offlineQueue } from "./0003-offline-queue.js";
import { identityKeys } from "./0004-identity-keys.js";
import { sessionDevices } from "./0005-session-devices.js";
import { auditLog } from "./0006-audit-log.js";
import { files } from "./0007-files.js";
import { recoveryCodes } from "./0008-recovery-codes.js";
import { roomSettings } from "./0009-room-settings.js";
import { accountSelfService } from "./0010-account-self-service.js";
import { totp } from "./0012-totp.js";
import { inviteUses } from "./0014-invite-uses.js";
import { identityResetTimes } from "./0015-identity-reset-times.js";

/**
 * Every migration, by name. A static map rather than Kysely's FileMigrationProvider so that
 * it survives bundling; the Migrator runs them in name order, so names keep the 4-digit prefix.
 */
export const migrations: Readonly<Record<string, Migration>> = Object.freeze({
  "0001-initial": initial,
  "0002-mls-delivery": mlsDelivery,
  "0003-offline-queue": offlineQueue,
  "0004-identity-keys": identityKeys,
  "0005-session-devices": sessionDevices,
  "0006-audit-log": auditLog,
  "0007-files": files,
  "0008-recovery-codes": recoveryCodes,
  "0009-room-settings": roomSettings,
  "0010-account-self-service": accountSelfService,
  "0012-totp": totp,
  "0014-invite-uses": inviteUses,
  "0015-identity-reset-times": identityResetTimes,
});

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => ({ ...migrations }),
};
