import { createHmac, timingSafeEqual } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook, WebhookVerificationError } from "standardwebhooks";

/** One request as the receiver got it, body as raw bytes. */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  rawBody: Buffer;
  /** The parsed body. */
  json: any;
  receivedAt: number;
  /** The status the receiver answered (undefined while it holds the request). */
  answered?: number;
}

/** A status to answer, or "hang" to hold the request open without answering. */
export type Answer = number | "hang" | { status: number; delayMs: number };

export interface Receiver {
  url(path?: string): string;
  port: number;
  requests: ReceivedRequest[];
  /** TCP connections accepted, requests or not. */
  connections: number;
  /** Requests of one notification event, in arrival order. */
  ofEvent(event: string): ReceivedRequest[];
  close(): Promise<void>;
}

/** A real HTTP server on 127.0.0.1, answering each request as `answer` says. */
export async function startReceiver(answer: (request: ReceivedRequest, index: number) => Answer = () => 200): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  let connections = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const rawBody = Buffer.concat(chunks);
      let json: unknown;
      try {
        json = JSON.parse(rawBody.toString("utf8"));
      } catch {
        json = undefined;
      }
      const received: ReceivedRequest = { method: req.method ?? "", path: req.url ?? "", headers: req.headers, rawBody, json, receivedAt: Date.now() };
      requests.push(received);
      const decision = answer(received, requests.length - 1);
      if (decision === "hang") return;
      const { status, delayMs } = typeof decision === "number" ? { status: decision, delayMs: 0 } : decision;
      setTimeout(() => {
        received.answered = status;
        res.writeHead(status, { "content-type": "text/plain" }).end(status < 300 ? "ok" : `receiver says ${status}`);
      }, delayMs);
    });
  });
  server.on("connection", () => {
    connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: (path = "/entourage-webhook") => `http://127.0.0.1:${port}${path}`,
    requests,
    get connections() {
      return connections;
    },
    ofEvent: (event) => requests.filter((r) => r.headers["x-entourage-event"] === event),
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * X-Entourage-Signature checked as the guide tells receivers to: compute_signature(secret, raw body), that is
 * "sha256=" + hex HMAC-SHA256 keyed with the secret's UTF-8 bytes, compared in constant time
 * (hmac.compare_digest).
 */
export function verifyEntourageSignature(secret: string, rawBody: Buffer, header: string | string[] | undefined): boolean {
  if (typeof header !== "string") return false;
  const expected = `sha256=${createHmac("sha256", Buffer.from(secret, "utf-8")).update(rawBody).digest("hex")}`;
  const a = Buffer.from(expected);
  const b = Buffer.from(header);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The Standard Webhooks check, as the spec describes it: HMAC-SHA256 of "webhook-id.webhook-timestamp.body"
 * keyed with the base64 decoding of the secret after `whsec_`, base64, matched against any `v1,` entry of
 * webhook-signature; the timestamp within 5 minutes.
 */
export function verifyStandardWebhook(secret: string, request: Pick<ReceivedRequest, "headers" | "rawBody">, now = Date.now()): boolean {
  const id = request.headers["webhook-id"];
  const timestamp = request.headers["webhook-timestamp"];
  const signatures = request.headers["webhook-signature"];
  if (typeof id !== "string" || typeof timestamp !== "string" || typeof signatures !== "string") return false;
  if (!/^\d+$/.test(timestamp) || Math.abs(now / 1000 - Number(timestamp)) > 300) return false;
  const expected = Buffer.from(
    createHmac("sha256", Buffer.from(secret.replace(/^whsec_/, ""), "base64")).update(`${id}.${timestamp}.`).update(request.rawBody).digest("base64"),
  );
  return signatures.split(" ").some((entry) => {
    const [version, signature] = entry.split(",", 2);
    const given = Buffer.from(signature ?? "");
    return version === "v1" && given.length === expected.length && timingSafeEqual(given, expected);
  });
}

/** The same check made by the official Standard Webhooks library, unmodified, given the secret as it is. */
export function verifiedByStandardWebhooksLibrary(secret: string, request: Pick<ReceivedRequest, "headers" | "rawBody">): boolean {
  try {
    new Webhook(secret).verify(request.rawBody, request.headers as Record<string, string>);
    return true;
  } catch (error) {
    if (error instanceof WebhookVerificationError) return false;
    throw error;
  }
}
