import type { SessionView } from "@parley/protocol";
import { useEffect, useState } from "preact/hooks";
import { describeError } from "../state/errors.js";
import {
  accountSessions,
  blockedUsers,
  changePassword,
  createRecoveryCodes,
  deleteAccount,
  endSession,
  recoveryCodesLeft,
  unblockUser,
} from "../state/session.js";
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

/** A short name for a User-Agent: the browser and the system, or the terminal client. */
export function deviceName(userAgent: string | null): string {
  if (userAgent === null || userAgent === "") return "Unknown device";
  if (/parley/i.test(userAgent) && !/Mozilla/.test(userAgent)) return "Terminal (parley)";
  const browser = /Edg\//.test(userAgent)
    ? "Edge"
    : /Firefox\//.test(userAgent)
      ? "Firefox"
      : /Chrome\/|Chromium\//.test(userAgent)
        ? "Chrome"
        : /Safari\//.test(userAgent)
          ? "Safari"
          : "Browser";
  const system = /Android/.test(userAgent)
    ? "Android"
    : /iPhone|iPad/.test(userAgent)
      ? "iOS"
      : /Windows/.test(userAgent)
        ? "Windows"
        : /Mac OS X|Macintosh/.test(userAgent)
          ? "macOS"
          : /Linux/.test(userAgent)
            ? "Linux"
            : undefined;
  return system !== undefined ? `${browser} on ${system}` : browser;
}

function when(ms: number | null): string {
  return ms === null ? "never" : new Date(ms).toLocaleString();
}

/** ACCT-1, ACCT-2: the account's sessions, and ending any of them. */
export function SessionsSection() {
  const [list, setList] = useState<SessionView[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const load = () =>
    accountSessions()
      .then((s) => {
        setList(s);
        setError(undefined);
      })
      .catch((err: unknown) => setError(describeError(err)));
  useEffect(() => {
    void load();
  }, []);
  const end = async (s: SessionView) => {
    try {
      await endSession(s.id);
      if (!s.current) await load();
    } catch (err) {
      setError(describeError(err));
    }
  };
  return (
    <section class="account" aria-label="Sessions">
      <h3>Sessions</h3>
      {list === undefined ? (
        <p class="small-text">Loading…</p>
      ) : (
        <ul class="sessions" aria-label="Your sessions">
          {list.map((s, i) => (
            <li key={s.id} data-session={i + 1} data-current={s.current ? "yes" : "no"}>
              <span>
                <strong>{deviceName(s.userAgent)}</strong>
                {s.current ? " (this session)" : ""}
                <br />
                <span class="small-text">
                  {s.ip ?? "unknown address"} · signed in {when(s.createdAt)} · last seen {when(s.lastSeenAt)}
                </span>
              </span>
              <button type="button" class="small danger" onClick={() => void end(s)}>
                {s.current ? "Sign out this session" : `End session ${i + 1}`}
              </button>
            </li>
          ))}
        </ul>
      )}
      {error !== undefined && <p role="alert">{error}</p>}
    </section>
  );
}

/** ACCT-6: the people whose invitations this account refuses. */
export function BlockedSection() {
  const [list, setList] = useState<{ id: string; username: string }[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const load = () =>
    blockedUsers()
      .then(setList)
      .catch((err: unknown) => setError(describeError(err)));
  useEffect(() => {
    void load();
  }, []);
  return (
    <section class="account" aria-label="Blocked people">
      <h3>Blocked people</h3>
      <p class="small-text">
        They cannot invite you to rooms or start a conversation with you. They are not told.
      </p>
      {list !== undefined && list.length === 0 && <p class="small-text">You have blocked nobody.</p>}
      <ul aria-label="Blocked">
        {(list ?? []).map((b) => (
          <li key={b.id} data-user={b.username}>
            <span>{b.username}</span>
            <button
              type="button"
              class="small"
              onClick={() =>
                void unblockUser(b.id)
                  .then(load)
                  .catch((err: unknown) => setError(describeError(err)))
              }
            >
              Unblock {b.username}
            </button>
          </li>
        ))}
      </ul>
      {error !== undefined && <p role="alert">{error}</p>}
    </section>
  );
}

/** ACCT-3: deletes the account, after the password. */
export function DeleteAccountSection() {
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const password = String(new FormData(e.currentTarget as HTMLFormElement).get("password") ?? "");
    setBusy(true);
    try {
      await deleteAccount(password);
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  };
  if (!open)
    return (
      <section class="account" aria-label="Delete account">
        <h3>Delete account</h3>
        <button type="button" class="danger" onClick={() => setOpen(true)}>
          Delete my account…
        </button>
      </section>
    );
  return (
    <form class="account" onSubmit={submit} aria-label="Delete account">
      <h3>Delete account</h3>
      <p>
        This removes you from every room and conversation, deletes your devices, keys, files and sessions on
        the server, and cannot be undone. Your username cannot be registered again.
      </p>
      <label>
        Password
        <input name="password" type="password" required autoComplete="current-password" />
      </label>
      {error !== undefined && <p role="alert">{error}</p>}
      <div class="dialog-actions">
        <button type="button" onClick={() => setOpen(false)}>
          Cancel
        </button>
        <button type="submit" class="danger" disabled={busy}>
          Delete my account for good
        </button>
      </div>
    </form>
  );
}
