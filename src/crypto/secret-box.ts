import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

/** What every sealed value starts with. */
export const SEALED_PREFIX = "enc:v1:";

/**
 * Seals secrets stored in the database (webhook and outbound signing secrets) with AES-256-GCM.
 * A sealed value is `enc:v1:` + base64(iv | tag | ciphertext); anything else is read as it is,
 * so rows written before encryption keep working until they are sealed.
 */
export class SecretBox {
  private readonly key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error("the encryption key must be 32 bytes");
    this.key = key;
  }

  /** The key from ENCRYPTION_KEY: 64 hex characters or base64 of 32 bytes. */
  static fromText(text: string): SecretBox {
    const trimmed = text.trim();
    return new SecretBox(/^[0-9a-f]{64}$/i.test(trimmed) ? Buffer.from(trimmed, "hex") : Buffer.from(trimmed, "base64"));
  }

  static isSealed(value: string): boolean {
    return value.startsWith(SEALED_PREFIX);
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    const ciphertext = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
    return SEALED_PREFIX + Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString("base64");
  }

  open(stored: string): string {
    if (!SecretBox.isSealed(stored)) return stored;
    const raw = Buffer.from(stored.slice(SEALED_PREFIX.length), "base64");
    const decipher = createDecipheriv("aes-256-gcm", this.key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8");
  }
}
