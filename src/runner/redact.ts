/**
 * Secrets out of every line the runner shows or sends: the exact token and key it holds, and anything that
 * looks like a GitHub token or an Entourage key. Output arrives in chunks, so a stream holds back the tail
 * that could be the start of a secret until the next chunk tells.
 */
import { REDACTED, redactSecrets, SECRET_BOUNDARY as BOUNDARY, SECRET_PATTERN, SECRET_SHAPES as SHAPES } from "../domain/redact.js";

export { REDACTED };

// A token still being written: a prefix, or part of one, and its body so far, at the very end of the text.
const OPEN_SHAPE_PATTERNS = SHAPES.map((s) => new RegExp(`${BOUNDARY}${s.prefix}[${s.body}]*$`));
const PREFIX_STARTS = [...new Set(SHAPES.flatMap((s) => Array.from({ length: s.prefix.length - 1 }, (_, i) => s.prefix.slice(0, i + 1))))];

// Past this, a held-back tail is let go (redacted as it stands): a real token is far shorter.
const MAX_HELD = 4096;

interface Range {
  start: number;
  end: number;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

export class Redactor {
  private readonly secrets = new Set<string>();

  constructor(secrets: readonly string[] = []) {
    for (const secret of secrets) this.addSecret(secret);
  }

  /** A value to hide wherever it appears from now on (a token fetched mid-run, for one). */
  addSecret(secret: string): void {
    if (secret.length >= 4) this.secrets.add(secret);
  }

  /** The text with every secret and credential-shaped string replaced by [redacted]. */
  redact(text: string): string {
    let result = text;
    for (const secret of [...this.secrets].sort((a, b) => b.length - a.length)) result = result.split(secret).join(REDACTED);
    return redactSecrets(result);
  }

  /** A stream for one run's output: push chunks, get back what is safe to show so far. */
  stream(): RedactingStream {
    return new RedactingStream(this);
  }

  /** Where each secret or credential-shaped string lies in the text. */
  matches(text: string): Range[] {
    const ranges: Range[] = [];
    for (const secret of this.secrets) {
      for (const m of text.matchAll(new RegExp(escapeRegExp(secret), "g"))) ranges.push({ start: m.index, end: m.index + secret.length });
    }
    for (const m of text.matchAll(SECRET_PATTERN)) ranges.push({ start: m.index, end: m.index + m[0].length });
    return ranges;
  }

  /** How many characters at the end of the text may be the beginning of a secret not yet complete. */
  openTail(text: string): number {
    let held = 0;
    for (const secret of this.secrets) {
      for (let k = Math.min(secret.length - 1, text.length); k > held; k--) {
        if (text.endsWith(secret.slice(0, k))) {
          held = k;
          break;
        }
      }
    }
    for (const pattern of OPEN_SHAPE_PATTERNS) {
      const m = pattern.exec(text);
      if (m) held = Math.max(held, text.length - m.index);
    }
    for (const start of PREFIX_STARTS) {
      const at = text.length - start.length;
      if (at >= 0 && text.endsWith(start) && !/[A-Za-z0-9_]/.test(text[at - 1] ?? "")) held = Math.max(held, start.length);
    }
    return held;
  }
}

/** One output stream through the redactor; the text it returns never holds a secret, even one cut across chunks. */
export class RedactingStream {
  private pending = "";

  constructor(private readonly redactor: Redactor) {}

  /** The part of pending + chunk that is safe to let out now, redacted. */
  push(chunk: string): string {
    const text = this.pending + chunk;
    let cut = text.length - this.redactor.openTail(text);
    if (cut < text.length - MAX_HELD) cut = text.length;
    // A secret that the cut would split is held back whole.
    for (const range of this.redactor.matches(text).sort((a, b) => b.start - a.start)) {
      if (range.start < cut && range.end > cut) cut = range.start;
    }
    this.pending = text.slice(cut);
    return this.redactor.redact(text.slice(0, cut));
  }

  /** Whatever was held back, redacted as it stands: the stream has ended. */
  flush(): string {
    const rest = this.redactor.redact(this.pending);
    this.pending = "";
    return rest;
  }
}
