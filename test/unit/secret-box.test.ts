import { describe, expect, it } from "@jest/globals";
import { randomBytes } from "node:crypto";
import { SecretBox } from "../../src/crypto/secret-box.js";

describe("SecretBox", () => {
  const box = new SecretBox(randomBytes(32));

  it("seals so that the stored text does not contain the secret, and opens it back", () => {
    const sealed = box.seal("whsec_abc123");
    expect(sealed).toMatch(/^enc:v1:/);
    expect(sealed).not.toContain("abc123");
    expect(box.seal("whsec_abc123")).not.toBe(sealed);
    expect(box.open(sealed)).toBe("whsec_abc123");
  });

  it("reads a value written before encryption as it is", () => {
    expect(box.open("whsec_plain")).toBe("whsec_plain");
  });

  it("refuses a tampered value or another key", () => {
    const sealed = box.seal("whsec_abc123");
    const raw = Buffer.from(sealed.slice(7), "base64");
    raw[raw.length - 1]! ^= 1;
    expect(() => box.open(`enc:v1:${raw.toString("base64")}`)).toThrow();
    expect(() => new SecretBox(randomBytes(32)).open(sealed)).toThrow();
  });

  it("takes the key as hex or base64 of 32 bytes", () => {
    const key = randomBytes(32);
    const sealed = new SecretBox(key).seal("x");
    expect(SecretBox.fromText(key.toString("hex")).open(sealed)).toBe("x");
    expect(SecretBox.fromText(key.toString("base64")).open(sealed)).toBe("x");
    expect(() => SecretBox.fromText("short")).toThrow(/32 bytes/);
  });
});
