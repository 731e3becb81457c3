import type { TotpStatus } from "@parley/protocol";
import { useEffect, useState } from "preact/hooks";
import { describeError } from "../state/errors.js";
import { recoveryCodesShown, secondStep } from "../state/model.js";
import {
  cancelSignIn,
  completeSignIn,
  confirmTwoFactor,
  disableTwoFactor,
  enrolTwoFactor,
  twoFactorStatus,
} from "../state/session.js";
import { FormError, SubmitButton, useFormAction } from "./auth-form.js";
import { ArrowLeft } from "./icons.js";
import { QrCode } from "./qr-code.js";

/** An authenticator's secret: the QR code (drawn here, never fetched) and the text to type. */
function Enrolment({ secret, uri }: { secret: string; uri: string }) {
  return (
    <div class="totp-enrolment">
      <p>Scan this with an authenticator app, or type the key into it.</p>
      <QrCode text={uri} label="Authenticator QR code" />
      <p class="fingerprint" data-testid="totp-secret">
        {secret}
      </p>
    </div>
  );
}

/** AUTH-14: the sign-in's second step: a code, or (when the server requires it) enrolment first. */
export function TwoFactorStep() {
  const step = secondStep.value;
  const action = useFormAction(async (form) => {
    try {
      await completeSignIn(String(new FormData(form).get("code") ?? "").trim());
    } catch (err) {
      form.reset();
      throw err;
    }
  });
  if (step === undefined) return null;
  return (
    <form class="card" aria-label="Two-step sign-in" onSubmit={action.onSubmit}>
      <header class="card-head">
        <h2>{step.next === "totp_enrol" ? "Set up two-step sign-in" : "Two-step sign-in"}</h2>
        {step.next === "totp_enrol" && step.enrolment !== undefined ? (
          <p class="muted">
            This server requires a second step for {step.username}. Set it up now to sign in.
          </p>
        ) : (
          <p class="muted">Signing in as {step.username}.</p>
        )}
      </header>
      {step.next === "totp_enrol" && step.enrolment !== undefined && (
        <Enrolment secret={step.enrolment.secret} uri={step.enrolment.uri} />
      )}
      <label>
        {step.next === "totp_enrol"
          ? "The code your app shows"
          : "Code from your authenticator app, or a recovery code"}
        <input
          name="code"
          autoComplete="one-time-code"
          inputMode="text"
          autoCapitalize="characters"
          spellcheck={false}
          required
        />
      </label>
      <FormError error={action.error} />
      <SubmitButton busy={action.busy} label="Continue" busyLabel="Checking…" />
      <footer class="auth-alt">
        <p>
          <button type="button" class="link with-icon" onClick={cancelSignIn}>
            <ArrowLeft />
            Back to sign in
          </button>
        </p>
      </footer>
    </form>
  );
}

/** AUTH-15: the recovery codes, shown once, until the person says they put them away. */
export function RecoveryCodesOnce() {
  const codes = recoveryCodesShown.value;
  if (codes === undefined) return null;
  return (
    <section class="card recovery-codes" aria-label="Two-step recovery codes" role="dialog">
      <h3>Two-step recovery codes</h3>
      <p>Each works once in place of a code if you lose your authenticator. They are not shown again.</p>
      <ul class="codes" data-testid="totp-recovery-codes">
        {codes.map((c) => (
          <li key={c}>
            <code>{c}</code>
          </li>
        ))}
      </ul>
      <button type="button" onClick={() => (recoveryCodesShown.value = undefined)}>
        I have put them away
      </button>
    </section>
  );
}

/** AUTH-13: two-step sign-in in the account settings: turn it on (QR, confirm) or off. */
export function TwoFactorSection() {
  const [status, setStatus] = useState<TotpStatus | undefined>();
  const [enrolment, setEnrolment] = useState<{ secret: string; uri: string } | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const refresh = () =>
    twoFactorStatus().then(setStatus, (e: unknown) => {
      setError(describeError(e));
    });
  useEffect(() => {
    void refresh();
  }, []);
  const run = (what: (form: FormData) => Promise<void>) => async (e: Event) => {
    e.preventDefault();
    const formEl = e.currentTarget as HTMLFormElement;
    setBusy(true);
    setError(undefined);
    try {
      await what(new FormData(formEl));
      formEl.reset();
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };
  const field = (form: FormData, name: string) => String(form.get(name) ?? "").trim();
  return (
    <section class="account" aria-label="Two-step sign-in">
      <h3>Two-step sign-in</h3>
      {status === undefined ? (
        <p class="muted">…</p>
      ) : status.enabled ? (
        <>
          <p role="status" data-testid="totp-state">
            On. {status.recoveryCodesLeft} recovery codes left.
            {status.required ? " This server requires it." : ""}
          </p>
          {!status.required && (
            <form
              aria-label="Turn off two-step sign-in"
              onSubmit={run(async (f) => {
                await disableTwoFactor(String(f.get("password") ?? ""), field(f, "code"));
                await refresh();
              })}
            >
              <label>
                Password
                <input name="password" type="password" required autoComplete="current-password" />
              </label>
              <label>
                Code
                <input name="code" required autoComplete="one-time-code" />
              </label>
              <div class="dialog-actions">
                <button type="submit" disabled={busy}>
                  Turn off
                </button>
              </div>
            </form>
          )}
        </>
      ) : enrolment === undefined ? (
        <form
          aria-label="Turn on two-step sign-in"
          onSubmit={run(async (f) => setEnrolment(await enrolTwoFactor(String(f.get("password") ?? ""))))}
        >
          <p class="muted small-text" data-testid="totp-state">
            Off. With it on, signing in also needs a code from an authenticator app.
          </p>
          <label>
            Password
            <input name="password" type="password" required autoComplete="current-password" />
          </label>
          <div class="dialog-actions">
            <button type="submit" disabled={busy}>
              Set up
            </button>
          </div>
        </form>
      ) : (
        <form
          aria-label="Confirm two-step sign-in"
          onSubmit={run(async (f) => {
            await confirmTwoFactor(field(f, "code"));
            setEnrolment(undefined);
            await refresh();
          })}
        >
          <Enrolment secret={enrolment.secret} uri={enrolment.uri} />
          <label>
            The code your app shows
            <input name="code" required autoComplete="one-time-code" />
          </label>
          <div class="dialog-actions">
            <button type="submit" disabled={busy}>
              Turn on
            </button>
          </div>
        </form>
      )}
      {error !== undefined && <p role="alert">{error}</p>}
    </section>
  );
}
