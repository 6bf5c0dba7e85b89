// pair-start: not built yet.
import { notImplemented } from "../endpoint.ts";

export const pairStart = notImplemented("pair-start", "POST", "none");
