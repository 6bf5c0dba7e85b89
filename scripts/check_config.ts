// `npm run dev`'s configuration check, before anything starts: the functions' own schema
// (supabase/functions/_shared/config.ts) over the environment dev.mjs will pass, one line
// per problem on stderr, exit 1 if any. `deno run -A scripts/check_config.ts`.
import { ConfigSchema } from "../supabase/functions/_shared/config.ts";

const env = Object.fromEntries(
  Object.entries(Deno.env.toObject()).filter(([, v]) => v !== ""),
);
const result = ConfigSchema.safeParse(env);
if (!result.success) {
  for (const issue of result.error.issues) {
    console.error(`${issue.path.join(".") || "configuration"}: ${issue.message}`);
  }
  Deno.exit(1);
}
