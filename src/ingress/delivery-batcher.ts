import type { DataSource } from "typeorm";
import { BatchPump } from "../batch-pump.js";
import { pgErrorCode } from "../db/pg-error-code.js";
import { recordDeliveries, type NewDelivery, type RecordedDelivery } from "../domain/deliveries.js";
import type { Logger } from "../log.js";
import { deliveryJobId } from "../domain/jobs.js";
import type { JobQueue } from "../queue/queue.js";

export interface DeliveryBatcherOptions {
  /** Deliveries stored by one statement at most. */
  maxRows?: number;
  /** Statements being written at once; deliveries arriving meanwhile wait and form the next batch. */
  maxInFlight?: number;
}

interface Waiting {
  input: NewDelivery;
  /** U+0000 in the payload's strings was replaced (jsonb cannot store it). */
  sanitized?: boolean;
  resolve(delivery: RecordedDelivery): void;
  reject(error: unknown): void;
}

/**
 * Stores the deliveries that arrive together with one INSERT and one commit, then queues the new ones as one
 * job (a worker processes them in one transaction); each caller is answered once its delivery is committed.
 * Batches form only under load (see BatchPump).
 */
export class DeliveryBatcher {
  private readonly batches: BatchPump<Waiting>;

  constructor(
    private readonly db: DataSource,
    private readonly queue: JobQueue,
    private readonly log: Logger,
    options: DeliveryBatcherOptions = {},
  ) {
    this.batches = new BatchPump({
      maxSize: options.maxRows ?? 64, maxInFlight: options.maxInFlight ?? 2, sizeOf: () => 1, run: (batch) => this.write(batch),
    });
  }

  /** Stores the delivery (once per receiver and delivery id) and, when it is new and `received`, queues it. */
  record(input: NewDelivery): Promise<RecordedDelivery> {
    return new Promise((resolve, reject) => this.batches.push({ input, resolve, reject }));
  }

  private async write(batch: Waiting[]): Promise<void> {
    let stored: RecordedDelivery[];
    try {
      stored = await recordDeliveries(this.db, batch.map((w) => w.input));
    } catch (error) {
      if (batch.length === 1) {
        const [only] = batch as [Waiting];
        // PostgreSQL's jsonb holds no U+0000; the signature was checked on the bytes, so the stored copy may differ there.
        if (isNulInJson(error) && !only.sanitized) await this.write([{ ...only, input: withoutNul(only.input), sanitized: true }]);
        else only.reject(error);
        return;
      }
      // One delivery the database refuses must not fail the others: each is written on its own.
      await Promise.all(batch.map((w) => this.write([w])));
      return;
    }
    const queued = stored.filter((d) => !d.duplicate && d.status === "received");
    if (queued.length > 0) {
      try {
        const first = queued[0]!.id;
        const ids = queued.map((d) => d.id);
        await this.queue.add("process-delivery", ids.length === 1 ? { deliveryId: first } : { deliveryId: first, deliveryIds: ids }, { jobId: deliveryJobId(first) });
      } catch (error) {
        this.log.warn({ deliveries: queued.length, err: (error as Error).message }, "deliveries stored but not queued; the sweeper queues them later");
      }
    }
    batch.forEach((w, i) => w.resolve(stored[i]!));
  }
}

/** jsonb's "unsupported Unicode escape sequence" for \u0000. */
function isNulInJson(error: unknown): boolean {
  return pgErrorCode(error) === "22P05";
}

/** The delivery with U+0000 in its payload's strings (keys included) replaced by U+FFFD. */
function withoutNul(input: NewDelivery): NewDelivery {
  const clean = (value: unknown): unknown => {
    if (typeof value === "string") return value.replaceAll("\u0000", "\uFFFD");
    if (Array.isArray(value)) return value.map(clean);
    if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [clean(k) as string, clean(v)]));
    return value;
  };
  return { ...input, payload: clean(input.payload) as Record<string, unknown>, payloadJson: undefined };
}
