import {
  PASSWORD_RULES,
  type PasswordRule,
  USERNAME_MAX_LENGTH,
  USERNAME_MIN_LENGTH,
} from "@parley/protocol";
import { Fragment } from "preact";
import { useEffect, useState } from "preact/hooks";
import { notice, pendingInvite, persistent, secondStep, serverInfo } from "../state/model.js";
import { register, signIn } from "../state/session.js";
import {
  FormError,
  FormNotice,
  FormProblem,
  PasswordField,
  RuleItem,
  SubmitButton,
  useFormAction,
} from "./auth-form.js";
import { MessageSquareLock } from "./icons.js";
import { PolicyWarning, ServerPanel } from "./server-policy.js";
import { TwoFactorStep } from "./two-factor.js";

type Checker = typeof import("@parley/protocol/password-policy-compact");
type Policy = NonNullable<typeof serverInfo.value>["passwordPolicy"];

/** The password rules with a compact table of the common-password list, loaded once the register form opens. */
let checker: Promise<Checker> | undefined;
const loadChecker = () => {
  checker ??= import("@parley/protocol/password-policy-compact");
  return checker;
};

export function SignIn() {
  const action = useFormAction(async (form) => {
    const data = new FormData(form);
    await signIn(String(data.get("username") ?? "").trim(), String(data.get("password") ?? ""));
  });
  if (secondStep.value !== undefined)
    return (
      <main class="auth">
        <Brand />
        <TwoFactorStep />
        <AuthFooter />
      </main>
    );
  return (
    <main class="auth">
      <Brand />
      <PolicyWarning />
      <form class="card" aria-label="Sign in" onSubmit={action.onSubmit}>
        <header class="card-head">
          <h2>Sign in</h2>
          <p class="muted">With your account on this Parley server.</p>
        </header>
        {notice.value !== undefined && <FormNotice testId="signin-notice">{notice.value}</FormNotice>}
        <label>
          Username
          <input name="username" autoComplete="username" autoCapitalize="none" spellcheck={false} required />
        </label>
        <PasswordField label="Password" name="password" autoComplete="current-password" required />
        <FormError error={action.error} />
        <SubmitButton busy={action.busy} label="Sign in" busyLabel="Signing in…" />
        <p class="auth-links">
          <a href="#/reset">Forgot password?</a>
        </p>
        <footer class="auth-alt">
          <p>
            New here? <a href="#/register">Create an account</a>
          </p>
          <p class="muted">On a new device? Sign in, then link it from a device you already use.</p>
        </footer>
      </form>
      <AuthFooter />
    </main>
  );
}

const RULE_TEXT: Record<PasswordRule, (p: Policy) => string> = {
  too_short: (p) => `At least ${p.minLength} characters`,
  too_long: (p) => `At most ${p.maxLength} characters`,
  needs_uppercase: () => "An uppercase letter",
  needs_special: (p) => `A special character (${p.specialCharacters.slice(0, 8)}…)`,
  common_password: () => "Not a commonly used password",
  contains_username: () => "Does not contain your username",
};

/** Whether a policy enforces a rule: the rules the checker will report, known before it loads. */
const ENFORCED: Record<PasswordRule, (p: Policy) => boolean> = {
  too_short: () => true,
  too_long: () => true,
  needs_uppercase: (p) => p.requireUppercase,
  needs_special: (p) => p.requireSpecial,
  common_password: (p) => p.rejectCommon,
  contains_username: (p) => p.rejectUsername,
};

/**
 * Until /api/info answers, the list is drawn invisible from the default preset's figures, so it
 * already takes the room the server's rules will (the same, under the default policy).
 */
const STAND_IN: Policy = {
  name: "default",
  minLength: 12,
  maxLength: 128,
  requireUppercase: true,
  requireSpecial: true,
  specialCharacters: "!\"#$%&'()*+,-./",
  rejectCommon: true,
  rejectUsername: true,
};

function PasswordRules({
  policy,
  checks,
  password,
  matches,
}: {
  policy: Policy | undefined;
  checks: ReadonlyArray<{ rule: PasswordRule; ok: boolean }> | undefined;
  password: string;
  matches: boolean;
}) {
  if (policy === undefined)
    return (
      <ul class="checklist pending" aria-hidden="true">
        {PASSWORD_RULES.map((rule) => (
          <RuleItem key={rule} met={false}>
            {RULE_TEXT[rule](STAND_IN)}
          </RuleItem>
        ))}
        <RuleItem met={false}>Both passwords match</RuleItem>
      </ul>
    );
  // Until the checker (with its common-password list) has loaded, the policy's rules are listed
  // as not met yet, so nothing below moves when it arrives.
  const shown =
    checks ?? PASSWORD_RULES.filter((rule) => ENFORCED[rule](policy)).map((rule) => ({ rule, ok: false }));
  return (
    <ul id="password-rules" class="checklist" aria-label="Password requirements" aria-live="polite">
      {shown.map((c) => (
        <RuleItem key={c.rule} met={c.ok && password.length > 0}>
          {RULE_TEXT[c.rule](policy)}
        </RuleItem>
      ))}
      <RuleItem met={matches}>Both passwords match</RuleItem>
    </ul>
  );
}

export function Register() {
  const info = serverInfo.value;
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [mod, setMod] = useState<Checker | undefined>();
  useEffect(() => {
    void loadChecker().then(setMod);
  }, []);
  const policy = info?.passwordPolicy;
  const verdict =
    mod !== undefined && policy !== undefined
      ? mod.checkPassword(password, username, policy as Parameters<Checker["checkPassword"]>[2])
      : undefined;
  const matches = confirm.length > 0 && confirm === password;
  const action = useFormAction(async (form) => {
    if (!matches) throw new FormProblem("The two passwords differ.");
    const invite = String(new FormData(form).get("invite") ?? "").trim();
    await register(username.trim(), password, invite.length > 0 ? invite : undefined);
  });
  return (
    <main class="auth">
      <Brand />
      <form class="card" aria-label="Create account" onSubmit={action.onSubmit}>
        <header class="card-head">
          <h2>Create account</h2>
          <p class="muted">Your keys are made on this device; the server never sees them.</p>
        </header>
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
        <PasswordField
          label="Password"
          name="password"
          autoComplete="new-password"
          required
          aria-describedby="password-rules"
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
        <PasswordRules policy={policy} checks={verdict?.checks} password={password} matches={matches} />
        <PasswordField
          label="Confirm password"
          name="confirm"
          autoComplete="new-password"
          required
          value={confirm}
          onInput={(e) => setConfirm(e.currentTarget.value)}
        />
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
        <FormError error={action.error} />
        <SubmitButton busy={action.busy} label="Create account" busyLabel="Creating…" />
        <footer class="auth-alt">
          <p>
            Have an account? <a href="#/signin">Sign in instead</a>
          </p>
        </footer>
      </form>
      <AuthFooter />
    </main>
  );
}

/** Parley's mark and name above every page before one is in; `tagline` says what it is. */
export function Brand({ tagline = true }: { tagline?: boolean }) {
  return (
    <header class="brand">
      <div class="brand-name">
        <span class="brand-icon">
          <MessageSquareLock />
        </span>
        <h1>Parley</h1>
      </div>
      {tagline && (
        <p class="brand-tagline">
          End-to-end encrypted chat for this network. The server cannot read your messages.
        </p>
      )}
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
        <p>SHA-256 fingerprint of the key that signs the server's policy:</p>
        <p class="fingerprint" data-testid="trust-policy-fingerprint">
          {info?.policyKeyFingerprint ?? "…"}
        </p>
        <PolicyWarning />
        <ServerPanel />
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
