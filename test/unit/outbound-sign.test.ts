import { describe, expect, it } from "@jest/globals";
import { entourageSignature, signNotification, standardWebhookContent, standardWebhookSignature } from "../../src/outbound/sign.js";

const GUIDE_BODY = '{"event":"task.completed","task_id":601,"team_id":"team-uuid","timestamp":"2026-02-27T14:30:00Z"}';
const ID = "0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
const TIMESTAMP = 1772202600;

// Expected values computed apart, with Python's hmac module (the guide's compute_signature for the first column).
const VECTORS: { secret: string; body: string; entourage: string; standard: string }[] = [
  {
    secret: "whsec_abc123", body: "{}",
    entourage: "sha256=b8e41d05e1ec86afe86ae177dccfb021afc2e6633a3c8dcee569538f5f2b8270",
    standard: "v1,UUZFXuB1LfP3I1upEgG9IqRvIJ11IIGuEy884gNu6QU=",
  },
  {
    secret: "whsec_abc123", body: GUIDE_BODY,
    entourage: "sha256=e84ae6a12d067764206f7ecf8c36785f10274a9077f6e1ab036567347b7b8fcd",
    standard: "v1,cgONkoYERRO8NqG8dKjNI7pmHUKZlueZr3nZnAGUgRI=",
  },
  {
    secret: "s3cr3t", body: "",
    entourage: "sha256=3c81cc9496e1c25250f6ccb85f697c1bb623e3480d6538ad8cb6a6648142777d",
    standard: "v1,Xxh84Q0JRKfytoZNgo+rWDkoYJBykMdvCCKMq9euaro=",
  },
  {
    secret: "whsec_ünï", body: '{"title":"Zoë ☃"}',
    entourage: "sha256=e6c552da8bed5a5d49220b2e04ff2d128bffbf53cbc0fd231cd716359e8a999f",
    standard: "v1,Fj2QDH4VQM2j1GKGtYvwN1QzILnCJBg07ODgbqQa0Nw=",
  },
];

describe("entourageSignature", () => {
  it.each(VECTORS)("signs $body with $secret as sha256=<hex>", ({ secret, body, entourage }) => {
    expect(entourageSignature(secret, body)).toBe(entourage);
    expect(entourageSignature(secret, Buffer.from(body, "utf8"))).toBe(entourage);
  });

  it("changes with any byte of the body or the secret", () => {
    expect(entourageSignature("whsec_abc123", GUIDE_BODY.replace("601", "602"))).not.toBe(VECTORS[1]!.entourage);
    expect(entourageSignature("whsec_abc124", GUIDE_BODY)).not.toBe(VECTORS[1]!.entourage);
    // Re-encoding the same JSON changes the bytes, and so the signature.
    expect(entourageSignature("whsec_abc123", JSON.stringify(JSON.parse(GUIDE_BODY), null, 1))).not.toBe(VECTORS[1]!.entourage);
  });
});

describe("standardWebhookSignature", () => {
  it.each(VECTORS)("signs id.timestamp.$body with $secret as v1,<base64>", ({ secret, body, standard }) => {
    expect(standardWebhookSignature([secret], ID, TIMESTAMP, body)).toBe(standard);
  });

  it("signs exactly id.timestamp.body", () => {
    expect(standardWebhookContent(ID, TIMESTAMP, "{}").toString("utf8")).toBe(`${ID}.${TIMESTAMP}.{}`);
  });

  it("lists one signature per secret, space-separated, the current secret first", () => {
    const both = standardWebhookSignature(["whsec_abc123", "s3cr3t"], ID, TIMESTAMP, "{}");
    expect(both).toBe(`${VECTORS[0]!.standard} ${standardWebhookSignature(["s3cr3t"], ID, TIMESTAMP, "{}")}`);
  });

  it("depends on the id and the timestamp", () => {
    const base = standardWebhookSignature(["whsec_abc123"], ID, TIMESTAMP, "{}");
    expect(standardWebhookSignature(["whsec_abc123"], ID, TIMESTAMP + 1, "{}")).not.toBe(base);
    expect(standardWebhookSignature(["whsec_abc123"], `${ID}x`, TIMESTAMP, "{}")).not.toBe(base);
  });
});

describe("signNotification", () => {
  it("makes the four signature headers, X-Entourage-Signature with the current secret only", () => {
    expect(signNotification(["whsec_abc123", "s3cr3t"], ID, TIMESTAMP, GUIDE_BODY)).toEqual({
      "x-entourage-signature": VECTORS[1]!.entourage,
      "webhook-id": ID,
      "webhook-timestamp": String(TIMESTAMP),
      "webhook-signature": `${VECTORS[1]!.standard} ${standardWebhookSignature(["s3cr3t"], ID, TIMESTAMP, GUIDE_BODY)}`,
    });
  });
});
