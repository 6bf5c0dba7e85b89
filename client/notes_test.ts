import { assertEquals } from "../tests/_helpers/assert.ts";
import { rememberNote, takeNotes } from "./notes.ts";

Deno.test("a remembered note is handed over once, by command or with the session's rest", async () => {
  const project = await Deno.makeTempDir();
  try {
    const key = { agent: "codex", session: "s1", command: "git push --force" };
    await rememberNote(project, key, "open a PR next time");
    await rememberNote(project, { ...key, command: "rm -rf dist" }, "keep dist/README");
    await rememberNote(project, { ...key, session: "s2" }, "other session");
    assertEquals(await takeNotes(project, { ...key, command: "ls" }), []);
    const [first] = await takeNotes(project, key);
    assertEquals([first.command, first.note], ["git push --force", "open a PR next time"]);
    assertEquals(await takeNotes(project, key), []);
    const rest = await takeNotes(project, { agent: "codex", session: "s1" });
    assertEquals(rest.map((n) => n.note), ["keep dist/README"]);
    assertEquals((await takeNotes(project, { agent: "codex", session: "s2" })).length, 1);
  } finally {
    await Deno.remove(project, { recursive: true });
  }
});

Deno.test("two hooks taking the same note at once hand it over once", async () => {
  const project = await Deno.makeTempDir();
  try {
    const key = { agent: "claude-code", session: "s", command: "rm -rf x" };
    await rememberNote(project, key, "note");
    const [a, b] = await Promise.all([takeNotes(project, key), takeNotes(project, key)]);
    assertEquals(a.length + b.length, 1);
  } finally {
    await Deno.remove(project, { recursive: true });
  }
});
