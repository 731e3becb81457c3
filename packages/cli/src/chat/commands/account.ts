/** `parley chat`'s account commands: registering and signing in (with the second step), two-step sign-in, password, recovery codes, sessions, signing out, deleting the account, blocking and following people. */
import { isParleyClientError, type ParleyClient, type SignInStep } from "@parley/client";
import { passwordRefusal, type UserView } from "@parley/protocol";
import { toString as qrToString } from "qrcode";
import { printable } from "../../printable.js";
import type { CommandTable } from "../commands.js";
import { type ChatContext, ChatError, isYes } from "../context.js";
import { dateTime, passwordRequirements } from "../format.js";

export const accountCommands = {
  register: async (ctx, input) => {
    const policy = await ctx.passwordPolicy();
    if (policy !== undefined) ctx.notice(passwordRequirements(policy));
    const password = await ctx.secret(`Password for ${input.user}: `);
    const again = await ctx.secret("The same password again: ");
    if (password !== again) throw new ChatError("the two passwords differ; nothing was registered");
    try {
      return await ctx.signIn(input.user, (c) => c.register(input.user, password, input.inviteCode));
    } catch (e) {
      if (!isParleyClientError(e, "password_policy")) throw e;
      throw new ChatError(`${passwordRefusal(e.failedRules ?? [], policy)} Nothing was registered.`);
    }
  },
  login: async (ctx, input) => {
    const password = await ctx.secret(`Password for ${input.user}: `);
    return ctx.signIn(input.user, async (c) => {
      const step = await c.signIn(input.user, password);
      return step.done ? step.user : secondStep(ctx, c, step);
    });
  },
  "2fa": (ctx, input) => twoFactor(ctx, input.action),
  logout: (ctx) => logout(ctx),
  password: (ctx) => changePassword(ctx),
  "recovery-codes": (ctx) => recoveryCodes(ctx),
  sessions: (ctx) => sessions(ctx),
  "session-end": (ctx, input) => endSession(ctx, input.n),
  "delete-account": (ctx) => deleteAccount(ctx),
  block: async (ctx, input) => {
    const user = await ctx.user(input.user);
    await ctx.chat().block(user.id);
    ctx.notice(`blocked ${user.username}: their invitations will not reach you (they are not told)`);
  },
  unblock: async (ctx, input) => {
    const user = await ctx.user(input.user);
    await ctx.chat().unblock(user.id);
    ctx.notice(`unblocked ${user.username}`);
  },
  blocks: async (ctx) => {
    const list = await ctx.chat().blocked();
    ctx.screen.print(
      `blocked (${list.length}):`,
      ...list.map((b) => `  ${b.username}, since ${dateTime(b.since)}`),
    );
  },
  subscribe: async (ctx, input) => {
    const user = await ctx.user(input.user);
    await ctx.chat().follow(user.id);
    await ctx.chat().refreshPeople();
    const online = ctx.chat().snapshot.people.find((u) => u.id === user.id)?.online;
    ctx.notice(
      `following ${user.username} (${online ? "online" : "offline"} now); you will see when they come and go, and the public rooms they post in`,
    );
  },
  unsubscribe: async (ctx, input) => {
    const user = await ctx.user(input.user);
    await ctx.chat().unfollow(user.id);
    ctx.notice(`no longer following ${user.username}`);
  },
} satisfies Partial<CommandTable>;

/** AUTH-8: a new password; the account's other sessions end, this one stays. */
async function changePassword(ctx: ChatContext): Promise<void> {
  const client = ctx.need();
  const current = await ctx.secret("Current password: ");
  const policy = await ctx.passwordPolicy();
  if (policy !== undefined) ctx.notice(passwordRequirements(policy));
  const next = await ctx.secret("New password: ");
  const again = await ctx.secret("The same new password again: ");
  if (next !== again) throw new ChatError("the two new passwords differ; the password is unchanged");
  try {
    await client.changePassword(current, next);
  } catch (e) {
    if (!isParleyClientError(e, "password_policy")) throw e;
    throw new ChatError(`${passwordRefusal(e.failedRules ?? [], policy)} The password is unchanged.`);
  }
  ctx.notice("password changed; your other sessions have ended");
}

/**
 * AUTH-12: ten new recovery codes, printed once for the person to write down or print; the
 * unused codes of the earlier set stop working.
 */
async function recoveryCodes(ctx: ChatContext): Promise<void> {
  const password = await ctx.secret("Password: ");
  const codes = await ctx.chat().createRecoveryCodes(password);
  ctx.notice("your new recovery codes, shown only now; your earlier codes no longer work:");
  ctx.screen.print(
    ...codes.map((c, i) => `  ${String(i + 1).padStart(2)}. ${printable(c)}`),
    '  each works once, with "parley reset-password" or "Forgot password?" in a browser',
  );
}

/** ACCT-1: where the account is signed in, numbered for `/sessions end <n>`. */
async function sessions(ctx: ChatContext): Promise<void> {
  const list = await ctx.need().sessions();
  ctx.screen.print(
    `your sessions (${list.length}):`,
    ...list.map(
      (s, i) =>
        `  ${i + 1}. ${sessionDevice(s.userAgent)} from ${s.ip ?? "?"}, signed in ${dateTime(s.createdAt)}, last seen ${s.lastSeenAt === null ? "never" : dateTime(s.lastSeenAt)}${s.current ? "  (this session)" : ""}`,
    ),
  );
}

/** ACCT-2: ends session number `n` of /sessions. */
async function endSession(ctx: ChatContext, n: number): Promise<void> {
  const client = ctx.need();
  const s = (await client.sessions())[n - 1];
  if (s === undefined) throw new ChatError(`you have no session ${n}: see /sessions`);
  if (s.current) throw new ChatError("that is this session: /logout to end it");
  await client.endSession(s.id);
  ctx.notice(`session ${n} ended: it is signed out`);
}

