// pair-complete: not built yet.
import { notImplemented } from "../endpoint.ts";

export const pairComplete = notImplemented("pair-complete", "POST", "mobile");
