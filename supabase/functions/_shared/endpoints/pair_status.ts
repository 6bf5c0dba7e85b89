// pair-status: not built yet.
import { notImplemented } from "../endpoint.ts";

export const pairStatus = notImplemented("pair-status", "GET", "bridge");
