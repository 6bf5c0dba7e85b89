import { assert, assertEquals } from "../../../tests/_helpers/assert.ts";
import { Deno as Shim } from "./deno_shim.ts";

Deno.test("the Deno shim maps Node's errors to Deno's classes and honours Deno's options", async () => {
  const dir = await Deno.makeTempDir();
  try {
    let error: unknown;
    try {
      await Shim.readTextFile(`${dir}/missing`);
    } catch (e) {
      error = e;
    }
    assert(error instanceof Shim.errors.NotFound, String(error));
    await Shim.writeTextFile(`${dir}/a`, "one", { mode: 0o600, createNew: true });
    error = undefined;
    try {
      await Shim.writeTextFile(`${dir}/a`, "two", { createNew: true });
    } catch (e) {
      error = e;
    }
    assert(error instanceof Shim.errors.AlreadyExists, String(error));
    assertEquals((await Deno.stat(`${dir}/a`)).mode! & 0o777, 0o600);
    assertEquals(await Shim.readTextFile(`${dir}/a`), "one");
    await Shim.mkdir(`${dir}/x/y`, { recursive: true, mode: 0o700 });
    const names: string[] = [];
    for await (const e of Shim.readDir(dir)) names.push(`${e.name}:${e.isFile ? "f" : "d"}`);
    assertEquals(names.sort(), ["a:f", "x:d"]);
    assertEquals(
      [...Shim.readDirSync(dir)].map((e) => `${e.name}:${e.isFile ? "f" : "d"}`).sort(),
      ["a:f", "x:d"],
    );
    Shim.renameSync(`${dir}/a`, `${dir}/c`);
    Shim.renameSync(`${dir}/c`, `${dir}/a`);
    assert(Shim.statSync(`${dir}/x`).isDirectory);
    await Shim.rename(`${dir}/a`, `${dir}/b`);
    assertEquals(Shim.readTextFileSync(`${dir}/b`), "one");
    await Shim.remove(`${dir}/x`, { recursive: true });
    assertEquals(Shim.env.get("HOME"), Deno.env.get("HOME"));
    const echo = await new Shim.Command("sh", { args: ["-c", "echo hi; exit 3"], stderr: "null" })
      .output();
    assertEquals([echo.success, echo.code, new TextDecoder().decode(echo.stdout)], [
      false,
      3,
      "hi\n",
    ]);
    error = undefined;
    try {
      await new Shim.Command(`${dir}/no-such-program`).output();
    } catch (e) {
      error = e;
    }
    assert(error instanceof Shim.errors.NotFound, String(error));
    let missing: unknown;
    try {
      // deno-lint-ignore no-explicit-any
      (Shim as any).openKv();
    } catch (e) {
      missing = e;
    }
    assert(String(missing).includes("Deno.openKv is not available in the Node build"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
