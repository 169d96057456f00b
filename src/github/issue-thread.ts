import type { Probot } from "probot";

export interface PostedComment {
  id: number;
  html_url: string;
}

/** The comments and the state of one issue or pull request, as the App's installation sees them. */
export interface IssueThread {
  /** The first comment whose body holds `marker`. */
  findComment(marker: string): Promise<PostedComment | undefined>;
  createComment(body: string): Promise<PostedComment>;
  updateComment(commentId: number, body: string): Promise<void>;
  /** Closes the issue as completed. */
  close(): Promise<void>;
  /** The App's reaction on the issue, or on one of its comments; GitHub keeps one per user and content. */
  react(content: "eyes" | "+1" | "rocket", commentId?: number): Promise<void>;
}

/** Authenticates as the installation once, for the calls a comment job makes on one issue. */
export async function openIssueThread(probot: Probot, installationId: number, repository: string, number: number): Promise<IssueThread> {
  const octokit = await probot.auth(installationId);
  const [owner, repo] = repository.split("/") as [string, string];
  const issue = { owner, repo, issue_number: number };
  return {
    async findComment(marker) {
      const comments = await octokit.paginate(octokit.rest.issues.listComments, { ...issue, per_page: 100 });
      const found = comments.find((c) => c.body?.includes(marker));
      return found && { id: found.id, html_url: found.html_url };
    },
    async createComment(body) {
      const created = await octokit.rest.issues.createComment({ ...issue, body });
      return { id: created.data.id, html_url: created.data.html_url };
    },
    async updateComment(commentId, body) {
      await octokit.rest.issues.updateComment({ owner, repo, comment_id: commentId, body });
    },
    async close() {
      await octokit.rest.issues.update({ ...issue, state: "closed", state_reason: "completed" });
    },
    async react(content, commentId) {
      if (commentId === undefined) await octokit.rest.reactions.createForIssue({ ...issue, content });
      else await octokit.rest.reactions.createForIssueComment({ owner, repo, comment_id: commentId, content });
    },
  };
}
