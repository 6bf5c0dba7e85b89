// mobile-run-instruction: not built yet.
import { notImplemented } from "../endpoint.ts";

export const mobileRunInstruction = notImplemented("mobile-run-instruction", "POST", "mobile");
