// The assertions tests use: node:assert's strict checks (no jsr: imports on these machines).
import { strict as assert } from "node:assert";

export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  assert.deepStrictEqual(actual, expected, message);
}

export function assertNotEquals<T>(actual: T, expected: T, message?: string): void {
  assert.notDeepStrictEqual(actual, expected, message);
}

export function assert_(condition: unknown, message?: string): asserts condition {
  assert.ok(condition, message);
}

export { assert_ as assert };

export function assertMatch(actual: string, pattern: RegExp, message?: string): void {
  assert.match(actual, pattern, message);
}

export async function assertRejects(fn: () => Promise<unknown>, message?: string): Promise<void> {
  await assert.rejects(fn, message);
}
