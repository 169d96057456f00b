import type { IncomingHttpHeaders } from "node:http";
import net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

/** What came back; status 0 when the request failed without an answer (error says why). */
export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  error?: string;
}

/**
 * POSTs a body on a connection of its own. Raw sockets, not node:http: in a jest worker where a test
 * file nocked GitHub, nock's interceptor stays between node:http and the server.
 */
export function post(port: number, urlPath: string, headers: Record<string, string | string[]>, body: string | Buffer, timeoutMs = 60_000): Promise<Answer> {
  const bytes = Buffer.from(body);
  const lines = [`POST ${urlPath} HTTP/1.1`, "Host: 127.0.0.1", "Connection: close", `Content-Length: ${bytes.length}`,
    ...Object.entries(headers).flatMap(([name, value]) => (Array.isArray(value) ? value : [value]).map((v) => `${name}: ${v}`))];
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += 1024 * 1024) chunks.push(bytes.subarray(at, at + 1024 * 1024));
  return rawRequest(port, `${lines.join("\r\n")}\r\n\r\n`, chunks, timeoutMs);
}

function parseResponse(raw: Buffer): { answer: Answer; complete: boolean } | undefined {
  const end = raw.indexOf("\r\n\r\n");
  if (end < 0) return undefined;
  const [statusLine, ...lines] = raw.subarray(0, end).toString("latin1").split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? "")?.[1] ?? 0);
  const headers: IncomingHttpHeaders = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const body = raw.subarray(end + 4);
  const length = headers["content-length"] === undefined ? undefined : Number(headers["content-length"]);
  const complete = length !== undefined && body.length >= length;
  return { answer: { status, headers, body: body.subarray(0, length).toString("utf8") }, complete };
}

/**
 * Sends bytes exactly as given on a fresh socket (malformed requests node:http would not send) and reads
 * the answer. `body` chunks are written with backpressure until the server answers or closes; a reset
 * after the answer started (the server refusing a huge body early) still returns that answer.
 */
export function rawRequest(port: number, head: string, body: Buffer[] = [], timeoutMs = 60_000): Promise<Answer> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const parsed = parseResponse(received);
      resolve(parsed ? parsed.answer : { status: 0, headers: {}, body: "", error: error ?? "no answer" });
    };
    const timer = setTimeout(() => finish("timed out"), timeoutMs);
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (parseResponse(received)?.complete) finish();
    });
    socket.on("end", () => finish());
    socket.on("close", () => finish());
    socket.on("error", (error: NodeJS.ErrnoException) => finish(error.code ?? error.message));
    socket.on("connect", async () => {
      socket.write(head, "latin1");
      for (const chunk of body) {
        if (settled || received.length > 0) return;
        if (!socket.write(chunk)) await new Promise((resolve) => socket.once("drain", resolve).once("close", resolve));
      }
    });
  });
}

/**
 * Runs `send` for every item, at most `concurrency` at once, their starts spread evenly over
 * `windowMs` so faults injected meanwhile land in the middle of the traffic.
 */
export async function sendPaced<T, R>(items: T[], options: { concurrency: number; windowMs: number }, send: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  const started = Date.now();
  const gap = items.length > 1 ? options.windowMs / items.length : 0;
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      const wait = started + index * gap - Date.now();
      if (wait > 0) await sleep(wait);
      results[index] = await send(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, items.length) }, lane));
  return results;
}
