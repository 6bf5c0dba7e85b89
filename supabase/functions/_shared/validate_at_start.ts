// The schemas, validate.ts and valibot imported statically, for the functions whose first
// request is validated before anything can refuse it (pair-start, push-decision: no auth
// step in the way). Imported on demand they cost those functions ~3–8 ms more CPU than
// imported at start (issue 21, bench/FINDINGS.md); every other function keeps the lazy import
// of endpoint.ts (tests/cold_start_imports_test.ts).
import * as schemas from "@shared/api_schemas.ts";
import * as validate from "./validate.ts";
import { provideValidation } from "./endpoint.ts";

provideValidation(schemas, validate);
