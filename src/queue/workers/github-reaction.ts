import type { Probot } from "probot";
import type { DataSource } from "typeorm";
import { reactionTarget } from "../../domain/task-comments.js";
import { openIssueThread } from "../../github/issue-thread.js";
import { rateLimitDelayMs, type GitHubHttpError } from "../../github/rate-limit.js";
import type { Logger } from "../../log.js";
import { RetryLaterError, type JobHandler } from "../queue.js";

export interface ReactionDeps {
  db: DataSource;
  probot: Probot;
  appConfigured: boolean;
  log: Logger;
}

/** Adds the App's reaction (👀 when an agent picks the issue up, 👍 for a command done); adding it twice keeps one. */
export function addTaskReaction(deps: ReactionDeps): JobHandler<"github-reaction"> {
  return async ({ taskId, content, commentId }) => {
    const target = await reactionTarget(deps.db, taskId);
    if (!target || !deps.appConfigured) return;
    try {
      const thread = await openIssueThread(deps.probot, target.installationId, target.repository, target.number);
      await thread.react(content, commentId);
    } catch (error) {
      const e = error as GitHubHttpError;
      const wait = rateLimitDelayMs(e);
      if (wait !== undefined) throw new RetryLaterError(wait, `GitHub rate limit: retry in ${wait} ms`);
      // The issue or comment is gone: nothing to react to.
      if (e.status === 404 || e.status === 410) {
        deps.log.warn({ task_id: taskId, content, status: e.status }, "GitHub reaction not added");
        return;
      }
      throw error;
    }
  };
}
