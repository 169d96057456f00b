/** Credentials that may show up in an agent's output: GitHub tokens of every kind, and the app's API keys. */
const SECRET_PATTERNS = [
  /\bgh[pousr]_[A-Za-z0-9]{16,}\b/g,
  /\bgithub_pat_[A-Za-z0-9_]{20,}\b/g,
  /\boc_[A-Za-z0-9_-]{20,}/g,
  /\bx-access-token:[^@\s]+@/g,
];

export const REDACTED = "[redacted]";

/** The text with anything that looks like a token or key replaced by [redacted]. */
export function redactSecrets(text: string): string {
  let redacted = text;
  for (const pattern of SECRET_PATTERNS) redacted = redacted.replace(pattern, REDACTED);
  return redacted;
}
