import { EntitySchema } from "typeorm";
import { createdAt, updatedAt, uuidPrimary } from "./columns.js";
import { oneOf, references } from "./constraints.js";

export const GITHUB_COMMENT_KINDS = ["tracked", "resolved", "needs_human", "question", "reply"] as const;
export const GITHUB_COMMENT_STATUSES = ["pending", "posting", "posted", "skipped", "failed"] as const;
export type GitHubCommentKind = (typeof GITHUB_COMMENT_KINDS)[number];
export type GitHubCommentStatus = (typeof GITHUB_COMMENT_STATUSES)[number];

/** A comment of the App on a task's GitHub issue: one per kind and ref (a question's event, a command's comment); a retry edits it. */
export interface GitHubComment {
  id: string;
  task_id: number;
  org_id: string;
  kind: GitHubCommentKind;
  /** Which one of its kind: '' for the one-per-task kinds, the question's event id, the answered comment's id. */
  ref: string;
  status: GitHubCommentStatus;
  /** GitHub's id of the comment, once posted. */
  comment_id: number | null;
  comment_url: string | null;
  body: string | null;
  error: string | null;
  attempts: number;
  created_at: Date;
  updated_at: Date;
}

export const GitHubCommentEntity = new EntitySchema<GitHubComment>({
  name: "GitHubComment",
  tableName: "github_comments",
  columns: {
    id: uuidPrimary,
    task_id: { type: "integer" },
    org_id: { type: "uuid" },
    kind: { type: "text" },
    ref: { type: "text", default: "" },
    status: { type: "text", default: "pending" },
    comment_id: { type: "bigint", nullable: true },
    comment_url: { type: "text", nullable: true },
    body: { type: "text", nullable: true },
    error: { type: "text", nullable: true },
    attempts: { type: "integer", default: 0 },
    created_at: createdAt,
    updated_at: updatedAt,
  },
  uniques: [{ columns: ["task_id", "kind", "ref"] }],
  checks: [oneOf("github_comments", "kind", GITHUB_COMMENT_KINDS), oneOf("github_comments", "status", GITHUB_COMMENT_STATUSES)],
  foreignKeys: [references("task_id", "Task"), references("org_id", "Organization")],
});
