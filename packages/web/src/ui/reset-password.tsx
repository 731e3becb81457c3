import { notice } from "../state/model.js";
import { resetWithCode } from "../state/session.js";
import { AuthFooter, Brand } from "./auth.js";
import { FormError, FormProblem, PasswordField, SubmitButton, useFormAction } from "./auth-form.js";
import { ArrowLeft } from "./icons.js";

/**
 * "Forgot password?" (docs/PROTOCOL.md AUTH-11, AUTH-12): a new password with the code an admin
 * gave, or one of the person's own recovery codes. Every session ends; the identity key stays
 * on this device, so contacts see no change.
 */
export function ResetPassword() {
  const action = useFormAction(async (form) => {
    const data = new FormData(form);
    const password = String(data.get("password") ?? "");
    if (password !== String(data.get("confirm") ?? "")) throw new FormProblem("The two passwords differ.");
    await resetWithCode(
      String(data.get("username") ?? "").trim(),
      String(data.get("code") ?? "").trim(),
      password,
    );
    notice.value = "Your password is changed and every session ended. Sign in with the new password.";
    location.hash = "#/signin";
  });
  return (
    <main class="auth">
      <Brand />
      <form class="card" aria-label="Reset password" onSubmit={action.onSubmit}>
        <header class="card-head">
          <h2>Forgot password?</h2>
          <p class="muted">
            Enter the code your admin gave you, or one of your recovery codes, and choose a new password.
          </p>
        </header>
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
        <PasswordField label="New password" name="password" autoComplete="new-password" required />
        <PasswordField label="Confirm new password" name="confirm" autoComplete="new-password" required />
        <FormError error={action.error} />
        <SubmitButton busy={action.busy} label="Set new password" busyLabel="Setting…" />
        <footer class="auth-alt">
          <p>
            <a href="#/signin" class="with-icon">
              <ArrowLeft />
              Back to sign in
            </a>
          </p>
        </footer>
      </form>
      <AuthFooter />
    </main>
  );
}
