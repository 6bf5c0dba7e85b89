// The npm package's entry: the `agentops` CLI of client/ on Node. The build gives client/
// the Deno shim and stamps how the package was started, so `agentops install` writes hooks
// that call this installed command.
import process from "node:process";
import { markInstalledPackage } from "../../../client/launcher.ts";
import { run } from "../../../client/cli.ts";
import { hookFetch } from "./hook_fetch.ts";

markInstalledPackage(process.argv[1] ?? "");
const argv = process.argv.slice(2);
// A hook (the command an agent starts on every tool call) sends its few small requests
// with node:http: Node's own fetch would load undici first (src/hook_fetch.ts). Decided
// as run() decides which fetch the interactive commands get.
if (argv.includes("hook")) globalThis.fetch = hookFetch;
await run(argv);
