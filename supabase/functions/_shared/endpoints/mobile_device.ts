// mobile-device: not built yet.
import { notImplemented } from "../endpoint.ts";

export const mobileDevice = notImplemented("mobile-device", "POST", "mobile");