/** ACCT-3: deletes the account after a warning, the password and the account's name typed out. */
async function deleteAccount(ctx: ChatContext): Promise<void> {
  const client = ctx.need();
  const name = ctx.me().username;
  ctx.screen.print(
    "Deleting your account removes you from every room and conversation and deletes your devices, keys, files and sessions on the server. It cannot be undone, and the name cannot be registered again.",
  );
  const answer = await ctx.screen.ask(`Type your username (${name}) to delete the account:`);
  if (answer?.trim() !== name) {
    ctx.notice("account kept");
    return;
  }
  const password = await ctx.secret("password (to delete your account): ");
  const deleted = await client.deleteAccount(password);
  await ctx.closeClient();
  await ctx.options.lastUser.set(undefined);
  await ctx.options.eraseStore(name);
  ctx.notice(
    `account ${name} deleted: you left ${deleted.rooms} conversation(s); ${deleted.devices} device(s), your keys, ${deleted.files} file(s) and ${deleted.sessions} session(s) were deleted on the server, and this device's keys and history erased`,
  );
}

/**
 * AUTH-14: the sign-in's second step: a code (a few tries on one challenge), or, when the
 * server requires TOTP of an account without it, enrolment first.
 */
export async function secondStep(
  ctx: ChatContext,
  client: ParleyClient,
  step: Extract<SignInStep, { done: false }>,
): Promise<UserView> {
  if (step.next === "totp_enrol") {
    ctx.warn("this server requires two-step sign-in for this account: set it up now");
    await showEnrolment(ctx, await client.signInEnrol(step.challenge));
    const code = await ctx.secret("Code from your authenticator app: ", "no code given");
    const done = await client.signInConfirm(step.challenge, code);
    showRecoveryCodes(ctx, done.recoveryCodes);
    return done.user;
  }
  for (let tries = 0; ; tries++) {
    const code = await ctx.secret("Authenticator code (or a recovery code): ", "no code given");
    try {
      return await client.signInWithCode(step.challenge, code);
    } catch (e) {
      if (!isParleyClientError(e, "totp_invalid") || tries >= 3) throw e;
      ctx.warn(`${e.message} Try again.`);
    }
  }
}

async function showEnrolment(ctx: ChatContext, enrolment: { secret: string; uri: string }): Promise<void> {
  ctx.notice("scan this with an authenticator app, or type the key into it:");
  ctx.screen.printUnwrapped(await qrToString(enrolment.uri, { type: "terminal", small: true }));
  ctx.screen.printUnwrapped(`key: ${enrolment.secret}`, enrolment.uri);
}

function showRecoveryCodes(ctx: ChatContext, codes: readonly string[]): void {
  ctx.notice("two-step recovery codes (each works once in place of a code; shown only now):");
  ctx.screen.printUnwrapped(...codes.map((c) => `  ${c}`));
}

/** AUTH-13: /2fa, /2fa on, /2fa off. */
async function twoFactor(ctx: ChatContext, action: "status" | "on" | "off"): Promise<void> {
  const client = ctx.need();
  if (action === "status") {
    const status = await client.twoFactorStatus();
    ctx.notice(
      status.enabled
        ? `two-step sign-in is on; ${status.recoveryCodesLeft} recovery codes left${status.required ? " (this server requires it)" : ""}`
        : "two-step sign-in is off: /2fa on sets it up",
    );
    return;
  }
  const password = await ctx.secret("Password: ");
  if (action === "off") {
    const code = await ctx.secret("Authenticator code (or a recovery code): ", "no code given");
    await client.disableTwoFactor(password, code);
    await ctx.model?.refreshTwoFactor();
    ctx.notice("two-step sign-in is off");
    return;
  }
  await showEnrolment(ctx, await client.enrolTwoFactor(password));
  const code = await ctx.secret("Code from your authenticator app: ", "no code given");
  showRecoveryCodes(ctx, await client.confirmTwoFactor(code));
  await ctx.model?.refreshTwoFactor();
  ctx.notice("two-step sign-in is on");
}

async function logout(ctx: ChatContext): Promise<void> {
  const client = ctx.need();
  const name = ctx.me().username;
  const answer = await ctx.screen.ask(`Erase this device's keys and history of ${name} too? [y/N]`);
  const erase = isYes(answer);
  try {
    await client.logout();
  } finally {
    await ctx.closeClient();
    await ctx.options.lastUser.set(undefined);
  }
  if (erase) {
    await ctx.options.eraseStore(name);
    ctx.notice(`${name} signed out; this device's keys and history are erased`);
  } else {
    ctx.notice(`${name} signed out (this device's keys and history stay, sealed)`);
  }
}

/** A short name for a session's User-Agent (ACCT-1). */
function sessionDevice(userAgent: string | null): string {
  if (userAgent === null || userAgent === "") return "unknown device";
  if (!/Mozilla/.test(userAgent)) return userAgent.slice(0, 40);
  const browser = /Firefox\//.test(userAgent)
    ? "Firefox"
    : /Chrome\/|Chromium\//.test(userAgent)
      ? "Chrome"
      : /Safari\//.test(userAgent)
        ? "Safari"
        : "browser";
  const system = /Android/.test(userAgent)
    ? " on Android"
    : /iPhone|iPad/.test(userAgent)
      ? " on iOS"
      : /Windows/.test(userAgent)
        ? " on Windows"
        : /Mac OS X/.test(userAgent)
          ? " on macOS"
          : /Linux/.test(userAgent)
            ? " on Linux"
            : "";
  return `${browser}${system}`;
}
