// The part of the Deno namespace that client/ uses, on Node's built-ins, so the one source
// in client/ runs as the npm package without Deno. The build (packages/agentops/build.mjs)
// imports it as `Deno` into our own modules only, never as a global (libraries that look
// for Deno must keep seeing Node); it refuses a bundle calling a Deno API missing here,
// and one that slips through fails with its name instead of "undefined is not a function".
import fs from "node:fs/promises";
import fsSync from "node:fs";
import process from "node:process";

class NotFound extends Error {
  override name = "NotFound";
}
class AlreadyExists extends Error {
  override name = "AlreadyExists";
}
class PermissionDenied extends Error {
  override name = "PermissionDenied";
}
class IsADirectory extends Error {
  override name = "IsADirectory";
}

/** Node's errno errors as Deno's error classes (client/ tests `instanceof Deno.errors.X`). */
function mapError(error: unknown): unknown {
  const code = (error as { code?: string })?.code;
  const message = (error as Error)?.message ?? String(error);
  const mapped = code === "ENOENT"
    ? new NotFound(message)
    : code === "EEXIST"
    ? new AlreadyExists(message)
    : code === "EACCES" || code === "EPERM"
    ? new PermissionDenied(message)
    : code === "EISDIR"
    ? new IsADirectory(message)
    : null;
  if (!mapped) return error;
  (mapped as { code?: string }).code = code;
  return mapped;
}

async function wrap<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw mapError(error);
  }
}

type Path = string | URL;

function fileInfo(s: import("node:fs").Stats) {
  return {
    isFile: s.isFile(),
    isDirectory: s.isDirectory(),
    isSymlink: s.isSymbolicLink(),
    size: s.size,
    mtime: s.mtime,
    atime: s.atime,
    birthtime: s.birthtime,
    mode: s.mode,
  };
}

export const SHIMMED = [
  "args",
  "build",
  "chmod",
  "Command",
  "cwd",
  "env",
  "errors",
  "execPath",
  "exit",
  "lstat",
  "lstatSync",
  "mkdir",
  "mkdirSync",
  "pid",
  "readDir",
  "readFile",
  "readTextFile",
  "readTextFileSync",
  "realPath",
  "remove",
  "readDirSync",
  "removeSync",
  "rename",
  "renameSync",
  "stat",
  "statSync",
  "stderr",
  "stdin",
  "stdout",
  "writeFile",
  "writeTextFile",
  "writeTextFileSync",
] as const;

function sync<T>(run: () => T): T {
  try {
    return run();
  } catch (error) {
    throw mapError(error);
  }
}

function writer(stream: NodeJS.WriteStream) {
  return {
    write(bytes: Uint8Array): Promise<number> {
      return new Promise((resolve, reject) =>
        stream.write(bytes, (error) => error ? reject(error) : resolve(bytes.length))
      );
    },
  };
}

type Stdio = "piped" | "inherit" | "null";
const NODE_STDIO = { piped: "pipe", inherit: "inherit", null: "ignore" } as const;

/** Deno.Command's `output()` (install.ts asks git whether it tracks a file), on
 * child_process: stdout and stderr piped unless told, stdin null, as in Deno. */
class Command {
  constructor(
    readonly command: string,
    readonly options: {
      args?: string[];
      cwd?: string;
      env?: Record<string, string>;
      stdin?: Stdio;
      stdout?: Stdio;
      stderr?: Stdio;
    } = {},
  ) {}

  output(): Promise<
    {
      success: boolean;
      code: number;
      signal: string | null;
      stdout: Uint8Array;
      stderr: Uint8Array;
    }
  > {
    const o = this.options;
    // node:child_process on first use: a hook never spawns (a few ms of its start on Node).
    return import("node:child_process").then(({ spawn }) =>
      new Promise((resolve, reject) => {
        const child = spawn(this.command, o.args ?? [], {
          cwd: o.cwd,
          env: o.env ? { ...process.env, ...o.env } : process.env,
          stdio: [
            NODE_STDIO[o.stdin ?? "null"],
            NODE_STDIO[o.stdout ?? "piped"],
            NODE_STDIO[o.stderr ?? "piped"],
          ],
        });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout?.on("data", (d: Buffer) => out.push(d));
        child.stderr?.on("data", (d: Buffer) => err.push(d));
        child.once("error", (error) => reject(mapError(error)));
        child.once("close", (code, signal) =>
          resolve({
            success: code === 0,
            code: code ?? 1,
            signal,
            stdout: new Uint8Array(Buffer.concat(out)),
            stderr: new Uint8Array(Buffer.concat(err)),
          }));
      })
    );
  }
}

let stdinChunks: AsyncIterator<Buffer> | undefined;
let stdinLeft: Uint8Array = new Uint8Array(0);

/** Deno.stdin.read on process.stdin's chunks: the bytes read into `into`, null at the end.
 * (The hook reads its payload this way; Readable.toWeb would load Node's web streams.) */
