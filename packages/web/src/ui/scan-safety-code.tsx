import type { ComponentType } from "preact";
import { useState } from "preact/hooks";
import { describeError } from "../state/errors.js";
import { markVerified } from "../state/session.js";
import { compareSafetyCode } from "./safety-code.js";

type Scanner = ComponentType<{ label: string; onCode: (text: string) => void }>;

type Step =
  | { kind: "idle" }
  | { kind: "loading" }
  | { kind: "scanning"; Scanner: Scanner; attempt: number }
  | { kind: "verified" }
  | { kind: "refused"; message: string };

/** The scanner and its decoder are fetched on first use: they are not in the first screen's bundle. */
function loadScanner(): Promise<Scanner> {
  return import("./qr-scanner.js").then((m) => m.QrScanner);
}

/**
 * "Scan their code" in the safety dialog: the camera reads the contact's safety QR code; if it
 * is the same as ours, the contact is marked verified; if not, nothing is marked and the user
 * is told plainly.
 */
export function ScanSafetyCode({
  userId,
  username,
  payloadBase64,
}: {
  userId: string;
  username: string;
  payloadBase64: string;
}) {
  const [step, setStep] = useState<Step>({ kind: "idle" });
  const attempt = step.kind === "scanning" ? step.attempt : 0;

  const scan = () => {
    setStep({ kind: "loading" });
    loadScanner().then(
      (Scanner) => setStep({ kind: "scanning", Scanner, attempt: attempt + 1 }),
      (e: unknown) =>
        setStep({ kind: "refused", message: `The scanner could not be loaded: ${describeError(e)}` }),
    );
  };

  const scanned = (text: string) => {
    switch (compareSafetyCode(text, payloadBase64)) {
      case "match":
        markVerified(userId).then(
          () => setStep({ kind: "verified" }),
          (e: unknown) => setStep({ kind: "refused", message: describeError(e) }),
        );
        return;
      case "mismatch":
        setStep({
          kind: "refused",
          message: `The code does not match. This is not ${username}'s safety code with you, or one of your keys was swapped on the way. ${username} was not marked as verified.`,
        });
        return;
      case "not-a-safety-code":
        setStep({
          kind: "refused",
          message: "That QR code is not a Parley safety code. Nothing was marked.",
        });
        return;
    }
  };

  return (
    <div class="scan-safety-code">
      {step.kind === "scanning" && (
        <step.Scanner key={step.attempt} label={`Camera: scan ${username}'s code`} onCode={scanned} />
      )}
      {step.kind === "verified" && (
        <p role="status" class="trust-verified">
          The codes match: {username} is verified.
        </p>
      )}
      {step.kind === "refused" && (
        <p role="alert" class="trust-changed">
          {step.message}
        </p>
      )}
      <div class="dialog-actions">
        {step.kind === "scanning" ? (
          <button type="button" onClick={() => setStep({ kind: "idle" })}>
            Stop scanning
          </button>
        ) : (
          step.kind !== "verified" && (
            <button type="button" onClick={scan} disabled={step.kind === "loading"}>
              {step.kind === "refused" ? "Scan again" : "Scan their code"}
            </button>
          )
        )}
      </div>
    </div>
  );
}
