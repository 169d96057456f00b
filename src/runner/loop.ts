import { ApiError, RunnerApi } from "./api-client.js";
import { Redactor } from "./redact.js";
import { handleRun } from "./run.js";
import type { RunnerSettings } from "./settings.js";
import { sleep } from "./sleep.js";

/** The runner cannot go on (the app refuses its key): one line on stderr, exit code 2. */
export class FatalRunnerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FatalRunnerError";
  }
}

export interface RunnerIo {
  /** Aborted on SIGINT/SIGTERM: claim no more, stop the run in progress. */
  stopSignal: AbortSignal;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** The long poll's wait: under the usual 30-60 s idle timeouts of proxies. */
const CLAIM_WAIT_S = 25;
const MIN_CLAIM_INTERVAL_MS = 1000;
const FIRST_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 30_000;

/**
 * Claims runs one at a time and handles each, until stopped (or after one run with --once).
 * While the app cannot be reached it waits, 1 s doubling to 30 s, and claims again.
 */
export async function runRunner(settings: RunnerSettings, io: RunnerIo): Promise<void> {
  const redactor = new Redactor([settings.key]);
  const say = (line: string) => io.stderr(`runner: ${redactor.redact(line)}\n`);
  const api = new RunnerApi(settings.url, settings.key);
  const context = { settings, api, redactor, stopSignal: io.stopSignal, say, echo: io.stdout };
  let backoffMs = FIRST_BACKOFF_MS;
  say(`waiting for work from ${settings.url}`);
  while (!io.stopSignal.aborted) {
    let claim;
    const claimedAt = Date.now();
    try {
      claim = await api.claim(CLAIM_WAIT_S, io.stopSignal);
      backoffMs = FIRST_BACKOFF_MS;
    } catch (error) {
      if (io.stopSignal.aborted) break;
      if (!(error instanceof ApiError)) throw error;
      if (error.fatal) throw new FatalRunnerError(`the app refused the key (${error.status}): ${error.message}`);
      say(`claim failed (${error.message}); trying again in ${backoffMs / 1000} s`);
      await sleep(backoffMs, io.stopSignal);
      backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS);
      continue;
    }
    if (claim === null) {
      // An app that answers at once instead of holding the poll is not asked again more than once a second.
      await sleep(MIN_CLAIM_INTERVAL_MS - (Date.now() - claimedAt), io.stopSignal);
      continue;
    }
    try {
      await handleRun(claim, context);
    } catch (error) {
      say(`task #${claim.run.task_id}: could not report run ${claim.run.number} to the app: ${(error as Error).message}`);
    }
    if (settings.once) break;
  }
  say("stopped");
}
