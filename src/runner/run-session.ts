import { ApiError, type ClaimedRun, type RunnerApi } from "./api-client.js";
import { MAX_LOG_BYTES_PER_CALL, type RunLog } from "./run-log.js";
import { sleep } from "./sleep.js";

/** Why a run stopped before its command ended on its own. */
export type StopCause =
  | { kind: "cancelled"; reason: string }
  | { kind: "timeout" }
  | { kind: "stopped" }
  | { kind: "lost"; reason: string };

const DEFAULT_HEARTBEAT_S = 3;

/**
 * One claimed run's link to the app: heartbeats that carry the log and bring back a cancel, and the one
 * place that decides the run must stop. Every step of the run watches `signal`.
 */
export class RunSession {
  /** Aborted when the run must stop (cancel, timeout, lost, the runner stopping); `cause` says why. */
  readonly signal: AbortSignal;
  cause?: StopCause;
  private readonly stopper = new AbortController();
  private readonly ended = new AbortController();
  private beating?: Promise<void>;
  private warned = false;

  constructor(
    readonly claim: ClaimedRun,
    private readonly api: RunnerApi,
    readonly log: RunLog,
    private readonly say: (line: string) => void,
  ) {
    this.signal = this.stopper.signal;
  }

  /** Stops the run for the first cause given; later ones change nothing. */
  stop(cause: StopCause): void {
    if (this.cause) return;
    this.cause = cause;
    this.stopper.abort();
  }

  /** Starts the heartbeats, every heartbeat_interval_s until end(). */
  start(): void {
    const intervalMs = Math.max(1, this.claim.run.heartbeat_interval_s ?? DEFAULT_HEARTBEAT_S) * 1000;
    this.beating = (async () => {
      while (!this.ended.signal.aborted) {
        await sleep(intervalMs, this.ended.signal);
        if (this.ended.signal.aborted) break;
        await this.sendLog(0, true);
      }
    })();
  }

  /** Stops the heartbeats and waits for the one in flight. */
  async end(): Promise<void> {
    this.ended.abort();
    await this.beating;
  }

  /**
   * Sends the waiting log in heartbeats of at most 256 KiB until no more than keepBytes are left;
   * with always, one heartbeat even when there is nothing to send. False when the app did not take it.
   */
  async sendLog(keepBytes: number, always = false): Promise<boolean> {
    if (this.cause?.kind === "lost") return false;
    while (always || this.log.size > keepBytes) {
      always = false;
      if (!(await this.heartbeat(this.log.take(MAX_LOG_BYTES_PER_CALL)))) return false;
    }
    return true;
  }

  private async heartbeat(chunk: string): Promise<boolean> {
    try {
      const answer = await this.api.heartbeat(this.claim.run.id, chunk);
      this.warned = false;
      if (answer.cancel) this.stop({ kind: "cancelled", reason: answer.reason ?? "cancelled in the app" });
      return true;
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.status === 409 || error.fatal) {
        this.stop({ kind: "lost", reason: error.message });
        return false;
      }
      // The app may be restarting: keep the log for the next heartbeat, and say so once.
      if (error.retryable) this.log.giveBack(chunk);
      if (!this.warned) this.say(`task #${this.claim.run.task_id}: heartbeat failed (${error.message})`);
      this.warned = true;
      return false;
    }
  }
}
