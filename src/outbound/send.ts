import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import type { VettedTarget } from "./url-guard.js";

export interface PostResult {
  /** The HTTP status; undefined when no answer came (connection error, timeout). */
  status?: number;
  /** Why the attempt failed: the error, or the status line and the start of the answer's body. */
  error?: string;
}

/** How much of a failed answer's body is kept for the delivery log. */
const BODY_EXCERPT_BYTES = 500;

/** A resolver that answers every name with the vetted address, so the socket connects exactly there. */
export function pinnedLookup(address: string, family: 4 | 6): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  };
}

/**
 * POSTs the body to the vetted target, connecting to its vetted address (TLS still checks the URL's host
 * name). Redirects are not followed. The whole attempt, connection to last byte, ends after timeoutMs.
 */
export function postPinned(target: VettedTarget, headers: Record<string, string>, body: string, timeoutMs: number): Promise<PostResult> {
  const payload = Buffer.from(body, "utf8");
  const client = target.url.protocol === "https:" ? https : http;
  return new Promise((resolve) => {
    let status: number | undefined;
    let statusText = "";
    const excerpt: Buffer[] = [];
    let kept = 0;
    let settled = false;
    const settle = (result: PostResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      resolve(result);
    };
    const answered = () => {
      if (status === undefined) return;
      if (status >= 200 && status < 300) {
        settle({ status });
        return;
      }
      const text = Buffer.concat(excerpt).toString("utf8").trim();
      settle({ status, error: `HTTP ${status}${statusText ? ` ${statusText}` : ""}${text ? `: ${text}` : ""}` });
    };
    const request = client.request(target.url, {
      method: "POST",
      headers: { ...headers, "content-length": String(payload.length) },
      lookup: pinnedLookup(target.address, target.family),
      agent: false,
    });
    const timer = setTimeout(() => {
      // A status line that came in time counts; only its body was slow.
      if (status !== undefined) answered();
      else settle({ error: `no answer within ${timeoutMs} ms` });
    }, timeoutMs);
    request.on("response", (response) => {
      status = response.statusCode ?? 0;
      statusText = response.statusMessage ?? "";
      response.on("data", (chunk: Buffer) => {
        if (kept < BODY_EXCERPT_BYTES) {
          excerpt.push(chunk.subarray(0, BODY_EXCERPT_BYTES - kept));
          kept += Math.min(chunk.length, BODY_EXCERPT_BYTES - kept);
        }
      });
      response.on("end", answered);
      response.on("error", answered);
    });
    request.on("error", (error: NodeJS.ErrnoException) => {
      if (status !== undefined) answered();
      else settle({ error: error.code ? `${error.code}: ${error.message}` : error.message });
    });
    request.end(payload);
  });
}
