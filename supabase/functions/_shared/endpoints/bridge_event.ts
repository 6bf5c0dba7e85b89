// bridge-event: not built yet.
import { notImplemented } from "../endpoint.ts";

export const bridgeEvent = notImplemented("bridge-event", "POST", "bridge");
