import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createHmac, timingSafeEqual } from "node:crypto";
import { writeFileSync } from "node:fs";
import { createTenant, startTestRuntime, type TestRuntime } from "../helpers/app-runtime.js";
import { apiClient } from "../helpers/http.js";
import { waitFor } from "../helpers/wait.js";
import { startReceiver, verifiedByStandardWebhooksLibrary, type Receiver } from "../helpers/webhook-receiver.js";

/** Where the captured request is written, for the closing note. */
const CAPTURE_FILE = "/tmp/entourage-outbound-capture.txt";

let rt: TestRuntime;
let receiver: Receiver | undefined;

beforeAll(async () => {
  rt = await startTestRuntime({ label: "outbound_guide", env: { OUTBOUND_ALLOWED_HOSTS: "127.0.0.1" } });
});
afterAll(async () => {
  await rt?.stop();
  await receiver?.close();
});

/** The guide's compute_signature: hmac.new(secret.encode("utf-8"), msg=payload, digestmod=hashlib.sha256), "sha256=" + hexdigest. */
function computeSignature(secret: string, payload: Buffer): string {
  return `sha256=${createHmac("sha256", Buffer.from(secret, "utf-8")).update(payload).digest("hex")}`;
}

/** hmac.compare_digest */
function compareDigest(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

describe("the guide's receiver", () => {
  it("gets task.completed when a task moves to done, and verifies X-Entourage-Signature as the guide says", async () => {
    const tenant = await createTenant(rt, "guide");
    const api = apiClient(rt, tenant.apiKey);
    let secret = "";
    // Steps 1-3 of the guide: verify the signature with the shared secret, check the key, answer 200 OK.
    receiver = await startReceiver((request) => {
      const verified = compareDigest(computeSignature(secret, request.rawBody), String(request.headers["x-entourage-signature"] ?? ""));
      return verified && request.headers["x-api-key"] === "oc_your_key_here" ? 200 : 401;
    });
    const created = await api.post("/api/v1/outbound-webhooks", { url: receiver.url(), events: ["task.completed"], api_key: "oc_your_key_here" });
    expect(created.status).toBe(201);
    secret = created.body.secret;

    const task = await api.post(`/api/v1/teams/${tenant.teamId}/tasks`, { title: "Login broken on Safari" });
    for (const status of ["in_progress", "in_review", "in_approval", "merging", "done"]) {
      expect((await api.post(`/api/v1/tasks/${task.body.id}/status`, { status })).status).toBe(200);
    }
    await waitFor(async () => receiver!.requests.length === 1 && receiver!.requests[0]!.answered !== undefined, 10_000, "task.completed");

    const request = receiver.requests[0]!;
    expect(request.answered).toBe(200);
    expect(request.json).toEqual({
      event: "task.completed",
      task_id: task.body.id,
      team_id: tenant.teamId,
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      data: { from: "merging", to: "done" },
    });
    const log = await waitFor(async () => {
      const data = (await api.get(`/api/v1/outbound-webhooks/${created.body.id}/deliveries`)).body.data;
      return data[0]?.status === "delivered" ? data : undefined;
    }, 5000, "the delivery recorded");
    expect(log).toEqual([expect.objectContaining({ event: "task.completed", status: "delivered", attempts: 1, last_response_code: 200 })]);
    // The same capture passes the official Standard Webhooks library, given the secret as the API showed it.
    expect(verifiedByStandardWebhooksLibrary(secret, request)).toBe(true);

    const captured = [
      `POST ${request.path} HTTP/1.1`,
      ...Object.entries(request.headers).map(([name, value]) => `${name}: ${String(value)}`),
      "",
      request.rawBody.toString("utf8"),
      "",
      `# shared secret (throw-away, this test's): ${secret}`,
      `# compute_signature(secret, body) = ${computeSignature(secret, request.rawBody)}`,
      "# new Webhook(secret).verify(body, headers) (npm standardwebhooks): verified",
    ].join("\n");
    writeFileSync(CAPTURE_FILE, `${captured}\n`);
    console.log(`captured outbound request (also in ${CAPTURE_FILE}):\n${captured}`);
  });
});
