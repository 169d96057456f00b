import { describe, expect, it } from "@jest/globals";
import { Webhook, WebhookVerificationError } from "standardwebhooks";
import { sha256Signature } from "../../src/crypto/sha256-signature.js";
import { newWebhookSecret } from "../../src/domain/secret-rotation.js";
import { signNotification, standardWebhookContent, standardWebhookKey, standardWebhookSignature } from "../../src/outbound/sign.js";

const GUIDE_BODY = '{"event":"task.completed","task_id":601,"team_id":"team-uuid","timestamp":"2026-02-27T14:30:00Z"}';
const ID = "0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
const TIMESTAMP = 1772202600;

// Expected values computed apart, with Python's hmac module: the guide's compute_signature, keyed with the secret's text.
const VECTORS: { secret: string; body: string; entourage: string }[] = [
  { secret: "whsec_abc123", body: "{}", entourage: "sha256=b8e41d05e1ec86afe86ae177dccfb021afc2e6633a3c8dcee569538f5f2b8270" },
  { secret: "whsec_abc123", body: GUIDE_BODY, entourage: "sha256=e84ae6a12d067764206f7ecf8c36785f10274a9077f6e1ab036567347b7b8fcd" },
  { secret: "s3cr3t", body: "", entourage: "sha256=3c81cc9496e1c25250f6ccb85f697c1bb623e3480d6538ad8cb6a6648142777d" },
  { secret: "whsec_ünï", body: '{"title":"Zoë ☃"}', entourage: "sha256=e6c552da8bed5a5d49220b2e04ff2d128bffbf53cbc0fd231cd716359e8a999f" },
  {
    secret: "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", body: GUIDE_BODY,
    entourage: "sha256=ee278914d75f0fd074a5d59d864780769a8062027c1a2f9179659c197fe770c1",
  },
];

const NEW_SECRET = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
// The form outbound secrets had before they were base64: the spec's decoding of it still gives one fixed key.
const HEX_SECRET = `whsec_${"0f".repeat(32)}`;

// The first is the Standard Webhooks libraries' own test vector; the others computed apart with Python's hmac and base64.
const STANDARD_VECTORS: { secret: string; id: string; timestamp: number; body: string; standard: string }[] = [
  {
    secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1614265330, body: '{"test": 2432232314}',
    standard: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
  },
  { secret: NEW_SECRET, id: ID, timestamp: TIMESTAMP, body: "{}", standard: "v1,xQyxcE9V1+1IEKV76guxHkSzVyJnJyw0WaQPvQn30kw=" },
  { secret: NEW_SECRET, id: ID, timestamp: TIMESTAMP, body: GUIDE_BODY, standard: "v1,/0TrhS5JYEKTUTTaetbIhe1F+vLj0X0HSoipdIm9pm8=" },
  { secret: NEW_SECRET, id: ID, timestamp: TIMESTAMP, body: '{"title":"Zoë ☃"}', standard: "v1,RyIjZlcNNiXvgMUa1fW3zhLOxjNwH0VRwCs3qO9D6hc=" },
  { secret: HEX_SECRET, id: ID, timestamp: TIMESTAMP, body: GUIDE_BODY, standard: "v1,nHkuZkfD4M2SLdGHrGkCY2ukSaiPv9d/OwM92nFkrlM=" },
];

/** What the official Standard Webhooks library says of the headers: the payload, or why it refused them. */
function libraryVerdict(secret: string, body: string, headers: Record<string, string>): unknown {
  try {
    return new Webhook(secret).verify(body, headers);
  } catch (error) {
    if (error instanceof WebhookVerificationError) return error.message;
    throw error;
  }
}

describe("sha256Signature (X-Entourage-Signature)", () => {
  it.each(VECTORS)("signs $body with $secret as sha256=<hex>", ({ secret, body, entourage }) => {
    expect(sha256Signature(secret, body)).toBe(entourage);
    expect(sha256Signature(secret, Buffer.from(body, "utf8"))).toBe(entourage);
  });

  it("changes with any byte of the body or the secret", () => {
    expect(sha256Signature("whsec_abc123", GUIDE_BODY.replace("601", "602"))).not.toBe(VECTORS[1]!.entourage);
    expect(sha256Signature("whsec_abc124", GUIDE_BODY)).not.toBe(VECTORS[1]!.entourage);
    // Re-encoding the same JSON changes the bytes, and so the signature.
    expect(sha256Signature("whsec_abc123", JSON.stringify(JSON.parse(GUIDE_BODY), null, 1))).not.toBe(VECTORS[1]!.entourage);
  });
});

