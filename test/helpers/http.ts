import type { InjectOptions } from "fastify";
import { sql } from "../../src/db/sql.js";
import { APP_WEBHOOK_SECRET, type TestRuntime } from "./app-runtime.js";
import { signedDelivery } from "./github-events.js";
import { waitFor } from "./wait.js";

/** REST calls with one API key, answered in process. */
export function apiClient(rt: TestRuntime, apiKey: string) {
  const call = async (method: InjectOptions["method"], url: string, payload?: unknown) => {
    const res = await rt.server.inject({ method, url, headers: { "x-api-key": apiKey }, ...(payload === undefined ? {} : { payload: payload as object }) });
    return { status: res.statusCode, body: res.body ? res.json() : undefined };
  };
  return {
    get: (url: string) => call("GET", url),
    post: (url: string, body: unknown = {}) => call("POST", url, body),
    patch: (url: string, body: unknown) => call("PATCH", url, body),
    put: (url: string, body: unknown) => call("PUT", url, body),
    delete: (url: string) => call("DELETE", url),
  };
}

export interface SettledDelivery {
  id: string;
  status: string;
  action_taken: string | null;
  task_id: number | null;
  error: string | null;
}

/** Sends a signed delivery to the App endpoint and waits until a worker has finished it. */
export async function deliverToApp(rt: TestRuntime, event: string, payload: unknown): Promise<SettledDelivery> {
  const signed = signedDelivery(APP_WEBHOOK_SECRET, event, payload);
  const res = await rt.server.inject({ method: "POST", url: "/api/github/webhooks", headers: signed.headers, payload: signed.payload });
  if (res.statusCode !== 202) throw new Error(`delivery answered ${res.statusCode}: ${res.body}`);
  return settled(rt, res.json().delivery_id);
}

export async function settled(rt: TestRuntime, deliveryId: string): Promise<SettledDelivery> {
  return waitFor(async () => {
    const row = (await sql<SettledDelivery>(rt.database.dataSource, "SELECT id, status, action_taken, task_id, error FROM webhook_deliveries WHERE id = $1", [deliveryId])).rows[0];
    return row && row.status !== "received" ? row : undefined;
  }, 60_000, `delivery ${deliveryId}`);
}
