import { useState } from "preact/hooks";
import { describeError } from "../state/errors.js";
import { changePassword } from "../state/session.js";

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
