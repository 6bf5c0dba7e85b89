// bridge-run-instructions: not built yet.
import { notImplemented } from "../endpoint.ts";

export const bridgeRunInstructions = notImplemented("bridge-run-instructions", "GET", "bridge");
