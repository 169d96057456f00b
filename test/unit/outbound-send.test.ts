import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { postPinned } from "../../src/outbound/send.js";
import type { VettedTarget } from "../../src/outbound/url-guard.js";

interface Seen {
  host: string | undefined;
  path: string | undefined;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const seen: Seen[] = [];
let server: http.Server;
let port: number;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      seen.push({ host: req.headers.host, path: req.url, headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      if (req.url === "/ok") res.writeHead(204).end();
      else if (req.url === "/fail") res.writeHead(503, "Service Unavailable", { "content-type": "text/plain" }).end(`down for maintenance ${"x".repeat(2000)}`);
      else if (req.url === "/redirect") res.writeHead(302, { location: `http://127.0.0.1:${port}/ok` }).end();
      else if (req.url === "/slow-body") {
        res.writeHead(200);
        res.write("started");
      }
      // /hang: never answers.
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** A host name that resolves nowhere: only the pinned address can make the request arrive. */
function target(path: string): VettedTarget {
  return { url: new URL(`http://receiver.invalid:${port}${path}`), address: "127.0.0.1", family: 4 };
}

describe("postPinned", () => {
  it("connects to the vetted address, never resolving the name again, and keeps the URL's Host", async () => {
    seen.length = 0;
    const result = await postPinned(target("/ok"), { "content-type": "application/json", "x-entourage-event": "task.created" }, '{"a":1}', 2000);
    expect(result).toEqual({ status: 204 });
    expect(seen).toEqual([expect.objectContaining({
      host: `receiver.invalid:${port}`,
      path: "/ok",
      body: '{"a":1}',
      headers: expect.objectContaining({ "content-type": "application/json", "x-entourage-event": "task.created", "content-length": "7" }),
    })]);
  });

  it("reports a non-2xx answer with its status line and the start of its body", async () => {
    const result = await postPinned(target("/fail"), {}, "{}", 2000);
    expect(result.status).toBe(503);
    expect(result.error).toMatch(/^HTTP 503 Service Unavailable: down for maintenance x+$/);
    expect(result.error!.length).toBeLessThan(600);
  });

  it("does not follow redirects", async () => {
    seen.length = 0;
    const result = await postPinned(target("/redirect"), {}, "{}", 2000);
    expect(result.status).toBe(302);
    expect(seen.map((s) => s.path)).toEqual(["/redirect"]);
  });

  it("gives up after the time limit when no answer comes", async () => {
    const started = Date.now();
    const result = await postPinned(target("/hang"), {}, "{}", 300);
    expect(result).toEqual({ error: "no answer within 300 ms" });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("counts a 2xx status that came in time even when its body does not end", async () => {
    expect(await postPinned(target("/slow-body"), {}, "{}", 300)).toEqual({ status: 200 });
  });

  it("reports a refused connection", async () => {
    const closed = { url: new URL("http://receiver.invalid:1/x"), address: "127.0.0.1", family: 4 as const };
    expect((await postPinned(closed, {}, "{}", 2000)).error).toMatch(/^ECONNREFUSED/);
  });
});
