import { useState } from "preact/hooks";
import { describeError } from "../state/errors.js";
import { notice } from "../state/model.js";
import { resetWithCode } from "../state/session.js";
import { AuthFooter, Brand } from "./auth.js";

/**
 * "Forgot password?" (docs/PROTOCOL.md AUTH-11, AUTH-12): a new password with the code an admin
 * gave, or one of the person's own recovery codes. Every session ends; the identity key stays
 * on this device, so contacts see no change.
 */
export function ResetPassword() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const password = String(form.get("password") ?? "");
    if (password !== String(form.get("confirm") ?? "")) {
      setError("The two passwords differ.");
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      await resetWithCode(
        String(form.get("username") ?? "").trim(),
        String(form.get("code") ?? "").trim(),
        password,
      );
      notice.value = "Your password is changed and every session ended. Sign in with the new password.";
      location.hash = "#/signin";
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  };
  return (
    <main class="auth">
      <Brand />
      <form class="card" aria-label="Reset password" onSubmit={submit}>
        <h2>Forgot password?</h2>
        <p class="muted">
          Enter the code your admin gave you, or one of your recovery codes, and choose a new password.
        </p>
        <label>
          Username
          <input name="username" autoComplete="username" autoCapitalize="none" spellcheck={false} required />
        </label>
        <label>
          Code
          <input
            name="code"
            autoComplete="one-time-code"
            autoCapitalize="characters"
            spellcheck={false}
            required
          />
        </label>
        <label>
          New password
          <input name="password" type="password" autoComplete="new-password" required />
        </label>
        <label>
          Confirm new password
          <input name="confirm" type="password" autoComplete="new-password" required />
        </label>
        {error !== undefined && (
          <p role="alert" class="form-error">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? "Setting…" : "Set new password"}
        </button>
        <p class="muted">
          <a href="#/signin">Back to sign in</a>
        </p>
      </form>
      <AuthFooter />
    </main>
  );
}
