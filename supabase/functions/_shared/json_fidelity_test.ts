import { assertEquals } from "../../../tests/_helpers/assert.ts";
import { decimalValue, isExactNumber, unfaithfulJson } from "./json_fidelity.ts";

function check(text: string) {
  return unfaithfulJson(text, JSON.parse(text));
}

Deno.test("decimalValue() writes equal numbers alike", () => {
  for (const same of [["15", "1.5e1", "15.000", "0.15E2", "1500e-2"], ["0", "-0", "0.0e5"]]) {
    for (const text of same) assertEquals(decimalValue(text), decimalValue(same[0]), text);
  }
  assertEquals(decimalValue("-0.001"), "-0.1e-2");
});

Deno.test("isExactNumber() accepts what a double holds exactly as written, and nothing else", () => {
  for (const ok of ["1", "1.0", "1e2", "0.1", "-2.5e-7", "9007199254740991", "1e21", "-0"]) {
    assertEquals(isExactNumber(ok, JSON.parse(ok)), true, ok);
  }
  for (
    const bad of [
      "1e309",
      "9007199254740993",
      "0.1000000000000000000001",
      "1e-400",
      "123456789012345678901",
    ]
  ) {
    assertEquals(isExactNumber(bad, JSON.parse(bad)), false, bad);
  }
});

Deno.test("unfaithfulJson() names the first field that would be stored differently", () => {
  assertEquals(check('{"payload": {"a": [1, 2, 1.0, "x", null, true]}}'), null);
  assertEquals(check('{"payload": {"a": [1, 9007199254740993]}}')?.path, "payload.a.1");
  assertEquals(check('{"payload": {"big": 1e309}}')?.path, "payload.big");
  assertEquals(check('{"payload": {"s": "\\ud800"}}')?.path, "payload.s");
  assertEquals(check('{"payload": {"s": "\\u0000"}}')?.path, "payload.s");
  assertEquals(
    check('{"payload": {"\\udfff": 1}}')?.message,
    "has a key that contains a lone UTF-16 surrogate",
  );
  assertEquals(check('{"payload": {"__proto__": {"admin": true}}}')?.path, "payload.__proto__");
  assertEquals(check('{"ok": "😀 \\ud83d\\ude00"}'), null, "a surrogate pair is fine");
  // deeper than the schema allows: left to the schema
  assertEquals(check("[".repeat(1000) + "1e309" + "]".repeat(1000)), null);
});
