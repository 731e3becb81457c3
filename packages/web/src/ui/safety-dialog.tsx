import { type SafetyNumberResult, safetyNumberRows } from "@parley/client";
import { useEffect, useState } from "preact/hooks";
import { describeError } from "../state/errors.js";
import { trust } from "../state/model.js";
import { acceptKeyChange, markVerified, safetyNumber } from "../state/session.js";
import { DeviceList } from "./devices.js";
import { Dialog } from "./dialog.js";
import { X } from "./icons.js";
import { QrCode } from "./qr-code.js";
import { safetyCodeText } from "./safety-code.js";
import { ScanSafetyCode } from "./scan-safety-code.js";
import { SuiteLabel } from "./suite-label.js";

/**
 * The safety number of this user and a contact: 60 digits in 3 rows of 4 groups (as in the
 * terminal client) and a QR code of the same value, which the contact can scan. Both people
 * see the same number only if neither's keys were swapped on the way.
 */
export function SafetyDialog({
  userId,
  username,
  roomId,
  onClose,
}: {
  userId: string;
  username: string;
  /** The conversation the dialog was opened from: its key exchange is shown too. */
  roomId?: string;
  onClose: () => void;
}) {
  const [result, setResult] = useState<SafetyNumberResult | undefined>();
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    safetyNumber(userId).then(setResult, (e: unknown) => setError(describeError(e)));
  }, [userId]);
  const state = trust.value[userId] ?? result?.trust ?? "unverified";
  return (
    <Dialog title={`Safety number with ${username}`} onClose={onClose} wide>
      {error !== undefined && <p role="alert">{error}</p>}
      {result !== undefined && (
        <>
          <p class="muted">
            Compare these digits with {username}, in person or on a call you trust, or scan each other's code.
            If they match, nobody is in the middle.
          </p>
          <p class="safety-number" data-testid="safety-number">
            {/* The SDK's one layout (3 rows of 4 groups), the same as the terminal's. */}
            {safetyNumberRows(result.groups).map((row, i) => (
              <span key={row} class="safety-row">
                {i > 0 ? " " : ""}
                {row}
              </span>
            ))}
          </p>
          <QrCode text={safetyCodeText(result.qrPayloadBase64)} label="QR code" />
          {roomId !== undefined && <SuiteLabel roomId={roomId} />}
          <p class={`trust-state trust-${state}`}>
            {state === "verified"
              ? `You have verified ${username}.`
              : state === "changed"
                ? `${username}'s identity key changed since you verified it.`
                : state === "changed_unverified"
                  ? `${username}'s identity key changed since you first saw it.`
                  : `You have not verified ${username} yet.`}
          </p>
          <ScanSafetyCode userId={userId} username={username} payloadBase64={result.qrPayloadBase64} />
          <details class="person-devices">
            <summary>{username}'s devices</summary>
            <DeviceList userId={userId} label={`${username}'s devices`} />
          </details>
        </>
      )}
      <div class="dialog-actions">
        {result !== undefined && state !== "verified" && (
          <button type="button" class="primary" onClick={() => void markVerified(userId)}>
            Mark as verified
          </button>
        )}
        {(state === "changed" || state === "changed_unverified") && (
          <button type="button" onClick={() => void acceptKeyChange(userId)}>
            Accept new key
          </button>
        )}
        <button type="button" onClick={onClose}>
          <X />
          Close
        </button>
      </div>
    </Dialog>
  );
}
