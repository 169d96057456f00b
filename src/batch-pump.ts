/**
 * Groups items that wait into batches and runs at most `maxInFlight` batches at once. An item arriving while a
 * batch may start starts one at once, so a batch only forms under load and a lone item waits for nothing; items
 * arriving while the batches run form the next one. A batch takes waiting items in order while their sizes add
 * up to at most `maxSize` (a first item bigger than that goes alone, never split).
 */
export class BatchPump<T> {
  private readonly waiting: T[] = [];
  private inFlight = 0;

  constructor(private readonly options: {
    maxSize: number;
    maxInFlight: number;
    sizeOf: (item: T) => number;
    /** Runs one batch; it deals with its own errors. */
    run: (batch: T[]) => Promise<void>;
  }) {}

  push(item: T): void {
    this.waiting.push(item);
    this.pump();
  }

  private pump(): void {
    const { maxSize, maxInFlight, sizeOf, run } = this.options;
    while (this.inFlight < maxInFlight && this.waiting.length > 0) {
      const batch = [this.waiting.shift()!];
      let size = sizeOf(batch[0]!);
      while (this.waiting.length > 0 && size + sizeOf(this.waiting[0]!) <= maxSize) {
        size += sizeOf(this.waiting[0]!);
        batch.push(this.waiting.shift()!);
      }
      this.inFlight += 1;
      void run(batch).finally(() => {
        this.inFlight -= 1;
        this.pump();
      });
    }
  }
}
