import { serveEndpoint } from "../_shared/serve.ts";
import { mobileRunInstruction } from "../_shared/endpoints/mobile_run_instruction.ts";

serveEndpoint(mobileRunInstruction);
