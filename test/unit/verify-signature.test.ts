import { describe, expect, it } from "@jest/globals";
import { createHmac } from "node:crypto";
import { signatureMatches } from "../../src/ingress/verify-signature.js";

const BODY = Buffer.from('{"action":"opened","title":"Zoë ☃"}', "utf8");
// Computed apart from the code under test, as GitHub signs: the secret's text is the key.
const signed = (secret: string, body: Buffer = BODY) => `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;

describe("signatureMatches", () => {
  it("accepts the body signed with any of the secrets", async () => {
    expect(await signatureMatches(BODY, signed("whsec_new"), ["whsec_new"])).toBe(true);
    expect(await signatureMatches(BODY, signed("whsec_old"), ["whsec_new", "whsec_old"])).toBe(true);
  });

  it.each([
    ["another secret", signed("whsec_other")],
    ["another body", signed("whsec_new", Buffer.from("{}"))],
    ["uppercase hex", `sha256=${signed("whsec_new").slice(7).toUpperCase()}`],
    ["no prefix", signed("whsec_new").slice(7)],
    ["a short signature", signed("whsec_new").slice(0, -2)],
    ["no signature", undefined],
  ])("refuses %s", async (_, signature) => {
    expect(await signatureMatches(BODY, signature, ["whsec_new"])).toBe(false);
  });

  it("refuses an empty body and never matches an empty secret", async () => {
    expect(await signatureMatches(Buffer.alloc(0), signed("whsec_new", Buffer.alloc(0)), ["whsec_new"])).toBe(false);
    expect(await signatureMatches(BODY, signed(""), [""])).toBe(false);
  });
});
