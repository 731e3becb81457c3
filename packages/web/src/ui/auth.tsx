import {
  PASSWORD_RULES,
  type PasswordRule,
  USERNAME_MAX_LENGTH,
  USERNAME_MIN_LENGTH,
} from "@parley/protocol";
import { Fragment } from "preact";
import { useEffect, useState } from "preact/hooks";
import { describeError } from "../state/errors.js";
import { notice, pendingInvite, persistent, serverInfo } from "../state/model.js";
import { register, signIn } from "../state/session.js";

type Checker = typeof import("@parley/protocol/password-policy-compact");

/** The password rules with a compact table of the common-password list, loaded once the register form opens. */
let checker: Promise<Checker> | undefined;
const loadChecker = () => {
  checker ??= import("@parley/protocol/password-policy-compact");
  return checker;
};

export function SignIn() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    setBusy(true);
    setError(undefined);
    try {
      await signIn(String(form.get("username") ?? "").trim(), String(form.get("password") ?? ""));
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  };
  return (
    <main class="auth">
      <Brand />
      <form class="card" aria-label="Sign in" onSubmit={submit}>
        <h2>Sign in</h2>
        {notice.value !== undefined && (
          <p role="status" class="notice" data-testid="signin-notice">
            {notice.value}
          </p>
        )}
        <label>
          Username
          <input name="username" autoComplete="username" autoCapitalize="none" spellcheck={false} required />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required />
        </label>
        {error !== undefined && (
          <p role="alert" class="form-error">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        <p class="muted">
          New here? <a href="#/register">Create an account</a>
        </p>
        <p class="muted">
          <a href="#/reset">Forgot password?</a>
        </p>
      </form>
      <AuthFooter />
    </main>
  );
}

const RULE_TEXT: Record<PasswordRule, (p: NonNullable<typeof serverInfo.value>["passwordPolicy"]) => string> =
  {
    too_short: (p) => `At least ${p.minLength} characters`,
    too_long: (p) => `At most ${p.maxLength} characters`,
    needs_uppercase: () => "An uppercase letter",
    needs_special: (p) => `A special character (${p.specialCharacters.slice(0, 12)}…)`,
    common_password: () => "Not a commonly used password",
    contains_username: () => "Does not contain your username",
  };

export function Register() {
  const info = serverInfo.value;
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [mod, setMod] = useState<Checker | undefined>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    void loadChecker().then(setMod);
  }, []);
  const policy = info?.passwordPolicy;
  const verdict =
    mod !== undefined && policy !== undefined
      ? mod.checkPassword(password, username, policy as Parameters<Checker["checkPassword"]>[2])
      : undefined;
  const matches = confirm.length > 0 && confirm === password;
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!matches) {
      setError("The two passwords differ.");
      return;
    }
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const invite = String(form.get("invite") ?? "").trim();
    setBusy(true);
    setError(undefined);
    try {
      await register(username.trim(), password, invite.length > 0 ? invite : undefined);
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  };
  return (
    <main class="auth">
      <Brand />
      <form class="card" aria-label="Create account" onSubmit={submit}>
        <h2>Create account</h2>
        {info?.registration === "closed" && (
          <p class="form-error">This server does not take new accounts; ask its operator.</p>
        )}
        <label>
          Username
          <input
            name="username"
            autoComplete="username"
            autoCapitalize="none"
            spellcheck={false}
            required
            minLength={USERNAME_MIN_LENGTH}
            maxLength={USERNAME_MAX_LENGTH}
            value={username}
            onInput={(e) => setUsername(e.currentTarget.value)}
          />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete="new-password"
            required
            aria-describedby="password-rules"
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        <ul id="password-rules" class="checklist" aria-label="Password requirements" aria-live="polite">
          {policy !== undefined
            ? // Until the checker (with its common-password list) has loaded, the same rules are
              // listed as not met yet, so nothing below moves when it arrives.
              (verdict?.checks ?? PASSWORD_RULES.map((rule) => ({ rule, ok: false }))).map((c) => (
                <li key={c.rule} data-met={String(c.ok && password.length > 0)}>
                  <span aria-hidden="true">{c.ok && password.length > 0 ? "✓" : "•"}</span>{" "}
                  {RULE_TEXT[c.rule](policy)}
                </li>
              ))
            : null}
          <li data-met={String(matches)}>
            <span aria-hidden="true">{matches ? "✓" : "•"}</span> Both passwords match
          </li>
        </ul>
        <label>
          Confirm password
          <input
            name="confirm"
            type="password"
            autoComplete="new-password"
            required
            value={confirm}
            onInput={(e) => setConfirm(e.currentTarget.value)}
          />
        </label>
        {info?.registration === "invite" && (
          <label>
            Invite code
            <input
              name="invite"
              autoComplete="off"
              autoCapitalize="characters"
              spellcheck={false}
              required
              defaultValue={pendingInvite.value ?? ""}
            />
          </label>
        )}
        {error !== undefined && (
          <p role="alert" class="form-error">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? "Creating…" : "Create account"}
        </button>
        <p class="muted">
          Have an account? <a href="#/signin">Sign in instead</a>
        </p>
      </form>
      <AuthFooter />
    </main>
  );
}