describe("standardWebhookKey", () => {
  it("is the base64 decoding of what follows whsec_", () => {
    expect(standardWebhookKey(NEW_SECRET)).toEqual(Buffer.from(Array.from({ length: 32 }, (_, i) => i)));
    expect(standardWebhookKey("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")).toEqual(standardWebhookKey(NEW_SECRET));
    expect(standardWebhookKey(HEX_SECRET)).toHaveLength(48);
  });
});

describe("standardWebhookSignature", () => {
  it.each(STANDARD_VECTORS)("signs $body as message $id at $timestamp with $secret as v1,<base64>", ({ secret, id, timestamp, body, standard }) => {
    expect(standardWebhookSignature([secret], id, timestamp, body)).toBe(standard);
    expect(new Webhook(secret).sign(id, new Date(timestamp * 1000), body)).toBe(standard);
  });

  it("signs exactly id.timestamp.body", () => {
    expect(standardWebhookContent(ID, TIMESTAMP, "{}").toString("utf8")).toBe(`${ID}.${TIMESTAMP}.{}`);
  });

  it("lists one signature per secret, space-separated, the current secret first", () => {
    const both = standardWebhookSignature([NEW_SECRET, HEX_SECRET], ID, TIMESTAMP, GUIDE_BODY);
    expect(both).toBe(`${STANDARD_VECTORS[2]!.standard} ${STANDARD_VECTORS[4]!.standard}`);
  });

  it("depends on the id and the timestamp", () => {
    const base = standardWebhookSignature([NEW_SECRET], ID, TIMESTAMP, "{}");
    expect(standardWebhookSignature([NEW_SECRET], ID, TIMESTAMP + 1, "{}")).not.toBe(base);
    expect(standardWebhookSignature([NEW_SECRET], `${ID}x`, TIMESTAMP, "{}")).not.toBe(base);
  });
});

describe("signNotification", () => {
  it("makes the four signature headers, X-Entourage-Signature with the current secret only", () => {
    expect(signNotification([NEW_SECRET, HEX_SECRET], ID, TIMESTAMP, GUIDE_BODY)).toEqual({
      "x-entourage-signature": VECTORS[4]!.entourage,
      "webhook-id": ID,
      "webhook-timestamp": String(TIMESTAMP),
      "webhook-signature": `${STANDARD_VECTORS[2]!.standard} ${STANDARD_VECTORS[4]!.standard}`,
    });
  });

  it("is verified by the unmodified Standard Webhooks library with either secret during a grace period, and by no other", () => {
    const [current, previous, other] = [newWebhookSecret(), newWebhookSecret(), newWebhookSecret()];
    const now = Math.floor(Date.now() / 1000);
    const headers: Record<string, string> = { ...signNotification([current, previous], ID, now, GUIDE_BODY) };
    expect(libraryVerdict(current, GUIDE_BODY, headers)).toEqual(JSON.parse(GUIDE_BODY));
    expect(libraryVerdict(previous, GUIDE_BODY, headers)).toEqual(JSON.parse(GUIDE_BODY));
    expect(libraryVerdict(other, GUIDE_BODY, headers)).toBe("No matching signature found");
    expect(libraryVerdict(current, GUIDE_BODY.replace("601", "602"), headers)).toBe("No matching signature found");
    const stale = { ...signNotification([current], ID, now - 600, GUIDE_BODY) };
    expect(libraryVerdict(current, GUIDE_BODY, stale)).toBe("Message timestamp too old");
    expect(sha256Signature(current, GUIDE_BODY)).toBe(headers["x-entourage-signature"]);
  });
});

describe("newWebhookSecret", () => {
  it("is whsec_ and base64 of 32 random bytes, a secret the Standard Webhooks library takes as it is", () => {
    const secret = newWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(standardWebhookKey(secret)).toHaveLength(32);
    expect(newWebhookSecret()).not.toBe(secret);
    expect(() => new Webhook(secret)).not.toThrow();
  });
});
