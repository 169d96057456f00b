import type { AgentExit } from "./agent-process.js";
import type { FinishReport } from "./api-client.js";
import type { StopCause } from "./run-session.js";

/** What the finish call says of a run, its log apart. */
export type FinishOutcome = Omit<FinishReport, "log">;

/** The finish report of a run stopped from outside its command. */
export function stoppedReport(cause: StopCause, exit?: AgentExit): FinishOutcome {
  const exitCode = exit?.exitCode ?? null;
  switch (cause.kind) {
    case "cancelled":
      return { exit_code: exitCode, timed_out: false, cancelled: true };
    case "timeout":
      return { exit_code: exitCode, timed_out: true, cancelled: false };
    case "stopped":
      return { exit_code: exitCode, timed_out: false, cancelled: false, error: "the runner was stopped" };
    case "lost":
      return { exit_code: exitCode, timed_out: false, cancelled: false, error: `the app no longer counts this run as running: ${cause.reason}` };
  }
}

/** The runner's one-line account of why a run stopped. */
export function describeCause(cause: StopCause, timeoutS: number): string {
  switch (cause.kind) {
    case "cancelled":
      return `cancelled: ${cause.reason}`;
    case "timeout":
      return `timed out after ${timeoutS} s`;
    case "stopped":
      return "the runner was stopped";
    case "lost":
      return `lost: ${cause.reason}`;
  }
}

/** A finished run in a few words, for the runner's own log. */
export function describeOutcome(outcome: FinishOutcome): string {
  if (outcome.error) return outcome.error;
  if (outcome.cancelled) return "cancelled";
  if (outcome.timed_out) return "timed out";
  return `exit ${outcome.exit_code}`;
}
