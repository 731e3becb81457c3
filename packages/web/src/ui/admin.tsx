import {
  ADMIN_BLOCK_MINUTES_MAX,
  ADMIN_BLOCK_NOTE_MAX,
  type AdminInviteView,
  type AdminRoomView,
  type AdminStatsResponse,
  type AdminUserView,
  AUDIT_KINDS,
  type AuditEntryView,
  type CreateInviteResponse,
  INVITE_TTL_HOURS_DEFAULT,
  INVITE_TTL_HOURS_MAX,
  INVITE_USES_MAX,
  type ResetCodeResponse,
} from "@parley/protocol";
import { useEffect, useState } from "preact/hooks";
import { describeError } from "../state/errors.js";
import { adminOpen, me } from "../state/model.js";
import { inviteLink } from "../state/routes.js";
import { adminApi } from "../state/session.js";
import { Dialog } from "./dialog.js";
import { formatFull } from "./format.js";

/** How often the live figures are read while they are on screen. */
export const FIGURES_REFRESH_MS = 3000;

const SECTIONS = ["Users", "Invites", "IP blocks", "Rooms", "Live figures", "Settings", "Audit log"] as const;
type Section = (typeof SECTIONS)[number];

/**
 * Issue 19: the admin area. Shown only to admins, but that is a courtesy: the server checks
 * every call (AUTH-10) and answers `admin_required` to anyone else.
 */
export function AdminArea() {
  const [section, setSection] = useState<Section>("Users");
  return (
    <section class="admin" aria-label="Admin">
      <div class="admin-header">
        <h2>Admin</h2>
        <button type="button" onClick={() => (adminOpen.value = false)}>
          Close admin
        </button>
      </div>
      <nav class="admin-tabs" aria-label="Admin sections">
        {SECTIONS.map((s) => (
          <button
            key={s}
            type="button"
            class={s === section ? "small primary" : "small"}
            aria-pressed={s === section}
            onClick={() => setSection(s)}
          >
            {s}
          </button>
        ))}
      </nav>
      {section === "Users" && <UsersSection />}
      {section === "Invites" && <InvitesSection />}
      {section === "IP blocks" && <BlocksSection />}
      {section === "Rooms" && <RoomsSection />}
      {section === "Live figures" && <FiguresSection />}
      {section === "Settings" && <SettingsSection />}
      {section === "Audit log" && <AuditSection />}
    </section>
  );
}

/** A list loaded from the admin API, reloaded by `reload()`; errors are shown, never thrown. */
function useLoaded<T>(load: () => Promise<T>) {
  const [value, setValue] = useState<T | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    let live = true;
    load().then(
      (v) => {
        if (!live) return;
        setValue(v);
        setError(undefined);
      },
      (e: unknown) => live && setError(describeError(e)),
    );
    return () => {
      live = false;
    };
  }, [generation]);
  return { value, error, setError, reload: () => setGeneration((g) => g + 1) };
}

