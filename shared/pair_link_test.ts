import { assertEquals } from "../tests/_helpers/assert.ts";
import { appPairLink, normaliseCode, parsePairText } from "./pair_link.ts";

Deno.test("normaliseCode() accepts a typed code in any case, with spaces and look-alikes", () => {
  assertEquals(normaliseCode("abcd 1234"), "ABCD1234");
  assertEquals(normaliseCode("ABCD-OIL2"), "ABCD0112");
  assertEquals(normaliseCode("ABCD123"), null);
  assertEquals(normaliseCode("ABCD123U"), null);
});

Deno.test("parsePairText() reads the app link, the agentops:// link and a bare code", () => {
  assertEquals(
    parsePairText(
      "https://app.example/#/pair?code=ABCD1234&api=http%3A%2F%2F127.0.0.1%3A54321%2Ffunctions%2Fv1",
    ),
    { code: "ABCD1234", api: "http://127.0.0.1:54321/functions/v1" },
  );
  assertEquals(parsePairText("agentops://pair?token=ABCD1234"), { code: "ABCD1234", api: null });
  assertEquals(parsePairText(" abcd1234 "), { code: "ABCD1234", api: null });
  assertEquals(parsePairText("https://app.example/#/pair?code=nope"), null);
  assertEquals(parsePairText("https://app.example/#/pair?code=ABCD1234&api=javascript:x"), {
    code: "ABCD1234",
    api: null,
  });
});

Deno.test("appPairLink() makes a link that parsePairText() reads back", () => {
  const link = appPairLink(
    "https://app.example/",
    "ABCD1234",
    "http://127.0.0.1:54321/functions/v1",
  );
  assertEquals(link.startsWith("https://app.example/#/pair?code=ABCD1234&api="), true);
  assertEquals(parsePairText(link), {
    code: "ABCD1234",
    api: "http://127.0.0.1:54321/functions/v1",
  });
});
