import { assert, assertEquals, assertRejects } from "../tests/_helpers/assert.ts";
import {
  approvalRule,
  commandParts,
  DEFAULT_POLICY,
  hostTimeoutSeconds,
  loadPolicy,
  PolicySchema,
} from "./policy.ts";

Deno.test("the default policy asks for destructive commands and lets ordinary ones through", () => {
  assertEquals(approvalRule(DEFAULT_POLICY, "rm -rf node_modules"), "rm *");
  assertEquals(approvalRule(DEFAULT_POLICY, "git push --force origin main"), "git push*");
  assertEquals(approvalRule(DEFAULT_POLICY, "npm publish"), "npm publish*");
  assertEquals(approvalRule(DEFAULT_POLICY, "npm test"), null);
  assertEquals(approvalRule(DEFAULT_POLICY, "ls -la"), null);
  assertEquals(approvalRule(DEFAULT_POLICY, "git status"), null);
});

Deno.test("a dangerous command hidden in a compound command still needs approval", () => {
  assertEquals(commandParts("cd x && rm -rf y; ls | wc"), [
    "cd x && rm -rf y; ls | wc",
    "cd x",
    "rm -rf y",
    "ls",
    "wc",
  ]);
  assertEquals(approvalRule(DEFAULT_POLICY, "cd /tmp && rm -rf build"), "rm *");
  assertEquals(approvalRule(DEFAULT_POLICY, "echo ok\nsudo reboot"), "sudo *");
});

Deno.test("allow patterns win, and re: patterns are regular expressions", () => {
  const policy = PolicySchema.parse({
    require_approval: ["re:^(make|just) deploy", "rm *"],
    allow: ["rm -rf node_modules"],
  });
  assertEquals(approvalRule(policy, "rm -rf node_modules"), null);
  assertEquals(approvalRule(policy, "rm -rf /"), "rm *");
  assertEquals(approvalRule(policy, "make deploy prod"), "re:^(make|just) deploy");
});

Deno.test("the host timeout stays above the approval TTL", () => {
  assert(hostTimeoutSeconds(DEFAULT_POLICY) > DEFAULT_POLICY.approval_ttl_seconds);
});

Deno.test("loadPolicy() reads defaults for what a file leaves out and refuses unknown keys", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assertEquals(await loadPolicy(`${dir}/missing.json`), DEFAULT_POLICY);
    await Deno.writeTextFile(
      `${dir}/p.json`,
      JSON.stringify({ fallback: { unreachable: "deny" } }),
    );
    const policy = await loadPolicy(`${dir}/p.json`);
    assertEquals(policy.fallback, { unreachable: "deny", no_device: "ask", timeout: "deny" });
    assertEquals(policy.require_approval, DEFAULT_POLICY.require_approval);
    await Deno.writeTextFile(`${dir}/bad.json`, JSON.stringify({ fallbak: {} }));
    await assertRejects(() => loadPolicy(`${dir}/bad.json`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
