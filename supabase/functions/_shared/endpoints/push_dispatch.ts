// push-dispatch: not built yet.
import { notImplemented } from "../endpoint.ts";

export const pushDispatch = notImplemented("push-dispatch", "POST", "none");
