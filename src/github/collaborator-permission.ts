import type { ProbotOctokit } from "probot";
import type { PermissionOf, RepositoryPermission } from "../domain/conversation.js";
import type { GitHubReadCache } from "./read-cache.js";

const PERMISSIONS: readonly RepositoryPermission[] = ["admin", "maintain", "write", "triage", "read", "none"];

/** A commenter's permission, kept this long: a revoked collaborator stops steering within minutes. */
export const PERMISSION_TTL_MS = 5 * 60_000;

/**
 * What a GitHub user may do on one repository, as GitHub's collaborator permission API says (its role
 * name: maintain and triage included), through the installation; someone GitHub does not know has none.
 */
export function collaboratorPermission(cache: GitHubReadCache<RepositoryPermission>, octokit: InstanceType<typeof ProbotOctokit>, repository: string): PermissionOf {
  const [owner, repo] = repository.split("/") as [string, string];
  return async (login) => {
    const permission = await cache.get(`${repository} ${login}`, async () => {
      try {
        const answer = await octokit.rest.repos.getCollaboratorPermissionLevel({ owner, repo, username: login });
        const role = (answer.data.role_name ?? answer.data.permission) as RepositoryPermission;
        return PERMISSIONS.includes(role) ? role : (answer.data.permission as RepositoryPermission);
      } catch (error) {
        if ((error as { status?: number }).status === 404) return "none";
        throw error;
      }
    });
    return permission ?? "none";
  };
}
