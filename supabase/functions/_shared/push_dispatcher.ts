// Delivers the push outbox (SPEC section 6). STUB: replaced by the push work.
import type { Deps } from "./deps.ts";

export interface PushDispatcher {
  /** delivers due outbox rows soon, after the current response */
  deliverSoon(): void;
  /** delivers every due row now; returns how many were attempted */
  sweep(): Promise<number>;
  close(): Promise<void>;
}

export function createPushDispatcher(
  _deps: Deps,
  _options: { fetch?: typeof fetch } = {},
): PushDispatcher {
  return { deliverSoon() {}, sweep: () => Promise.resolve(0), close: () => Promise.resolve() };
}
