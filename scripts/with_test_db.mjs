// Runs a command with a throwaway migrated cluster (the env tests/_helpers/stack.ts reads),
// e.g. `node scripts/with_test_db.mjs deno run -A bench/ingest.ts`.
import { spawn } from "node:child_process";
import { repoRoot, startTestCluster } from "./local_postgres.mjs";

const [cmd, ...args] = process.argv.slice(2);
if (!cmd) {
  console.error("usage: node scripts/with_test_db.mjs <command> [args…]");
  process.exit(2);
}
const cluster = await startTestCluster();
const code = await new Promise((resolve) => {
  const child = spawn(cmd, args, {
    cwd: repoRoot,
    env: {
      ...process.env,
      ...cluster.env,
      PATH: `${repoRoot}/node_modules/.bin:${process.env.PATH}`,
    },
    stdio: "inherit",
  });
  child.on("exit", (c) => resolve(c ?? 1));
});
await cluster.stop();
process.exit(code);
