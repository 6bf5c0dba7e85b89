// Every export of supabase/functions, shared and client is used by another file (issue 20,
// item 6): what only its own module uses is not exported (scripts/unused_exports.ts).
import { assertEquals } from "../_helpers/assert.ts";
import { unusedExports } from "../../scripts/unused_exports.ts";
import { CHECKED_DIRS } from "../../scripts/import_cycles.ts";

Deno.test(`every export of ${CHECKED_DIRS.join(", ")} is used by another file`, async () => {
  assertEquals(await unusedExports(), []);
});

Deno.test("unusedExports() reports an export that no other file names", async () => {
  const dir = await Deno.makeTempDir({ dir: new URL("../../client/", import.meta.url).pathname });
  const name = `lonely_${crypto.randomUUID().replaceAll("-", "")}`;
  const file = `${dir}/${name}.ts`;
  try {
    await Deno.writeTextFile(file, `export const ${name} = 1;\nexport const CHECKED_DIRS = 2;\n`);
    const rel = file.slice(file.indexOf("client/"));
    assertEquals(await unusedExports(["client"]), [`${rel}: ${name}`]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
