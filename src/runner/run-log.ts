import { StringDecoder } from "node:string_decoder";
import type { RedactingStream, Redactor } from "./redact.js";

/** The most log text one heartbeat (or the finish call) carries. */
export const MAX_LOG_BYTES_PER_CALL = 256 * 1024;
// While the app cannot be reached the log waits here; past this many characters the oldest output is dropped, the newest kept.
const MAX_BUFFERED_CHARS = 8 * 1024 * 1024;

/** The longest start of the text that fits in maxBytes of UTF-8, never cutting a character; and the rest. */
export function splitUtf8(text: string, maxBytes: number): [string, string] {
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length <= maxBytes) return [text, ""];
  let cut = maxBytes;
  while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--;
  const head = bytes.subarray(0, cut).toString("utf8");
  return [head, text.slice(head.length)];
}

/**
 * One run's output on its way to the app: the command's bytes decoded and redacted, the runner's own notes,
 * echoed to the runner's stdout as they come and kept until a heartbeat takes them.
 */
export class RunLog {
  private buffered = "";
  private readonly decoder = new StringDecoder("utf8");
  private readonly output: RedactingStream;

  constructor(private readonly redactor: Redactor, private readonly echo: (text: string) => void) {
    this.output = redactor.stream();
  }

  /** A chunk of the command's output (stdout and stderr, interleaved). */
  write(chunk: Buffer): void {
    this.append(this.output.push(this.decoder.write(chunk)));
  }

  /** The command's output has ended: let out what the redactor held back. */
  end(): void {
    this.append(this.output.push(this.decoder.end()) + this.output.flush());
  }

  /** A line from the runner itself (clone, push, failures), marked as such. */
  note(line: string): void {
    this.append(this.redactor.redact(`[runner] ${line}\n`));
  }

  /** The bytes waiting to be sent. */
  get size(): number {
    return Buffer.byteLength(this.buffered, "utf8");
  }

  /** Takes up to maxBytes of the oldest waiting text. */
  take(maxBytes = MAX_LOG_BYTES_PER_CALL): string {
    const [head, rest] = splitUtf8(this.buffered, maxBytes);
    this.buffered = rest;
    return head;
  }

  /** Puts text a failed call took back in front, so nothing is lost. */
  giveBack(text: string): void {
    this.buffered = text + this.buffered;
  }

  private append(text: string): void {
    if (text === "") return;
    this.echo(text);
    this.buffered += text;
    if (this.buffered.length > MAX_BUFFERED_CHARS) {
      const dropped = this.buffered.length - MAX_BUFFERED_CHARS / 2;
      this.buffered = `[runner] ${dropped} characters of output dropped while the app could not be reached\n${this.buffered.slice(dropped)}`;
    }
  }
}
