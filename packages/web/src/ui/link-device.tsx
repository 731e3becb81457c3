import type { PendingLink } from "@parley/client";
import { useEffect, useState } from "preact/hooks";
import { describeError } from "../state/errors.js";
import { finishLink, resetIdentity, sessionAccount, signOut, startLink } from "../state/session.js";
import { Brand } from "./auth.js";
import { FormError, PasswordField, SubmitButton, useFormAction } from "./auth-form.js";
import { CircleAlert } from "./icons.js";
import { QrCode } from "./qr-code.js";

/**
 * A sign-in on a browser that does not hold the person's identity key (issue 14): nothing is
 * made silently. Either another device of theirs links this one (it scans the QR code or types
 * the short code, both screens show the same six digits, the user confirms on both), or the
 * person resets their identity, which warns every contact.
 */
export function LinkThisDevice() {
  const [mode, setMode] = useState<"choose" | "link" | "reset">("choose");
  const name = sessionAccount();
  return (
    <main class="auth">
      <Brand tagline={false} />
      <section class="card link-device" aria-labelledby="link-title">
        <header class="card-head">
          <h2 id="link-title">{mode === "reset" ? "Reset identity" : "Link this device"}</h2>
          {mode !== "reset" && (
            <p class="muted">
              Signed in as <strong>{name ?? "this account"}</strong>
            </p>
          )}
        </header>
        {mode === "choose" && (
          <>
            <p>
              {name === undefined ? "This account" : name} already has an identity on another device. To read
              and send as you here, link this browser from that device.
            </p>
            <div class="auth-actions">
              <button type="button" class="primary" onClick={() => setMode("link")}>
                Link this device
              </button>
              <button type="button" onClick={() => setMode("reset")}>
                Reset identity
              </button>
            </div>
            <footer class="auth-alt">
              <p>
                Not you, or not now?{" "}
                <button type="button" class="link" onClick={() => void signOut(true)}>
                  Sign out
                </button>
              </p>
            </footer>
          </>
        )}
        {mode === "link" && <ShowLinkCode onCancel={() => setMode("choose")} />}
        {mode === "reset" && <ResetIdentityForm onCancel={() => setMode("choose")} />}
      </section>
    </main>
  );
}

type LinkStep =
  | { kind: "opening" }
  | { kind: "waiting"; link: PendingLink }
  | { kind: "compare"; link: PendingLink; sas: string }
  | { kind: "finishing" }
  | { kind: "failed"; message: string };

function linkFailure(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  if (code === "link_cancelled") return "The link was cancelled on the other device, or it timed out.";
  if (code === "link_expired") return "The code expired before it was used.";
  return describeError(e);
}

/** The new device's side: the QR code and short code, then the six digits to compare. */
function ShowLinkCode({ onCancel }: { onCancel: () => void }) {
  const [step, setStep] = useState<LinkStep>({ kind: "opening" });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    let live = true;
    // Open until it is done: leaving this screen before then cancels it on both devices.
    let opened: PendingLink | undefined;
    startLink().then(
      (link) => {
        opened = link;
        if (!live) return void link.cancel();
        setStep({ kind: "waiting", link });
        link.sas.then(
          (sas) => live && setStep({ kind: "compare", link, sas }),
          (e: unknown) => live && setStep({ kind: "failed", message: linkFailure(e) }),
        );
        link.done.then(
          () => {
            opened = undefined;
            if (live) finishLink();
          },
          (e: unknown) => live && setStep({ kind: "failed", message: linkFailure(e) }),
        );
      },
      (e: unknown) => live && setStep({ kind: "failed", message: linkFailure(e) }),
    );
    return () => {
      live = false;
      void opened?.cancel();
    };
  }, [attempt]);

  const cancel = () => {
    if (step.kind === "waiting" || step.kind === "compare") void step.link.cancel();
    onCancel();
  };

  return (
    <>
      {step.kind === "opening" && <p role="status">Opening a link…</p>}
      {step.kind === "waiting" && (
        <>
          <p>
            On a device where you are signed in, open Settings → Devices → "Link a new device" and scan this
            code, or type the short code. In the terminal client: <code>/link {step.link.code}</code>
          </p>
          <QrCode text={step.link.qrPayload} label="Link QR code" />
          <p class="link-code">
            <span class="sr-only">Short code: </span>
            <span data-testid="link-code">{step.link.code}</span>
          </p>
          <p role="status" class="muted">
            Waiting for your other device…
          </p>
        </>
      )}
      {step.kind === "compare" && (
        <>
          <p>Your other device shows six digits. Link only if they are the same as these:</p>
          <p class="link-sas" data-testid="link-sas">
            {step.sas}
          </p>
          <p class="muted">After you confirm here, confirm on the other device too.</p>
        </>
      )}
      {step.kind === "finishing" && <p role="status">Setting up this device…</p>}
      <FormError error={step.kind === "failed" ? step.message : undefined} />
      <div class="auth-actions">
        {step.kind === "compare" && (
          <button
            type="button"
            class="primary"
            onClick={() => {
              step.link.confirm();
              setStep({ kind: "finishing" });
            }}
          >
            The digits match
          </button>
        )}
        {step.kind === "failed" && (
          <button type="button" class="primary" onClick={() => setAttempt(attempt + 1)}>
            Try again
          </button>
        )}
        <button type="button" onClick={cancel}>
          Cancel
        </button>
      </div>
    </>
  );
}

/** A new identity: every contact is warned, and the account's other devices are signed out. */
function ResetIdentityForm({ onCancel }: { onCancel: () => void }) {
  const action = useFormAction(async (form) => {
    await resetIdentity(String(new FormData(form).get("password") ?? ""));
  });
  return (
    <form aria-label="Reset identity" onSubmit={action.onSubmit} class="reset-identity">
      <p role="note" class="warning callout">
        <CircleAlert />
        <span>
          Only if you have no other device at hand. A reset makes new keys: everyone you talk to is told your
          identity changed (those who verified you must verify you again), your other devices are signed out,
          and messages sent to your old keys cannot be read here.
        </span>
      </p>
      <PasswordField label="Password" name="password" autoComplete="current-password" required />
      <FormError error={action.error} />
      <div class="auth-actions">
        <SubmitButton busy={action.busy} label="Reset identity" busyLabel="Resetting…" danger />
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
