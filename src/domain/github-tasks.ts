import type { TaskPriority, TaskSource } from "../db/entities/task.js";
import { priorityFromLabels } from "./priorities.js";

export interface TaskDraft {
  title: string;
  description: string;
  priority: TaskPriority;
  tags: string[];
  source: TaskSource;
}

interface GitHubItem {
  number: number;
  title: string;
  body?: string | null;
  html_url: string;
  labels?: ({ name?: string } | string)[];
}

export interface IssueOrPullRequestPayload {
  issue?: GitHubItem;
  pull_request?: GitHubItem;
  repository: { full_name: string; clone_url?: string; default_branch?: string };
  installation?: { id: number };
}

export function labelNames(item: GitHubItem): string[] {
  return (item.labels ?? [])
    .map((label) => (typeof label === "string" ? label : label.name ?? ""))
    .filter((name) => name.length > 0);
}

/** The task a GitHub issue or pull request becomes. */
export function taskDraftFromGitHub(
  payload: IssueOrPullRequestPayload,
  options: { provider: TaskSource["provider"]; labelPriorities?: Record<string, TaskPriority> },
): TaskDraft {
  const isPullRequest = payload.pull_request !== undefined;
  const item = (payload.pull_request ?? payload.issue)!;
  const labels = labelNames(item);
  const kind = isPullRequest ? "pull_request" : "issue";
  const heading = isPullRequest ? `GitHub PR #${item.number}` : `GitHub Issue #${item.number}`;
  const body = item.body?.trim() ? `\n\n${item.body}` : "";
  return {
    title: `${isPullRequest ? "[GitHub PR]" : "[GitHub]"} ${item.title}`,
    description: `${heading}${body}\n\n${item.html_url}`,
    priority: priorityFromLabels(labels, options.labelPriorities),
    tags: [...new Set(["github", kind, ...labels])],
    source: {
      provider: options.provider,
      repository: payload.repository.full_name,
      number: item.number,
      kind,
      url: item.html_url,
      installation_id: payload.installation?.id ?? null,
      ...(payload.repository.clone_url ? { clone_url: payload.repository.clone_url } : {}),
      ...(payload.repository.default_branch ? { default_branch: payload.repository.default_branch } : {}),
    },
  };
}
