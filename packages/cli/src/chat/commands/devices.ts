/** `parley chat`'s device and identity commands: linking a device, listing and removing devices, resetting the identity, and verifying a person's safety number. */
import type { ParleyClient } from "@parley/client";
import type { CommandTable } from "../commands.js";
import { type ChatContext, ChatError, isYes } from "../context.js";
import { dateTime, safetyNumberRows, suiteLine, TRUST_MARK } from "../format.js";

export const deviceCommands = {
  link: (ctx, input) => link(ctx, input.code),
  devices: (ctx, input) => devices(ctx, input.user),
  "device-remove": (ctx, input) => removeDevice(ctx, input.n),
  "reset-identity": (ctx) => resetIdentity(ctx),
  verify: (ctx, input) => verify(ctx, input.user),
} satisfies Partial<CommandTable>;

/** A person's devices, oldest first: the order /devices numbers them in. */
async function oldestFirst(client: ParleyClient, userId: string) {
  return [...(await client.devices(userId))].sort((a, b) => a.createdAt - b.createdAt);
}

/** The existing device's side of linking (IDENT-3): join, compare the SAS, send the identity. */
async function link(ctx: ChatContext, code: string): Promise<void> {
  const client = ctx.need();
  const joined = await client.linkDevice(code);
  ctx.screen.print(
    `A new device (${joined.deviceId}) asks for your identity. It will read all your new conversations and send as you.`,
    `Code on this screen: ${joined.sas}`,
  );
  const answer = await ctx.screen.ask(`Does the new device show ${joined.sas}? [y/N]`);
  if (isYes(answer)) {
    await joined.confirm();
    ctx.notice("identity sent to the new device");
  } else {
    await joined.cancel();
    ctx.notice("link cancelled");
  }
}

/** A person's devices as their identity key certifies them (issue 14), oldest first. */
async function devices(ctx: ChatContext, name: string | undefined): Promise<void> {
  const client = ctx.need();
  const me = ctx.me();
  const user = name === undefined ? me : await ctx.user(name);
  const list = await oldestFirst(client, user.id);
  ctx.screen.print(
    `${user.id === me.id ? "your devices" : `devices of ${user.username}`} (${list.length}):`,
    ...list.map((d, i) => `  ${i + 1}. added ${dateTime(d.createdAt)}${d.current ? "  (this device)" : ""}`),
  );
}

/** IDENT-5: removes your device number `n` (as /devices lists them), after a warning and a yes. */
async function removeDevice(ctx: ChatContext, n: number): Promise<void> {
  const client = ctx.need();
  const list = await oldestFirst(client, ctx.me().id);
  const device = list[n - 1];
  if (device === undefined) throw new ChatError(`you have no device ${n}: see /devices`);
  if (device.current) throw new ChatError("that is this device: remove it from another one, or /logout");
  ctx.screen.print(
    `Device ${n} (added ${dateTime(device.createdAt)}) will be signed out, erase your keys and history on it, and leave every conversation. This cannot be undone: to use it again, link it anew.`,
  );
  const answer = await ctx.screen.ask(`Remove device ${n}? [y/N]`);
  if (!isYes(answer)) {
    ctx.notice("device kept");
    return;
  }
  await client.removeDevice(device.deviceId);
  ctx.notice(`device ${n} removed: it is signed out and out of every conversation`);
}

/** New identity keys for this person, after a warning, a yes and the password. */
async function resetIdentity(ctx: ChatContext): Promise<void> {
  const client = ctx.need();
  ctx.screen.print(
    "A reset makes new identity keys. Everyone you talk to is told your identity changed (those who verified you must verify you again), and your other devices are signed out.",
  );
  const answer = await ctx.screen.ask("Reset your identity? [y/N]");
  if (!isYes(answer)) {
    ctx.notice("identity left as it was");
    return;
  }
  const password = await ctx.secret("password (to reset your identity):");
  await client.resetIdentity(password);
  ctx.notice("identity reset: new keys made; your other devices were signed out");
}

/**
 * A sign-in on a terminal without the account's identity key: link it from another device,
 * or reset the identity (contacts are warned). Nothing is created silently.
 */
export async function linkOrReset(ctx: ChatContext, client: ParleyClient): Promise<void> {
  const choice = await ctx.screen.ask(
    "This account has an identity on another device. [l]ink this terminal from it, or [r]eset your identity (your contacts will be warned)? [l/r]",
  );
  if (choice !== undefined && /^\s*r(eset)?\s*$/i.test(choice)) {
    const password = await ctx.secret("password (to reset your identity):");
    await client.resetIdentity(password);
    ctx.notice("identity reset: new keys made; your other devices were signed out");
    return;
  }
  const pending = await client.startLink();
  ctx.screen.print(
    `On a device where you are signed in, enter: /link ${pending.code}`,
    `(or scan: ${pending.qrPayload})`,
  );
  const sas = await pending.sas;
  const answer = await ctx.screen.ask(`Does the other device show ${sas}? [y/N]`);
  if (!isYes(answer)) {
    await pending.cancel();
    throw new ChatError("link cancelled");
  }
  pending.confirm();
  await pending.done;
  ctx.notice("this terminal is linked to your identity");
}

async function verify(ctx: ChatContext, name: string): Promise<void> {
  const client = ctx.need();
  const user = await ctx.user(name);
  const sn = await client.safetyNumber(user.id);
  const state =
    sn.trust === "verified"
      ? "verified"
      : sn.trust === "changed"
        ? "IDENTITY CHANGED since you verified"
        : sn.trust === "changed_unverified"
          ? "identity changed since first seen"
          : "not verified yet";
  ctx.screen.print(
    `Safety number of you and ${user.username} (${state}):`,
    ...safetyNumberRows(sn.groups),
    `Compare it with the one ${user.username} sees, in person or over a channel you trust.`,
    ...(ctx.state.current === undefined ? [] : [suiteLine(await client.suite(ctx.state.current.id))]),
  );
  const answer = await ctx.screen.ask(`Mark ${user.username} as verified? [y/N]`);
  if (isYes(answer)) {
    await ctx.chat().markVerified(user.id);
    ctx.notice(`${user.username} is verified ${TRUST_MARK.verified}`);
  } else {
    ctx.notice(`${user.username} left ${sn.trust === "verified" ? "verified" : "unverified"}`);
  }
}
