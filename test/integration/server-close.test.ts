import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { AddressInfo } from "node:net";
import { startTestRuntime, type TestRuntime } from "../helpers/app-runtime.js";

let rt: TestRuntime;

beforeAll(async () => {
  rt = await startTestRuntime({ label: "server_close" });
});
afterAll(async () => {
  await rt?.stop();
});

describe("closing the HTTP server", () => {
  it("does not wait for the keep-alive timeout of a connection whose request was in flight", async () => {
    let arrived!: () => void;
    const inFlight = new Promise<void>((resolve) => (arrived = resolve));
    rt.server.post("/slow", async () => {
      arrived();
      await new Promise((resolve) => setTimeout(resolve, 300));
      return { ok: true };
    });
    await rt.server.listen({ port: 0, host: "127.0.0.1" });
    const { port } = rt.server.server.address() as AddressInfo;
    // fetch keeps connections alive, as smee-client and most proxies do.
    const answer = fetch(`http://127.0.0.1:${port}/slow`, { method: "POST" });
    await inFlight;
    const started = Date.now();
    await rt.server.close();
    const response = await answer;
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(response.status).toBe(200);
    expect(response.headers.get("connection")).toBe("close");
  });
});
