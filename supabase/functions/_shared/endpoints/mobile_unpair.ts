// mobile-unpair: not built yet.
import { notImplemented } from "../endpoint.ts";

export const mobileUnpair = notImplemented("mobile-unpair", "POST", "mobile");
