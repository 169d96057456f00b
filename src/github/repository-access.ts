import type { Probot } from "probot";

export interface PushToken {
  token: string;
  expires_at: string;
}

export interface PullRequestDraft {
  /** The branch the run pushed. */
  head: string;
  /** The branch to merge into; unset: the repository's default branch. */
  base?: string;
  title: string;
  body: string;
  draft: boolean;
}

export interface OpenedPullRequest {
  number: number;
  url: string;
}

/** What an agent's run needs of GitHub: a push token for one repository, and its pull request opened as the App. */
export interface RepositoryAccess {
  pushToken(installationId: number, repository: string): Promise<PushToken>;
  openPullRequest(installationId: number, repository: string, draft: PullRequestDraft): Promise<OpenedPullRequest>;
}

function split(repository: string): { owner: string; repo: string } {
  const [owner, repo] = repository.split("/") as [string, string];
  return { owner, repo };
}

/** GitHub's answer when a pull request for the same head and base is already open, or drafts are not available. */
function unprocessable(error: unknown, text: RegExp): boolean {
  const e = error as { status?: number; message?: string };
  return e.status === 422 && text.test(e.message ?? "");
}

export function repositoryAccess(probot: Probot): RepositoryAccess {
  return {
    async pushToken(installationId, repository) {
      const octokit = await probot.auth();
      const created = await octokit.rest.apps.createInstallationAccessToken({
        installation_id: installationId,
        repositories: [split(repository).repo],
        permissions: { contents: "write" },
      });
      return { token: created.data.token, expires_at: created.data.expires_at };
    },

    async openPullRequest(installationId, repository, draft) {
      const octokit = await probot.auth(installationId);
      const { owner, repo } = split(repository);
      const findOpen = async (): Promise<OpenedPullRequest | undefined> => {
        const open = await octokit.rest.pulls.list({ owner, repo, head: `${owner}:${draft.head}`, state: "open", per_page: 1 });
        const found = open.data[0];
        return found && { number: found.number, url: found.html_url };
      };
      const existing = await findOpen();
      if (existing) return existing;
      const base = draft.base ?? (await octokit.rest.repos.get({ owner, repo })).data.default_branch;
      const create = (asDraft: boolean) => octokit.rest.pulls.create({ owner, repo, head: draft.head, base, title: draft.title, body: draft.body, draft: asDraft });
      try {
        const created = await create(draft.draft).catch((error: unknown) => {
          // Some plans have no draft pull requests: an open one is better than none.
          if (draft.draft && unprocessable(error, /draft/i)) return create(false);
          throw error;
        });
        return { number: created.data.number, url: created.data.html_url };
      } catch (error) {
        // Another call opened it meanwhile.
        const opened = unprocessable(error, /already exists/i) ? await findOpen() : undefined;
        if (opened) return opened;
        throw error;
      }
    },
  };
}
