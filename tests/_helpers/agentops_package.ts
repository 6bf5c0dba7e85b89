// The npm package as a user gets it: `npm pack` of packages/agentops (its prepack builds
// dist/ from client/), then `npm install -g --prefix <tmp> <tarball>` offline (the bundle
// has no runtime dependencies), so tests and the bench run `<prefix>/bin/agentops` on
// Node with no Deno and no checkout behind it.

const PACKAGE_DIR = new URL("../../packages/agentops/", import.meta.url).pathname;

export interface InstalledCli {
  /** <prefix>/bin/agentops */
  bin: string;
  prefix: string;
  tarball: string;
  /** the tarball's size, bytes */
  tarballBytes: number;
  version: string;
  name: string;
  close(): Promise<void>;
}

async function npm(args: string[], cwd: string): Promise<string> {
  const out = await new Deno.Command("npm", {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { npm_config_update_notifier: "false", npm_config_fund: "false" },
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(
      `npm ${args.join(" ")} failed (${out.code}):\n${stdout}\n${
        new TextDecoder().decode(out.stderr)
      }`,
    );
  }
  return stdout;
}

/** Packs and installs the package into a temporary prefix. */
export async function installPackedCli(): Promise<InstalledCli> {
  const dir = await Deno.makeTempDir({ prefix: "agentops-pkg-" });
  try {
    const packed = JSON.parse(
      await npm(["pack", "--json", "--pack-destination", dir], PACKAGE_DIR),
    );
    const tarball = `${dir}/${packed[0].filename}`;
    const prefix = `${dir}/prefix`;
    await npm([
      "install",
      "--global",
      "--prefix",
      prefix,
      "--offline",
      "--no-audit",
      tarball,
    ], dir);
    const pkg = JSON.parse(await Deno.readTextFile(`${PACKAGE_DIR}/package.json`));
    return {
      bin: `${prefix}/bin/agentops`,
      prefix,
      tarball,
      tarballBytes: (await Deno.stat(tarball)).size,
      version: pkg.version,
      name: pkg.name,
      close: () => Deno.remove(dir, { recursive: true }),
    };
  } catch (error) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw error;
  }
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a shell command line (as an agent runs a hook command) with stdin. */
export async function runShell(
  command: string,
  options: { cwd: string; env: Record<string, string>; stdin?: string },
): Promise<RunResult> {
  const child = new Deno.Command("sh", {
    args: ["-c", command],
    cwd: options.cwd,
    env: options.env,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  if (options.stdin) await writer.write(new TextEncoder().encode(options.stdin));
  await writer.close();
  const out = await child.output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout).trim(),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

/** Runs the installed command with arguments. */
export async function runInstalled(
  cli: InstalledCli,
  args: string[],
  options: { cwd: string; env: Record<string, string>; stdin?: string },
): Promise<RunResult> {
  const quoted = [cli.bin, ...args].map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(" ");
  return await runShell(quoted, options);
}
