// `npm run dev`'s configuration check, before anything starts: the functions' own schema
// (supabase/functions/_shared/config.ts) over the environment dev.mjs will pass, one line
// per problem on stderr, exit 1 if any. `deno run -A scripts/check_config.ts`.
import { parseConfig } from "../supabase/functions/_shared/config.ts";

const result = parseConfig(Deno.env.toObject());
if (result.issues) {
  for (const issue of result.issues) console.error(`${issue.path}: ${issue.message}`);
  Deno.exit(1);
}
