import { generateKeyPairSync } from "node:crypto";

let cachedKey: string | undefined;

/** A real RSA key in PEM, as GitHub issues for an App. */
export function testPrivateKey(): string {
  cachedKey ??= generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" }).toString();
  return cachedKey;
}
