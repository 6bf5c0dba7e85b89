// The npm package's entry: the `agentops` CLI of client/ on Node. The build gives client/
// the Deno shim and stamps how the package was started, so `agentops install` writes hooks
// that call this installed command.
import process from "node:process";
import { markInstalledPackage } from "../../../client/launcher.ts";
import { run } from "../../../client/cli.ts";

markInstalledPackage(process.argv[1] ?? "");
await run(process.argv.slice(2));