async function readStdin(into: Uint8Array): Promise<number | null> {
  if (stdinLeft.length === 0) {
    stdinChunks ??= process.stdin[Symbol.asyncIterator]();
    const next = await stdinChunks.next();
    if (next.done) return null;
    const chunk = typeof next.value === "string" ? Buffer.from(next.value) : next.value;
    stdinLeft = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length);
  }
  const n = Math.min(into.length, stdinLeft.length);
  into.set(stdinLeft.subarray(0, n));
  stdinLeft = stdinLeft.subarray(n);
  return n;
}

const shim = {
  Command,
  args: process.argv.slice(2),
  pid: process.pid,
  build: { os: process.platform === "win32" ? "windows" : process.platform, arch: process.arch },
  errors: { NotFound, AlreadyExists, PermissionDenied, IsADirectory },
  env: {
    get: (name: string) => process.env[name],
    set: (name: string, value: string) => {
      process.env[name] = value;
    },
    delete: (name: string) => {
      delete process.env[name];
    },
    has: (name: string) => name in process.env,
    toObject: () => ({ ...process.env }) as Record<string, string>,
  },
  cwd: () => process.cwd(),
  execPath: () => process.execPath,
  exit: (code = 0): never => process.exit(code),
  stdin: {
    read: readStdin,
  },
  stdout: writer(process.stdout),
  stderr: writer(process.stderr),
  readTextFile: (path: Path) => wrap(() => fs.readFile(path, "utf8")),
  readFile: (path: Path) => wrap(async () => new Uint8Array(await fs.readFile(path))),
  writeTextFile: (
    path: Path,
    data: string,
    options: { mode?: number; createNew?: boolean; append?: boolean } = {},
  ) =>
    wrap(() =>
      fs.writeFile(path, data, {
        mode: options.mode,
        flag: options.createNew ? "wx" : options.append ? "a" : "w",
      })
    ),
  writeFile: (
    path: Path,
    data: Uint8Array,
    options: { mode?: number; createNew?: boolean; append?: boolean } = {},
  ) =>
    wrap(() =>
      fs.writeFile(path, data, {
        mode: options.mode,
        flag: options.createNew ? "wx" : options.append ? "a" : "w",
      })
    ),
  mkdir: (path: Path, options: { recursive?: boolean; mode?: number } = {}) =>
    wrap(async () => {
      await fs.mkdir(path, options);
    }),
  rename: (from: Path, to: Path) => wrap(() => fs.rename(from, to)),
  chmod: (path: Path, mode: number) => wrap(() => fs.chmod(path, mode)),
  remove: (path: Path, options: { recursive?: boolean } = {}) =>
    wrap(() => fs.rm(path, { recursive: options.recursive ?? false })),
  realPath: (path: Path) => wrap(() => fs.realpath(path)),
  stat: (path: Path) => wrap(async () => fileInfo(await fs.stat(path))),
  lstat: (path: Path) => wrap(async () => fileInfo(await fs.lstat(path))),
  statSync: (path: Path) => sync(() => fileInfo(fsSync.statSync(path))),
  lstatSync: (path: Path) => sync(() => fileInfo(fsSync.lstatSync(path))),
  readTextFileSync: (path: Path) => sync(() => fsSync.readFileSync(path, "utf8")),
  writeTextFileSync: (
    path: Path,
    data: string,
    options: { mode?: number; createNew?: boolean; append?: boolean } = {},
  ) =>
    sync(() =>
      fsSync.writeFileSync(path, data, {
        mode: options.mode,
        flag: options.createNew ? "wx" : options.append ? "a" : "w",
      })
    ),
  mkdirSync: (path: Path, options: { recursive?: boolean; mode?: number } = {}) =>
    sync(() => {
      fsSync.mkdirSync(path, options);
    }),
  removeSync: (path: Path, options: { recursive?: boolean } = {}) =>
    sync(() => fsSync.rmSync(path, { recursive: options.recursive ?? false })),
  renameSync: (from: Path, to: Path) => sync(() => fsSync.renameSync(from, to)),
  readDirSync: (path: Path) =>
    sync(() => fsSync.readdirSync(path, { withFileTypes: true })).map((e) => ({
      name: e.name,
      isFile: e.isFile(),
      isDirectory: e.isDirectory(),
      isSymlink: e.isSymbolicLink(),
    })),
  readDir: (path: Path) => ({
    async *[Symbol.asyncIterator]() {
      const entries = await wrap(() => fs.readdir(path, { withFileTypes: true }));
      for (const e of entries) {
        yield {
          name: e.name,
          isFile: e.isFile(),
          isDirectory: e.isDirectory(),
          isSymlink: e.isSymbolicLink(),
        };
      }
    },
  }),
};

/** The shim, as the `Deno` our modules see under Node. */
export const Deno = new Proxy(shim, {
  get(target, key) {
    if (key in target) return target[key as keyof typeof target];
    if (typeof key === "symbol" || key === "then") return undefined;
    throw new Error(
      `Deno.${key} is not available in the Node build of agentops (packages/agentops/src/deno_shim.ts)`,
    );
  },
}) as unknown as typeof globalThis.Deno;
