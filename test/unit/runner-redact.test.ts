import { describe, expect, it } from "@jest/globals";
import { REDACTED, Redactor } from "../../src/runner/redact.js";
import { RunLog, splitUtf8 } from "../../src/runner/run-log.js";

const KEY = "oc_Zq3xVb7Kp0Lm9Nw2Rt5Yh8Jd1Fg4Sa6Ce0Ui3Op7Q";
const TOKEN = "ghs_16C7e42F292c6912E7710c838347Ae178B4a";
const PLAIN_TOKEN = "test-token-7f3a9c";

/** Everything a stream lets out for the given chunks, the held-back rest included. */
function streamed(redactor: Redactor, chunks: readonly string[]): string {
  const stream = redactor.stream();
  return chunks.map((chunk) => stream.push(chunk)).join("") + stream.flush();
}

/** Every way to cut the text in two. */
function twoWaySplits(text: string): [string, string][] {
  return Array.from({ length: text.length + 1 }, (_, i) => [text.slice(0, i), text.slice(i)] as [string, string]);
}

describe("Redactor.redact", () => {
  const redactor = new Redactor([KEY, PLAIN_TOKEN]);

  it.each([
    [`key=${KEY}`, `key=${REDACTED}`],
    [`https://x-access-token:${PLAIN_TOKEN}@github.com/o/r.git`, `https://x-access-token:${REDACTED}@github.com/o/r.git`],
    [`token ${TOKEN} used`, `token ${REDACTED} used`],
    ["ghp_0123456789abcdefghijABCDEFGHIJ012345", REDACTED],
    ["github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", REDACTED],
    ["oc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-_bbbb", REDACTED],
  ])("hides %s", (text, expected) => {
    expect(redactor.redact(text)).toBe(expected);
  });

  it.each(["doc_id", "proc_oc_abc", "the ghs_ prefix", "oc_short", "src/ghp_x.ts", "task #12 in progress"])("leaves prose alone: %s", (text) => {
    expect(redactor.redact(text)).toBe(text);
  });

  it("hides a secret added after it was made", () => {
    const later = new Redactor();
    later.addSecret("s3cr3t-value");
    expect(later.redact("the s3cr3t-value here")).toBe(`the ${REDACTED} here`);
  });
});

describe("RedactingStream", () => {
  const redactor = new Redactor([KEY, PLAIN_TOKEN]);

  it.each([
    ["the exact key", `before ${KEY} after\n`],
    ["a plain token only known exactly", `pushing with ${PLAIN_TOKEN} now\n`],
    ["a GitHub token by its shape", `Authorization: token ${TOKEN}\n`],
    ["a token at the very end of the output", `token: ${TOKEN}`],
  ])("never lets out %s, wherever the chunks are cut", (_, text) => {
    const whole = redactor.redact(text);
    for (const chunks of twoWaySplits(text)) {
      const out = streamed(redactor, chunks);
      expect(out).toBe(whole);
      expect(out).not.toContain(KEY.slice(3, 20));
      expect(out).not.toContain(TOKEN.slice(4, 20));
      expect(out).not.toContain(PLAIN_TOKEN);
    }
  });

  it("never lets out a secret cut into one-character chunks", () => {
    const text = `a ${KEY} b ${TOKEN} c ${PLAIN_TOKEN} d\n`;
    expect(streamed(redactor, [...text])).toBe(`a ${REDACTED} b ${REDACTED} c ${REDACTED} d\n`);
  });

  it("lets ordinary output through at once, holding back nothing", () => {
    const stream = redactor.stream();
    expect(stream.push("compiling...\n")).toBe("compiling...\n");
    expect(stream.push("done: 3 files")).toBe("done: 3 files");
  });

  it("holds back only what may start a secret, until the next chunk tells", () => {
    const stream = redactor.stream();
    expect(stream.push("value: oc_Zq3x")).toBe("value: ");
    expect(stream.push(`${KEY.slice(7)} ok`)).toBe(`${REDACTED} ok`);
    expect(stream.push("\nnext test-tok")).toBe("\nnext ");
    expect(stream.push("ens are fine")).toBe("test-tokens are fine");
  });

  it("does not hold back a long run of word characters forever", () => {
    const stream = redactor.stream();
    const blob = `oc_${"x".repeat(5000)}`;
    expect(stream.push(blob)).toBe(REDACTED);
  });
});

describe("RunLog", () => {
  it("redacts the command's bytes across chunks and echoes what it keeps", () => {
    const echoed: string[] = [];
    const log = new RunLog(new Redactor([KEY]), (text) => echoed.push(text));
    const bytes = Buffer.from(`key ${KEY} é\n`, "utf8");
    for (let i = 0; i < bytes.length; i += 3) log.write(bytes.subarray(i, i + 3));
    log.end();
    log.note(`pushed with ${KEY}`);
    const text = log.take();
    expect(text).toBe(`key ${REDACTED} é\n[runner] pushed with ${REDACTED}\n`);
    expect(echoed.join("")).toBe(text);
    expect(log.size).toBe(0);
  });

  it("hands the log out in pieces of at most the size asked, never cutting a character", () => {
    const log = new RunLog(new Redactor(), () => {});
    const text = "é".repeat(1000) + "x".repeat(1001);
    log.write(Buffer.from(text, "utf8"));
    log.end();
    const pieces: string[] = [];
    while (log.size > 0) pieces.push(log.take(1001));
    expect(pieces.every((p) => Buffer.byteLength(p, "utf8") <= 1001)).toBe(true);
    expect(pieces.join("")).toBe(text);
  });

  it("takes a piece back in front after a failed call", () => {
    const log = new RunLog(new Redactor(), () => {});
    log.note("one");
    const first = log.take();
    log.note("two");
    log.giveBack(first);
    expect(log.take()).toBe("[runner] one\n[runner] two\n");
  });
});

describe("splitUtf8", () => {
  it.each([
    ["abc", 5, ["abc", ""]],
    ["abcdef", 4, ["abcd", "ef"]],
    ["aé", 2, ["a", "é"]],
    ["😀b", 3, ["", "😀b"]],
    ["😀b", 4, ["😀", "b"]],
  ] as const)("%s in %d bytes", (text, max, expected) => {
    expect(splitUtf8(text, max)).toEqual(expected);
  });
});
