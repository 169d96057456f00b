import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";

/** What every sealed value starts with. */
export const SEALED_PREFIX = "enc:v1:";

/** A sealed value that neither the key nor a previous one opens: the database was sealed with another key. */
export class SecretUnreadableError extends Error {
  constructor() {
    super("a stored secret cannot be opened with ENCRYPTION_KEY (nor ENCRYPTION_KEY_PREVIOUS)");
    this.name = "SecretUnreadableError";
  }
}

function keyFromText(text: string): Buffer {
  const trimmed = text.trim();
  return /^[0-9a-f]{64}$/i.test(trimmed) ? Buffer.from(trimmed, "hex") : Buffer.from(trimmed, "base64");
}

/** A value that tells whether a key is the one the database's secrets were sealed with, without telling the key. */
function checkValueOf(key: Buffer): string {
  return createHmac("sha256", key).update("entourage:encryption-key-check:v1").digest("hex");
}

/**
 * Seals secrets stored in the database (webhook and outbound signing secrets) with AES-256-GCM.
 * A sealed value is `enc:v1:` + base64(iv | tag | ciphertext); anything else is read as it is,
 * so rows written before encryption keep working until they are sealed. Previous keys (a rotation) open
 * what they sealed; sealing always uses the current key.
 */
export class SecretBox {
  private readonly key: Buffer;
  private readonly previous: Buffer[];

  constructor(key: Buffer, previous: readonly Buffer[] = []) {
    for (const k of [key, ...previous]) if (k.length !== 32) throw new Error("the encryption key must be 32 bytes");
    this.key = key;
    this.previous = previous.filter((k) => !k.equals(key));
  }

  /** The key from ENCRYPTION_KEY (and ENCRYPTION_KEY_PREVIOUS): 64 hex characters or base64 of 32 bytes. */
  static fromText(text: string, ...previous: (string | undefined)[]): SecretBox {
    return new SecretBox(keyFromText(text), previous.filter((p): p is string => p !== undefined).map(keyFromText));
  }

  /** The current key's check value, stored in the database to recognise the key at the next start. */
  get checkValue(): string {
    return checkValueOf(this.key);
  }

  /** The check values of the previous keys. */
  get previousCheckValues(): string[] {
    return this.previous.map(checkValueOf);
  }

  /** Whether the current key opens a sealed value (a value in clear needs no key). */
  opensWithCurrentKey(stored: string): boolean {
    if (!SecretBox.isSealed(stored)) return true;
    return openWith(this.key, stored) !== undefined;
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

  /** The secret in clear; SecretUnreadableError when no key of this box sealed it. */
  open(stored: string): string {
    if (!SecretBox.isSealed(stored)) return stored;
    for (const key of [this.key, ...this.previous]) {
      const plain = openWith(key, stored);
      if (plain !== undefined) return plain;
    }
    throw new SecretUnreadableError();
  }
}

function openWith(key: Buffer, stored: string): string | undefined {
  const raw = Buffer.from(stored.slice(SEALED_PREFIX.length), "base64");
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8");
  } catch {
    return undefined;
  }
}