export function Brand() {
  return (
    <header class="brand">
      <h1>Parley</h1>
      <p class="muted">End-to-end encrypted chat for this network. The server cannot read your messages.</p>
    </header>
  );
}

export function AuthFooter() {
  return (
    <footer class="auth-footer">
      <a href="#/trust">Trust this server on your phone</a>
      {!persistent.value && (
        <p class="muted">
          This page is not a secure context: keys are kept in memory only and lost when the page closes.
        </p>
      )}
    </footer>
  );
}

/**
 * `AB:CD:…` with a line-break opportunity after each colon only, so that a narrow screen wraps
 * it between bytes and never splits one (the text copied is the same, `<wbr>` adds none).
 */
function Fingerprint({ value }: { value: string }) {
  const bytes = value.split(":");
  return (
    <>
      {bytes.map((b, i) => (
        <Fragment key={i}>
          {b}
          {i < bytes.length - 1 && (
            <>
              :<wbr />
            </>
          )}
        </Fragment>
      ))}
    </>
  );
}

export function Trust() {
  const info = serverInfo.value;
  return (
    <main class="auth">
      <section class="card trust">
        <h2>Trust this server</h2>
        <p>
          This Parley server made its own certificate authority (CA). Your browser warns about it until you
          install the CA and trust it. Before trusting it, check that the fingerprint below is the one the
          server printed when it started (or that its operator shows you).
        </p>
        <p>SHA-256 fingerprint of the CA:</p>
        <p class="fingerprint" data-testid="ca-fingerprint">
          {info?.caFingerprint != null ? (
            <Fingerprint value={info.caFingerprint} />
          ) : (
            "This server uses a certificate from its operator, not a local CA."
          )}
        </p>
        {info?.caFingerprint != null && (
          <p>
            <a href="/ca.crt" download="parley-ca.crt">
              Download the CA certificate
            </a>
          </p>
        )}
        <h3>Android</h3>
        <ol>
          <li>Download the certificate above.</li>
          <li>
            Settings → Security → Encryption &amp; credentials → Install a certificate → CA certificate.
          </li>
          <li>Pick parley-ca.crt and confirm.</li>
        </ol>
        <h3>iPhone and iPad</h3>
        <ol>
          <li>Open this page in Safari and download the certificate; allow the profile download.</li>
          <li>Settings → General → VPN &amp; Device Management → install the Parley profile.</li>
          <li>Settings → General → About → Certificate Trust Settings → turn on full trust for it.</li>
        </ol>
        <h3>Desktop</h3>
        <p>
          Import the certificate into your system's or browser's trusted authorities (Chrome: Settings →
          Privacy and security → Security → Manage certificates; Firefox: Settings → Certificates → View
          Certificates → Authorities → Import).
        </p>
        <p>
          <a href="#/signin">Back to sign in</a>
        </p>
      </section>
    </main>
  );
}
