import { BatchPump } from "../batch-pump.js";
import { pgErrorCode } from "../db/pg-error-code.js";
import { DeliveryHandlerError, handlerErrors, type BatchedDelivery } from "../domain/delivery-batch.js";

export interface DeliveryBatchesOptions {
  /** Deliveries one batch takes at most (the ids of whole jobs: one job's ids are never split). */
  maxDeliveries?: number;
  /** Batches running at once; the ids of jobs arriving meanwhile wait and form the next batch. */
  maxInFlight?: number;
  /** Deliveries whose handlers may throw before the rest of a batch goes one by one (a GitHub outage fails them all). */
  maxFailures?: number;
}

/** What became of a job's deliveries in the batches that took them. */
export interface BatchResults {
  /** Deliveries a batch processed, by id. */
  processed: Map<string, BatchedDelivery>;
  /** Deliveries whose handlers threw, by id, with the error: each was tried once and is left `received`. */
  failed: Map<string, unknown>;
}

interface Waiting {
  ids: readonly string[];
  resolve(results: BatchResults): void;
}

/**
 * Gathers the delivery ids of the jobs a worker process runs at the same time into batches (see BatchPump), each
 * processed in one transaction by `processBatch`. A delivery whose handlers throw undoes its batch, which runs
 * again without it; the job then deals with its error. When a batch fails otherwise (a deadlock with another,
 * the database), or too many of its deliveries throw, its remaining deliveries are in neither list: each job
 * processes them one by one.
 */
export class DeliveryBatches {
  private readonly batches: BatchPump<Waiting>;
  private readonly maxFailures: number;

  constructor(
    private readonly processBatch: (ids: readonly string[]) => Promise<BatchedDelivery[]>,
    private readonly onBatchError: (error: unknown, deliveries: number) => void,
    options: DeliveryBatchesOptions = {},
  ) {
    this.maxFailures = options.maxFailures ?? 3;
    this.batches = new BatchPump({
      maxSize: options.maxDeliveries ?? 128, maxInFlight: options.maxInFlight ?? 1, sizeOf: (job) => job.ids.length, run: (jobs) => this.run(jobs),
    });
  }

  process(ids: readonly string[]): Promise<BatchResults> {
    return new Promise((resolve) => this.batches.push({ ids, resolve }));
  }

  private async run(jobs: Waiting[]): Promise<void> {
    let ids = [...new Set(jobs.flatMap((job) => job.ids))];
    const results: BatchResults = { processed: new Map(), failed: new Map() };
    while (ids.length > 0) {
      try {
        for (const done of await this.processBatch(ids)) results.processed.set(done.delivery.id, done);
        break;
      } catch (error) {
        // A deadlock with another batch is no fault of the delivery that met it.
        const own = error instanceof DeliveryHandlerError && !isTransactionConflict(error.cause);
        if (!own || !ids.includes(error.deliveryId) || results.failed.size >= this.maxFailures) {
          this.onBatchError(error, ids.length);
          break;
        }
        const failing = error.deliveryId;
        results.failed.set(failing, error.cause);
        ids = ids.filter((id) => id !== failing);
      }
    }
    for (const job of jobs) job.resolve(results);
  }
}

/** A deadlock or serialization failure, also when Probot wraps it with the errors of other handlers. */
function isTransactionConflict(error: unknown): boolean {
  return handlerErrors(error).some((e) => ["40P01", "40001"].includes(pgErrorCode(e) ?? ""));
}
