// Which `agentops` is running: the npm package (packages/agentops, built from this folder)
// or `deno run client/cli.ts`, and the command that starts this same CLI again, for the
// hooks `agentops install` writes.
import pkg from "../packages/agentops/package.json" with { type: "json" };

const PACKAGE_NAME: string = pkg.name;
export const VERSION: string = pkg.version;

interface InstalledPackage {
  /** the path the command was started by (process.argv[1]) */
  binPath: string;
  /** started by npx from its cache (which npm may clean): hooks go through npx again */
  npx: boolean;
  /** the shell command that starts this CLI: what the hooks should call */
  launcher: string;
}

let installed: InstalledPackage | null = null;

/** One argument for a POSIX shell (the hooks run under `sh -c`): bare when plainly safe,
 * else single-quoted (double quotes would still expand `$` and backquotes). */
function quote(s: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** The package's launcher for a bin path: the bin itself when it is the `agentops` link npm
 * made (global or project install), `npx --package=<name>@<version> agentops` from the npx
 * cache, else `<node> <file>`. The command names `agentops` before ` hook`, which is how
 * install.ts recognises its own entries. */
export function packageLauncher(binPath: string, nodePath: string): InstalledPackage {
  const npx = /[\\/]_npx[\\/]/.test(binPath);
  const base = binPath.split(/[\\/]/).pop() ?? "";
  const launcher = npx
    ? `npx --yes --package=${PACKAGE_NAME}@${VERSION} agentops`
    : /^agentops(\.cmd)?$/.test(base)
    ? quote(binPath)
    : `${quote(nodePath)} ${quote(binPath)}`;
  return { binPath, npx, launcher };
}

/** Called by the package's entry (packages/agentops/src/main.ts) only (and by tests, with
 * null to forget it again). */
export function markInstalledPackage(binPath: string | null, nodePath = Deno.execPath()): void {
  installed = binPath === null ? null : packageLauncher(binPath, nodePath);
}

/** The installed package this CLI runs as, or null under `deno run client/cli.ts`. */
export function installedPackage(): InstalledPackage | null {
  return installed;
}
