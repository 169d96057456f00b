// autocannon runs that send signed deliveries, each request a new delivery id and issue number.
import autocannon from "autocannon";
import { round } from "./services.mjs";

export const WEBHOOK_PATH = "/api/github/webhooks";

/**
 * Sends deliveries made by `makeDelivery` to `port` and sums up what came back.
 * @param {{ port: number, makeDelivery: () => { body: string, headers: Record<string,string> },
 *   connections: number, durationS?: number, amount?: number, overallRate?: number }} options
 */
export async function sendDeliveries({ port, makeDelivery, connections, durationS, amount, overallRate }) {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    pipelining: 1,
    ...(amount ? { amount } : { duration: durationS }),
    ...(overallRate ? { overallRate } : {}),
    timeout: 10,
    requests: [
      {
        method: "POST",
        path: WEBHOOK_PATH,
        setupRequest: (request) => {
          const delivery = makeDelivery();
          return { ...request, body: delivery.body, headers: delivery.headers };
        },
      },
    ],
  });
  const seconds = (new Date(result.finish).getTime() - new Date(result.start).getTime()) / 1000;
  const ok = result["2xx"];
  return {
    seconds: round(seconds, 2),
    requests_per_s: round(ok / seconds, 0),
    ok,
    non_2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    status_codes: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, s]) => [code, s.count])),
    latency_ms: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
  };
}
