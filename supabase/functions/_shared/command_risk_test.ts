import { assertEquals } from "../../../tests/_helpers/assert.ts";
import { isDangerousCommand } from "./command_risk.ts";

Deno.test("isDangerousCommand() flags rm, sudo, dd and git push anywhere in a chain", async () => {
  for (
    const command of ["rm -rf /", "cd x && sudo make install", "ls; dd if=a of=b", "git push -f"]
  ) {
    assertEquals(await isDangerousCommand(command), true, command);
  }
});

Deno.test("isDangerousCommand() lets ordinary commands through", async () => {
  for (const command of ["npm test", "git status", "ls -la | grep rm", "terraformish plan"]) {
    assertEquals(await isDangerousCommand(command), false, command);
  }
});
