import type { Probot } from "probot";
import type { DataSource } from "typeorm";
import { commentMarker } from "../../domain/comment-text.js";
import {
  countCommentAttempt, editTaskComment, markCommentPosting, openTaskComment, planTaskComment, recordCommentFailure, recordCommentFound,
  recordCommentPosted, renderTaskComment, skipTaskComment,
} from "../../domain/task-comments.js";
import { openIssueThread } from "../../github/issue-thread.js";
import { rateLimitDelayMs, type GitHubHttpError } from "../../github/rate-limit.js";
import type { Logger } from "../../log.js";
import { RetryLaterError, type JobHandler } from "../queue.js";

export interface CommentDeps {
  db: DataSource;
  probot: Probot;
  /** False while the GitHub App has no credentials: comments are recorded as skipped. */
  appConfigured: boolean;
  log: Logger;
}

/**
 * Posts the task's comment once and edits it afterwards: the comment id is stored, a retry
 * edits; a try interrupted between posting and recording finds its comment by its marker.
 */
export function postTaskComment(deps: CommentDeps): JobHandler<"github-comment"> {
  return async ({ taskId, kind, ref = "", text = "" }, job) => {
    const { db } = deps;
    const opened = await openTaskComment(db, taskId, kind, ref);
    if (!opened || opened.comment.status === "skipped") return;
    const { task, comment } = opened;
    // Most jobs of a status comment find it as it should be: nothing to ask GitHub.
    if (kind === "tracked" && comment.commentId !== undefined && (await renderTaskComment(db, taskId, kind) === comment.body)) return;
    const plan = await planTaskComment(db, task, kind, deps.appConfigured);
    if (plan.skip !== undefined) {
      await skipTaskComment(db, comment.id, plan.skip);
      return;
    }

    await countCommentAttempt(db, comment.id);
    try {
      const thread = await openIssueThread(deps.probot, plan.installationId, task.source!.repository, task.source!.number);
      let commentId = comment.commentId;
      if (commentId === undefined && comment.status === "posting") {
        const found = await thread.findComment(commentMarker(taskId, kind, ref));
        if (found) {
          commentId = found.id;
          await recordCommentFound(db, comment.id, found);
        }
      }
      if (commentId === undefined) {
        if (!(await markCommentPosting(db, comment.id))) throw new RetryLaterError(2000, "another worker is posting this comment");
        const body = await renderTaskComment(db, taskId, kind, ref, text);
        const created = await thread.createComment(body);
        await recordCommentPosted(db, comment.id, body, created);
        // A change made while it was posted asked for a job of its own, which edits it in (and waits while this one posts).
      } else {
        const postedId = commentId;
        await editTaskComment(db, { id: comment.id, taskId, kind, ref, text }, (body) => thread.updateComment(postedId, body));
      }
      if (plan.closeIssue) await thread.close();
    } catch (error) {
      if (error instanceof RetryLaterError) throw error;
      const e = error as GitHubHttpError;
      const wait = rateLimitDelayMs(e);
      const message = `GitHub answered ${e.status ?? "no response"}: ${e.message ?? String(error)}`;
      if (wait !== undefined) {
        // Recorded, so that the try after the wait (or another worker's) may post.
        await recordCommentFailure(db, comment.id, message, false);
        throw new RetryLaterError(wait, `GitHub rate limit: retry in ${wait} ms`);
      }
      // The issue or repository is gone: record it; trying again cannot help.
      const final = e.status === 404 || e.status === 410 || e.status === 422 || job.isLastAttempt;
      await recordCommentFailure(db, comment.id, message, final);
      deps.log.warn({ task_id: taskId, kind, status: e.status, final }, "GitHub comment not posted");
      if (!final) throw error;
    }
  };
}
