/** `parley chat`'s server policy (POLICY-1, POLICY-2): the check against the pin at start, its warnings, and /server to show or acknowledge it. */
import {
  describePolicy,
  describePolicyChange,
  fetchServerPolicy,
  type PolicyCheck,
  PolicyPins,
} from "@parley/client";
import type { CommandTable } from "../commands.js";
import { type ChatContext, ChatError, reason } from "../context.js";

export const serverCommands = {
  server: (ctx, input) => server(ctx, input.accept),
} satisfies Partial<CommandTable>;

/** POLICY-2: checks the server's signed policy against the pin, and warns of a change. */
export async function checkPolicy(ctx: ChatContext): Promise<void> {
  const store = ctx.options.policyPins;
  if (store === undefined) return;
  try {
    const check = await new PolicyPins(store).check(
      ctx.options.baseUrl,
      await fetchServerPolicy(ctx.options.baseUrl, ctx.options.fetch),
    );
    ctx.policy = check;
    if (check.state === "first_use")
      ctx.notice(`pinned this server's signed policy (key ${check.policy.keyFingerprint}): /server shows it`);
    if (check.state === "changed") warnPolicy(ctx, check);
  } catch (e) {
    ctx.warn(`could not check this server's signed policy: ${reason(e)}`);
  }
}

function warnPolicy(ctx: ChatContext, check: Extract<PolicyCheck, { state: "changed" }>): void {
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
  const store = ctx.options.policyPins;
  if (store === undefined) throw new ChatError("this client keeps no policy pins");
  if (accept) {
    const check = ctx.policy;
    if (check?.state !== "changed") throw new ChatError("nothing to acknowledge: the policy is as pinned");
    await new PolicyPins(store).accept(ctx.options.baseUrl, check.policy);
    ctx.policy = { state: "unchanged", policy: check.policy };
    ctx.notice("acknowledged: the server's current policy is pinned");
    return;
  }
  await checkPolicy(ctx);
  const check = ctx.policy;
  if (check === undefined) return;
  ctx.notice("this server keeps and logs (signed by its policy key):");
  ctx.screen.print(...describePolicy(check.policy.statement).map((l) => `  ${l.label}: ${l.text}`));
  ctx.screen.printUnwrapped(`  policy key SHA-256: ${check.policy.keyFingerprint}`);
}
