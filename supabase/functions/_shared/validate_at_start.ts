// The request schemas checked before any credential (public_request_schemas.ts, not the whole
// api_schemas.ts), validate.ts and valibot, imported statically by the functions whose first
// request is validated before anything can refuse it (pair-start, push-decision). Imported on
// demand they cost those functions ~3–8 ms more CPU than at start (issue 21,
// bench/FINDINGS.md); every other function keeps endpoint.ts's lazy import
// (tests/cold_start_imports_test.ts).
import { PairStartRequest, PushDecisionRequest } from "@shared/public_request_schemas.ts";
import { validate } from "./validate.ts";
import { provideValidation } from "./endpoint.ts";

provideValidation({ PairStartRequest, PushDecisionRequest }, validate);