/** Runs an admin action, then reloads; a failure is shown in the section's alert. */
function useAction(reload: () => void, setError: (e: string | undefined) => void) {
  const [busy, setBusy] = useState(false);
  const run = async (action: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    try {
      await action();
      reload();
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };
  return { busy, run };
}

function Alert({ error }: { error: string | undefined }) {
  return error === undefined ? null : (
    <p role="alert" class="form-error">
      {error}
    </p>
  );
}

function CopyButton({ text, label }: { text: string; label: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      class="small"
      onClick={() =>
        void navigator.clipboard.writeText(text).then(
          () => setCopied(true),
          () => setCopied(false),
        )
      }
    >
      {copied ? "Copied" : label}
    </button>
  );
}

// ------------------------------------------------------------------------------------ users

function UsersSection() {
  const users = useLoaded(() => adminApi().users());
  const { busy, run } = useAction(users.reload, users.setError);
  const [query, setQuery] = useState("");
  const [resetCode, setResetCode] = useState<(ResetCodeResponse & { username: string }) | undefined>();
  const [deleting, setDeleting] = useState<AdminUserView | undefined>();
  const [clearing, setClearing] = useState<AdminUserView | undefined>();
  const self = me.value?.id;
  const shown = (users.value ?? []).filter((u) =>
    u.username.toLowerCase().includes(query.trim().toLowerCase()),
  );
  return (
    <section aria-label="Users">
      <label>
        Search users
        <input type="search" value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
      </label>
      <Alert error={users.error} />
      {users.value === undefined && users.error === undefined && <p class="muted">Loading…</p>}
      <table class="admin-table">
        <thead>
          <tr>
            <th>User</th>
            <th>Role</th>
            <th>State</th>
            <th>Actions</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((u) => (
            <tr key={u.id} data-user={u.username}>
              <td>{u.username}</td>
              <td>{u.isAdmin ? "admin" : "member"}</td>
              <td>
                {u.disabled ? "disabled" : "active"}
                {u.totp && <span class="muted"> · two-step</span>}
              </td>
              <td class="admin-actions">
                <button
                  type="button"
                  class="small"
                  disabled={busy}
                  onClick={() => void run(() => adminApi().setAdmin(u.id, !u.isAdmin))}
                >
                  {u.isAdmin ? "Remove admin" : "Make admin"}
                </button>
                {u.id !== self && (
                  <button
                    type="button"
                    class="small"
                    disabled={busy}
                    onClick={() => void run(() => adminApi().setDisabled(u.id, !u.disabled))}
                  >
                    {u.disabled ? "Enable" : "Disable"}
                  </button>
                )}
                <button
                  type="button"
                  class="small"
                  disabled={busy}
                  onClick={() => void run(() => adminApi().signOutEverywhere(u.id))}
                >
                  Sign out everywhere
                </button>
                <button
                  type="button"
                  class="small"
                  disabled={busy}
                  onClick={() =>
                    void run(async () =>
                      setResetCode({ ...(await adminApi().issueResetCode(u.id)), username: u.username }),
                    )
                  }
                >
                  Reset code
                </button>
                {u.totp && u.id !== self && (
                  <button type="button" class="small" disabled={busy} onClick={() => setClearing(u)}>
                    Clear two-step
                  </button>
                )}
                {u.id !== self && (
                  <button type="button" class="small danger" disabled={busy} onClick={() => setDeleting(u)}>
                    Delete
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {resetCode !== undefined && (
        <Dialog title={`Reset code for ${resetCode.username}`} onClose={() => setResetCode(undefined)}>
          <p>
            Give this code to {resetCode.username} in person. It is shown only now, works once, and expires{" "}
            {formatFull(resetCode.expiresAt)}. With it they set a new password from “Forgot password?”.
          </p>
          <p class="fingerprint" data-testid="reset-code">
            {resetCode.code}
          </p>
          <div class="dialog-actions">
            <CopyButton text={resetCode.code} label="Copy code" />
            <button type="button" onClick={() => setResetCode(undefined)}>
              Done
            </button>
          </div>
        </Dialog>
      )}
      {clearing !== undefined && (
        <Dialog
          title={`Clear two-step sign-in for ${clearing.username}?`}
          onClose={() => setClearing(undefined)}
        >
          <p>
            Only for someone who lost both their authenticator and their recovery codes, and only once you
            have made sure, in person, that it is {clearing.username} asking. Their authenticator and recovery
            codes stop working, they are signed out everywhere, and they sign in with their password alone
            (where this server requires two-step sign-in, they set up a new authenticator at that sign-in).
          </p>
          <div class="dialog-actions">
            <button
              type="button"
              class="danger"
              disabled={busy}
              onClick={() =>
                void run(async () => {
                  await adminApi().clearTotp(clearing.id);
                  setClearing(undefined);
                })
              }
            >
              Clear two-step for {clearing.username}
            </button>
            <button type="button" onClick={() => setClearing(undefined)}>
              Keep
            </button>
          </div>
        </Dialog>
      )}
      {deleting !== undefined && (
        <Dialog title={`Delete ${deleting.username}?`} onClose={() => setDeleting(undefined)}>
          <p>
            The account {deleting.username} is deleted for good: it is signed out everywhere and can never
            sign in again. This cannot be undone.
          </p>
          <div class="dialog-actions">
            <button
              type="button"
              class="danger"
              disabled={busy}
              onClick={() =>
                void run(async () => {
                  await adminApi().deleteUser(deleting.id);
                  setDeleting(undefined);
                })
              }
            >
              Delete {deleting.username}
            </button>
            <button type="button" onClick={() => setDeleting(undefined)}>
              Keep
            </button>
          </div>
        </Dialog>
      )}
    </section>
  );
}

// ---------------------------------------------------------------------------------- invites

function InvitesSection() {
  const invites = useLoaded(() => adminApi().invites());
  const { busy, run } = useAction(invites.reload, invites.setError);
  const [created, setCreated] = useState<CreateInviteResponse | undefined>();
  const submit = (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const maxUses = Number(form.get("uses"));
    const ttlHours = Number(form.get("hours"));
    void run(async () => setCreated(await adminApi().createInvite({ maxUses, ttlHours })));
  };
  return (
    <section aria-label="Invites">
      <form class="admin-form" onSubmit={submit} aria-label="New invite">
        <label>
          Uses
          <input name="uses" type="number" min={1} max={INVITE_USES_MAX} defaultValue="1" required />
        </label>
        <label>
          Valid for (hours)
          <input
            name="hours"
            type="number"
            min={1}
            max={INVITE_TTL_HOURS_MAX}
            defaultValue={String(INVITE_TTL_HOURS_DEFAULT)}
            required
          />
        </label>
        <button type="submit" class="primary" disabled={busy}>
          Create invite
        </button>
      </form>
      {created !== undefined && (
        <div class="banner" role="status" aria-label="New invite code">
          <p>
            Invite code (shown only now; {created.maxUses === 1 ? "one use" : `${created.maxUses} uses`},
            until {formatFull(created.expiresAt)}):
          </p>
          <p class="fingerprint" data-testid="invite-code">
            {created.code}
          </p>
          <p class="small-text" data-testid="invite-link">
            {inviteLink(location.origin, created.code)}
          </p>
          <div class="row">
            <CopyButton text={created.code} label="Copy code" />
            <CopyButton text={inviteLink(location.origin, created.code)} label="Copy link" />
          </div>
        </div>
      )}
      <Alert error={invites.error} />
      <table class="admin-table">
        <thead>
          <tr>
            <th>Created by</th>
            <th>Created</th>
            <th>Expires</th>
            <th>Uses</th>
            <th>Left</th>
            <th>Status</th>
            <th>Actions</th>
          </tr>
        </thead>
        <tbody>
          {(invites.value ?? []).map((i: AdminInviteView) => (
            <tr key={i.id} data-invite={i.id}>
              <td>{i.createdBy?.username ?? "(deleted)"}</td>
              <td>{formatFull(i.createdAt)}</td>
              <td>{formatFull(i.expiresAt)}</td>
              <td>
                {i.uses} of {i.maxUses}
              </td>
              <td>{i.usesLeft}</td>
              <td>{i.status.replace("_", " ")}</td>
              <td>
                {i.status === "active" && (
                  <button
                    type="button"
                    class="small"
                    disabled={busy}
                    onClick={() => void run(() => adminApi().revokeInvite(i.id))}
                  >
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

// ------------------------------------------------------------------------------- IP blocks

function BlocksSection() {
  const blocks = useLoaded(async () => ({ at: Date.now(), list: await adminApi().blocks() }));
  const { busy, run } = useAction(blocks.reload, blocks.setError);
  const list = blocks.value?.list ?? [];
  const submit = (e: Event) => {
    e.preventDefault();
    const formEl = e.currentTarget as HTMLFormElement;
    const form = new FormData(formEl);
    const ip = String(form.get("ip") ?? "").trim();
    const minutes = Number(form.get("minutes"));
    const note = String(form.get("note") ?? "").trim();
    void run(async () => {
      await adminApi().block({ ip, minutes, ...(note === "" ? {} : { note }) });
      formEl.reset();
    });
  };
  return (
    <section aria-label="IP blocks">
      <form class="admin-form" onSubmit={submit} aria-label="Block an address">
        <label>
          Address
          <input name="ip" required maxLength={64} autoComplete="off" spellcheck={false} />
        </label>
        <label>
          Minutes
          <input
            name="minutes"
            type="number"
            min={1}
            max={ADMIN_BLOCK_MINUTES_MAX}
            defaultValue="60"
            required
          />
        </label>
        <label>
          Note
          <input name="note" maxLength={ADMIN_BLOCK_NOTE_MAX} autoComplete="off" />
        </label>
        <button type="submit" class="primary" disabled={busy}>
          Block address
        </button>
      </form>
      <Alert error={blocks.error} />
      {blocks.value !== undefined && list.length === 0 && <p class="muted">No address is blocked.</p>}
      {list.length > 0 && (
        <table class="admin-table">
          <thead>
            <tr>
              <th>Address</th>
              <th>Reason</th>
              <th>Blocked until</th>
              <th>Actions</th>
            </tr>
          </thead>
          <tbody>
            {list.map((b) => (
              <tr key={b.ip} data-ip={b.ip}>
                <td>{b.ip}</td>
                <td data-testid="block-reason">
                  {b.reason === "admin"
                    ? `Blocked by ${b.blockedBy?.username ?? "an admin"}`
                    : "Too many failed sign-ins"}
                  {b.note !== null && <span class="block-note">: {b.note}</span>}
                </td>
                <td>{formatFull((blocks.value?.at ?? 0) + b.retryAfterMs)}</td>
                <td>
                  <button
                    type="button"
                    class="small"
                    disabled={busy}
                    onClick={() => void run(() => adminApi().unblock(b.ip))}
                  >
                    Lift block
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <button type="button" class="small" onClick={blocks.reload}>
        Refresh
      </button>
    </section>
  );
}

// ------------------------------------------------------------------------------------ rooms

function RoomsSection() {
  const [rooms, setRooms] = useState<AdminRoomView[]>([]);
  const [next, setNext] = useState<string | null | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [deleting, setDeleting] = useState<AdminRoomView | undefined>();
  const [busy, setBusy] = useState(false);
  const load = (cursor?: string) =>
    adminApi()
      .rooms(cursor)
      .then(
        (page) => {
          setRooms((old) => (cursor === undefined ? page.rooms : [...old, ...page.rooms]));
          setNext(page.nextCursor);
        },
        (e: unknown) => setError(describeError(e)),
      );
  useEffect(() => void load(), []);
  const remove = async (room: AdminRoomView) => {
    setBusy(true);
    setError(undefined);
    try {
      await adminApi().deleteRoom(room.id);
      setRooms((old) => old.filter((r) => r.id !== room.id));
      setDeleting(undefined);
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-label="Rooms">
      <Alert error={error} />
      {next !== undefined && rooms.length === 0 && <p class="muted">No rooms yet.</p>}
      <table class="admin-table">
        <thead>
          <tr>
            <th>Room</th>
            <th>Id</th>
            <th>Kind</th>
            <th>Members</th>
            <th>Owner</th>
            <th>Actions</th>
          </tr>
        </thead>
        <tbody>
          {rooms.map((r) => (
            <tr key={r.id} data-room={r.id}>
              <td>{r.name}</td>
              <td class="room-id">{r.id}</td>
              <td>{r.isPublic ? "public" : "private"}</td>
              <td>{r.members}</td>
              <td>{r.owner?.username ?? "(none)"}</td>
              <td>
                <button type="button" class="small danger" onClick={() => setDeleting(r)}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {typeof next === "string" && (
        <button type="button" class="small" onClick={() => void load(next)}>
          More rooms
        </button>
      )}
      {deleting !== undefined && (
        <Dialog title={`Delete room ${deleting.name}?`} onClose={() => setDeleting(undefined)}>
          <p>
            The room is deleted for its {deleting.members} members, who are told an admin did it. This cannot
            be undone.
          </p>
          <div class="dialog-actions">
            <button type="button" class="danger" disabled={busy} onClick={() => void remove(deleting)}>
              Delete room
            </button>
            <button type="button" onClick={() => setDeleting(undefined)}>
              Keep
            </button>
          </div>
        </Dialog>
      )}
    </section>
  );
}

// ----------------------------------------------------------------------------- live figures

const FIGURES: [keyof AdminStatsResponse, string][] = [
  ["connections", "Connections"],
  ["onlinePeople", "People online"],
  ["rooms", "Rooms"],
  ["messagesPerMinute", "Messages per minute"],
  ["failedLoginsPerHour", "Failed sign-ins per hour"],
  ["blockedIps", "Blocked addresses"],
];

/** Read every FIGURES_REFRESH_MS while shown; the timer stops when the section closes. */
function FiguresSection() {
  const [stats, setStats] = useState<AdminStatsResponse | undefined>();
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    let live = true;
    const read = () =>
      adminApi()
        .stats()
        .then(
          (s) => {
            if (!live) return;
            setStats(s);
            setError(undefined);
          },
          (e: unknown) => live && setError(describeError(e)),
        );
    void read();
    const timer = setInterval(read, FIGURES_REFRESH_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, []);
  return (
    <section aria-label="Live figures">
      <Alert error={error} />
      {stats !== undefined && (
        <>
          <dl class="admin-figures">
            {FIGURES.map(([key, label]) => (
              <div key={key} data-figure={key}>
                <dt>{label}</dt>
                <dd>{stats[key]}</dd>
              </div>
            ))}
          </dl>
          <p class="muted small-text">
            Read at {formatFull(stats.at)}; refreshed every {FIGURES_REFRESH_MS / 1000} seconds.
          </p>
        </>
      )}
    </section>
  );
}

// --------------------------------------------------------------------------------- settings

function SettingsSection() {
  const settings = useLoaded(() => adminApi().settings());
  return (
    <section aria-label="Server settings">
      <p class="muted small-text">The server's effective settings, read-only; secrets are not shown.</p>
      <Alert error={settings.error} />
      <table class="admin-table">
        <tbody>
          {Object.entries(settings.value ?? {})
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([key, value]) => (
              <tr key={key} data-setting={key}>
                <th scope="row">{key}</th>
                <td>{value === null ? "(not set)" : String(value)}</td>
              </tr>
            ))}
        </tbody>
      </table>
    </section>
  );
}

// -------------------------------------------------------------------------------- audit log

interface AuditFilter {
  kind?: string;
  user?: string;
  ip?: string;
  from?: string;
  to?: string;
}

/** Entries in one page of the audit view. */
export const AUDIT_VIEW_PAGE = 50;

function AuditSection() {
  const [filter, setFilter] = useState<AuditFilter>({});
  const [entries, setEntries] = useState<AuditEntryView[] | undefined>();
  const [next, setNext] = useState<string | null>(null);
  // AUDIT-2's cursors of the pages visited, newest first: going back is going down this stack.
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [error, setError] = useState<string | undefined>();
  const load = (f: AuditFilter, stack: (string | undefined)[]) => {
    const cursor = stack.at(-1);
    return adminApi()
      .audit({
        ...(f.kind ? { kind: f.kind as AuditEntryView["kind"] } : {}),
        ...(f.user ? { user: f.user } : {}),
        ...(f.ip ? { ip: f.ip } : {}),
        ...(f.from ? { from: String(new Date(f.from).getTime()) } : {}),
        ...(f.to ? { to: String(new Date(f.to).getTime()) } : {}),
        ...(cursor !== undefined ? { cursor } : {}),
        limit: String(AUDIT_VIEW_PAGE),
      })
      .then(
        (page) => {
          setEntries(page.entries);
          setNext(page.nextCursor);
          setCursors(stack);
          setError(undefined);
        },
        (e: unknown) => setError(describeError(e)),
      );
  };
  useEffect(() => void load({}, [undefined]), []);
  const submit = (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const text = (name: string) => String(form.get(name) ?? "").trim() || undefined;
    const f: AuditFilter = {};
    for (const key of ["kind", "user", "ip", "from", "to"] as const) {
      const value = text(key);
      if (value !== undefined) f[key] = value;
    }
    setFilter(f);
    void load(f, [undefined]);
  };
  const pageNumber = cursors.length;
  return (
    <section aria-label="Audit log">
      <form class="admin-form" onSubmit={submit} aria-label="Filter the audit log">
        <label>
          Kind
          <select name="kind">
            <option value="">Any</option>
            {AUDIT_KINDS.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </label>
        <label>
          User
          <input name="user" autoComplete="off" />
        </label>
        <label>
          IP address
          <input name="ip" autoComplete="off" />
        </label>
        <label>
          From
          <input name="from" type="datetime-local" />
        </label>
        <label>
          To
          <input name="to" type="datetime-local" />
        </label>
        <button type="submit" class="primary">
          Filter
        </button>
      </form>
      <Alert error={error} />
      {entries !== undefined && entries.length === 0 && <p class="muted">No entries.</p>}
      <table class="admin-table">
        <thead>
          <tr>
            <th>When</th>
            <th>Kind</th>
            <th>Account</th>
            <th>IP</th>
            <th>Details</th>
          </tr>
        </thead>
        <tbody>
          {(entries ?? []).map((a) => (
            <tr key={a.id} data-audit={a.kind}>
              <td>{formatFull(a.at)}</td>
              <td>{a.kind}</td>
              <td>{a.username ?? a.userId ?? ""}</td>
              <td>{a.ip ?? ""}</td>
              <td class="small-text">
                {Object.entries(a.details)
                  .map(
                    ([k, v]) => `${k}: ${/At$/.test(k) && typeof v === "number" ? formatFull(v) : String(v)}`,
                  )
                  .join(", ")}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <nav class="admin-pager" aria-label="Audit log pages">
        <button
          type="button"
          class="small"
          disabled={pageNumber === 1}
          onClick={() => void load(filter, cursors.slice(0, -1))}
        >
          Newer entries
        </button>
        <span data-testid="audit-page">Page {pageNumber}</span>
        <button
          type="button"
          class="small"
          disabled={next === null}
          onClick={() => next !== null && void load(filter, [...cursors, next])}
        >
          Older entries
        </button>
      </nav>
    </section>
  );
}
