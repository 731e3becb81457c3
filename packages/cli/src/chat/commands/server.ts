/** `parley chat`'s server policy (POLICY-1, POLICY-2): the check against the pin at start, its warnings, and /server to show or acknowledge it. */
import { describePolicy, describePolicyChange, type PolicyCheck, ServerPolicyWatch } from "@parley/client";
import type { CommandTable } from "../commands.js";
import { type ChatContext, ChatError, reason } from "../context.js";

export const serverCommands = {
  server: (ctx, input) => server(ctx, input.accept),
} satisfies Partial<CommandTable>;

/** POLICY-2: one watch per chat: checked at start, by the model on every connection, and by /server. */
const watches = new WeakMap<ChatContext, ServerPolicyWatch>();

export function policyWatch(ctx: ChatContext): ServerPolicyWatch | undefined {
  const pins = ctx.options.policyPins;
  if (pins === undefined) return undefined;
  let watch = watches.get(ctx);
  if (watch === undefined) {
    watch = new ServerPolicyWatch({ baseUrl: ctx.options.baseUrl, fetch: ctx.options.fetch, pins });
    watches.set(ctx, watch);
  }
  return watch;
}

/** POLICY-2: checks the server's signed policy against the pin, and warns of a change. */
export async function checkPolicy(ctx: ChatContext): Promise<void> {
  const watch = policyWatch(ctx);
  if (watch === undefined) return;
  const check = await watch.check();
  if (check === undefined) {
    ctx.warn(`could not check this server's signed policy: ${reason(watch.state.error)}`);
    return;
  }
  ctx.policy = check;
  if (check.state === "first_use")
    ctx.notice(`pinned this server's signed policy (key ${check.policy.keyFingerprint}): /server shows it`);
  if (check.state === "changed") warnPolicy(ctx, check);
}

export function warnPolicy(ctx: ChatContext, check: Extract<PolicyCheck, { state: "changed" }>): void {
  if (check.keyChanged)
    ctx.warn(
      `THIS SERVER'S POLICY KEY CHANGED: ${check.policy.keyFingerprint} (was ${check.pinnedKeyFingerprint}); another machine at this address, or its data was lost. Check with the operator.`,
    );
  else ctx.warn("this server's policy changed:");
  for (const c of check.changes) ctx.warn(`  ${describePolicyChange(c)}`);
  ctx.warn("/server shows it; /server accept acknowledges the change");
}

/** POLICY-1: /server shows the signed policy; /server accept pins a changed one. */
async function server(ctx: ChatContext, accept: boolean): Promise<void> {
  const watch = policyWatch(ctx);
  if (watch === undefined) throw new ChatError("this client keeps no policy pins");
  if (accept) {
    if (watch.state.check?.state !== "changed")
      throw new ChatError("nothing to acknowledge: the policy is as pinned");
    await (ctx.model?.acceptServerPolicy() ?? watch.accept());
    ctx.policy = watch.state.check;
    ctx.notice("acknowledged: the server's current policy is pinned");
    return;
  }
  if (ctx.model !== undefined) await ctx.model.checkServer();
  else await watch.check();
  const server = ctx.model?.snapshot.server;
  const check = server?.policy ?? watch.state.check;
  ctx.policy = check;
  if (check === undefined) {
    ctx.warn(`could not check this server's signed policy: ${reason(watch.state.error)}`);
    return;
  }
  if (check.state === "changed") warnPolicy(ctx, check);
  ctx.notice("this server keeps and logs (signed by its policy key):");
  ctx.screen.print(...describePolicy(check.policy.statement).map((l) => `  ${l.label}: ${l.text}`));
  ctx.screen.printUnwrapped(`  policy key SHA-256: ${check.policy.keyFingerprint}`);
  const totp = server?.totp;
  if (totp !== undefined)
    ctx.screen.print(
      `  this account's two-step sign-in: ${totp.enabled ? "on" : "off"}${totp.required ? " (required here)" : ""}`,
    );
}
