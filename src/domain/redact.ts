export const REDACTED = "[redacted]";

/** The shapes of credentials, each a prefix and the characters of its body: GitHub's tokens of every kind and the app's API keys. */
export const SECRET_SHAPES: readonly { prefix: string; body: string }[] = [
  { prefix: "github_pat_", body: "A-Za-z0-9_" },
  ...["ghp_", "ghs_", "gho_", "ghu_", "ghr_"].map((prefix) => ({ prefix, body: "A-Za-z0-9_" })),
  { prefix: "oc_", body: "A-Za-z0-9_-" },
];

/** Not inside a longer word. */
export const SECRET_BOUNDARY = "(?<![A-Za-z0-9_])";

// The body needs 20 characters, so prose that merely mentions a prefix stays. Global: use it with replace or matchAll only.
export const SECRET_PATTERN = new RegExp(SECRET_SHAPES.map((s) => `${SECRET_BOUNDARY}${s.prefix}[${s.body}]{20,}`).join("|"), "g");

/** The text with anything shaped like a token or key replaced by [redacted]. */
export function redactSecrets(text: string): string {
  return text.replace(SECRET_PATTERN, REDACTED);
}
