import { ValidationError } from "./errors.js";

/** Events a webhook may subscribe to; a bare name means every action of it. */
export const EVENT_ACTIONS: Readonly<Record<string, readonly string[]>> = {
  issues: [
    "opened", "edited", "deleted", "closed", "reopened", "labeled", "unlabeled", "assigned", "unassigned",
    "transferred", "pinned", "unpinned", "locked", "unlocked", "milestoned", "demilestoned",
  ],
  pull_request: [
    "opened", "edited", "closed", "merged", "reopened", "labeled", "unlabeled", "assigned", "unassigned",
    "synchronize", "ready_for_review", "converted_to_draft", "review_requested", "review_request_removed",
    "locked", "unlocked", "auto_merge_enabled", "auto_merge_disabled", "enqueued", "dequeued",
  ],
  installation: ["created", "deleted", "suspend", "unsuspend", "new_permissions_accepted"],
  installation_repositories: ["added", "removed"],
  issue_comment: ["created", "edited", "deleted"],
  pull_request_review: ["submitted", "edited", "dismissed"],
  pull_request_review_comment: ["created", "edited", "deleted"],
  push: [],
  ping: [],
};

export function validEventNames(): string[] {
  const names = ["*"];
  for (const [event, actions] of Object.entries(EVENT_ACTIONS)) {
    names.push(event, ...actions.map((action) => `${event}.${action}`));
  }
  return names;
}

const VALID = new Set(validEventNames());

/** Lower-cases, checks, de-duplicates and sorts event names; `issues` absorbs `issues.opened`, `*` absorbs all. */
export function normalizeEvents(events: readonly string[]): string[] {
  const names = [...new Set(events.map((e) => e.trim().toLowerCase()))];
  const unknown = names.filter((name) => !VALID.has(name));
  if (unknown.length > 0) {
    throw new ValidationError(
      `unknown event${unknown.length > 1 ? "s" : ""} ${unknown.map((u) => JSON.stringify(u)).join(", ")}; ` +
        `valid events: ${validEventNames().join(", ")}`,
      "invalid_events",
    );
  }
  if (names.length === 0) throw new ValidationError("events must name at least one event", "invalid_events");
  if (names.includes("*")) return ["*"];
  return names.filter((name) => !(name.includes(".") && names.includes(name.split(".")[0]!))).sort();
}

/** `issues.opened`; `pull_request.merged` for a merged pull request's `closed`; the bare name without an action. */
export function eventType(event: string, payload: { action?: unknown; pull_request?: { merged?: unknown } }): string {
  if (typeof payload.action !== "string") return event;
  if (event === "pull_request" && payload.action === "closed" && payload.pull_request?.merged === true) {
    return "pull_request.merged";
  }
  return `${event}.${payload.action}`;
}

/** Whether a delivery of `type` (as eventType builds it) is one the subscription asks for. */
export function subscribes(events: readonly string[], type: string): boolean {
  if (events.includes("*") || events.includes(type)) return true;
  const [event, action] = type.split(".");
  if (events.includes(event!)) return true;
  // A merged pull request is also a closed one.
  return action === "merged" && events.includes(`${event}.closed`);
}
