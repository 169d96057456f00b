import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { JobQueue } from "./queue/queue.js";

/** What /metrics exposes (Prometheus text format); one registry per process. */
export class Metrics {
  readonly registry = new Registry();

  /** Deliveries answered by the webhook endpoints: stored, duplicate, or stored as ignored. */
  readonly deliveriesReceived = new Counter({
    name: "entourage_deliveries_received_total",
    help: "Webhook deliveries answered with 2xx, by event type and result (received, duplicate, ignored)",
    labelNames: ["event", "result"] as const,
    registers: [this.registry],
  });

  readonly deliveriesFinished = new Counter({
    name: "entourage_deliveries_finished_total",
    help: "Deliveries a worker finished, by event type and final status (processed, ignored, failed)",
    labelNames: ["event", "status"] as const,
    registers: [this.registry],
  });

  readonly processingSeconds = new Histogram({
    name: "entourage_delivery_processing_seconds",
    help: "Time from a delivery's arrival to its final status",
    labelNames: ["event"] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });

  readonly jobFailures = new Counter({
    name: "entourage_job_failures_total",
    help: "Background job tries that failed, by job",
    labelNames: ["job"] as const,
    registers: [this.registry],
  });

  readonly outboundAttempts = new Counter({
    name: "entourage_outbound_attempts_total",
    help: "Outbound webhook attempts, by result (delivered, failed, refused: stopped before anything was sent)",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });

  constructor(queue: JobQueue) {
    collectDefaultMetrics({ register: this.registry, prefix: "entourage_" });
    new Gauge({
      name: "entourage_queue_jobs",
      help: "Jobs in the queue, by job and state",
      labelNames: ["job", "state"] as const,
      registers: [this.registry],
      async collect() {
        try {
          const counts = await queue.counts();
          for (const [job, byState] of Object.entries(counts)) {
            for (const [state, value] of Object.entries(byState)) this.set({ job, state }, value);
          }
        } catch {
          // The queue is down: keep the last values; health says so.
        }
      },
    });
  }
}
