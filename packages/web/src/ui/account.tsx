import { useEffect, useState } from "preact/hooks";
import { describeError } from "../state/errors.js";
import { changePassword, createRecoveryCodes, recoveryCodesLeft } from "../state/session.js";
import { Dialog } from "./dialog.js";

/** Changes the account's password (AUTH-8); the account's other sessions end, this one stays. */
export function ChangePasswordSection() {
  const [error, setError] = useState<string | undefined>();
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const formEl = e.currentTarget as HTMLFormElement;
    const form = new FormData(formEl);
    const current = String(form.get("current") ?? "");
    const next = String(form.get("next") ?? "");
    setDone(false);
    if (next !== String(form.get("again") ?? "")) {
      setError("The two new passwords differ.");
      return;
    }
    setBusy(true);
    try {
      await changePassword(current, next);
      setError(undefined);
      setDone(true);
      formEl.reset();
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="account" onSubmit={submit} aria-label="Change password">
      <h3>Change password</h3>
      <label>
        Current password
        <input name="current" type="password" required autoComplete="current-password" />
      </label>
      <label>
        New password
        <input name="next" type="password" required autoComplete="new-password" />
      </label>
      <label>
        New password again
        <input name="again" type="password" required autoComplete="new-password" />
      </label>
      {error !== undefined && <p role="alert">{error}</p>}
      {done && <p role="status">Password changed. Your other sessions have ended.</p>}
      <div class="dialog-actions">
        <button type="submit" disabled={busy}>
          Change password
        </button>
      </div>
    </form>
  );
}

/**
 * AUTH-12: recovery codes the person prints and keeps, for "Forgot password?" without an admin.
 * Making a new set needs the password and voids the unused codes of the old one; the codes are
 * shown once, here, and never stored by this page.
 */
export function RecoveryCodesSection() {
  const [left, setLeft] = useState<number | undefined>();
  const [codes, setCodes] = useState<string[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    recoveryCodesLeft().then(setLeft, () => setLeft(undefined));
  }, [codes]);
  const submit = async (e: Event) => {
    e.preventDefault();
    const formEl = e.currentTarget as HTMLFormElement;
    const password = String(new FormData(formEl).get("password") ?? "");
    setBusy(true);
    setError(undefined);
    try {
      setCodes(await createRecoveryCodes(password));
      setCopied(false);
      formEl.reset();
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="account" onSubmit={submit} aria-label="Recovery codes">
      <h3>Recovery codes</h3>
      <p class="muted small-text">
        Each code lets you set a new password once, if you forget yours. Print them and keep them somewhere
        safe.
        {left !== undefined && ` You have ${left} unused ${left === 1 ? "code" : "codes"}.`} New codes replace
        the old ones.
      </p>
      <label>
        Password
        <input name="password" type="password" required autoComplete="current-password" />
      </label>
      {error !== undefined && <p role="alert">{error}</p>}
      <div class="dialog-actions">
        <button type="submit" disabled={busy}>
          Make new recovery codes
        </button>
      </div>
      {codes !== undefined && (
        <Dialog title="Your recovery codes" onClose={() => setCodes(undefined)}>
          <p>Shown only now. Each works once; your earlier codes no longer work.</p>
          <ol class="recovery-codes" aria-label="New recovery codes">
            {codes.map((c) => (
              <li key={c}>
                <code>{c}</code>
              </li>
            ))}
          </ol>
          <div class="dialog-actions">
            <button
              type="button"
              onClick={() =>
                void navigator.clipboard.writeText(codes.join("\n")).then(
                  () => setCopied(true),
                  () => setCopied(false),
                )
              }
            >
              {copied ? "Copied" : "Copy codes"}
            </button>
            <button type="button" onClick={() => print()}>
              Print
            </button>
            <button type="button" onClick={() => setCodes(undefined)}>
              Done
            </button>
          </div>
        </Dialog>
      )}
    </form>
  );
}
