import type { EmitterWebhookEventName } from "@octokit/webhooks";
import type { ApplicationFunction, Context } from "probot";
import type { DataSource } from "typeorm";
import { z } from "zod";
import { TASK_PRIORITIES } from "./db/entities/task.js";
import { openTask, syncIssueContent, syncIssueState, syncPullRequestClosed } from "./domain/github-intake.js";
import { handleIssueComment, handleReview, type PermissionOf, type RepositoryPermission } from "./domain/conversation.js";
import type { FinishedDeliveries, FinishedOutcome } from "./domain/deliveries.js";
import { handleDelivery, type IntakeDecision, type RepositorySettings } from "./domain/intake.js";
import { applyInstallationEvent } from "./domain/installations.js";
import { collaboratorPermission, PERMISSION_TTL_MS } from "./github/collaborator-permission.js";
import { GitHubReadCache } from "./github/read-cache.js";

export interface AppDeps {
  db: DataSource;
  /** Read .github/entourage.yml through the installation (needs App credentials). */
  readRepositorySettings: boolean;
  /** How long a repository's settings are reused before GitHub is asked again; 0 reads them for every delivery. */
  repositorySettingsTtlMs: number;
  /** Where a handler leaves the timing of the delivery it ended, for the job that ran it. */
  finished?: FinishedDeliveries;
}

export const REPOSITORY_SETTINGS_FILE = "entourage.yml";

const repositorySettingsSchema = z.object({
  team: z.string().min(1).optional(),
  auto_assign: z.boolean().optional(),
  comment_on_create: z.boolean().optional(),
  close_issue: z.boolean().optional(),
  label_priorities: z.record(z.string(), z.enum(TASK_PRIORITIES)).optional(),
  draft_pull_requests: z.boolean().optional(),
});

/** One entry per GitHub event: which domain decision handles it. */
const DECISIONS = [
  [["issues.opened", "pull_request.opened"], openTask],
  [["issues.closed", "issues.reopened", "pull_request.reopened"], syncIssueState],
  [["issues.labeled", "issues.unlabeled", "issues.edited", "pull_request.labeled", "pull_request.unlabeled", "pull_request.edited"], syncIssueContent],
  [["pull_request.closed"], syncPullRequestClosed],
] as const satisfies readonly (readonly [readonly EmitterWebhookEventName[], IntakeDecision])[];

/** An event of the table as Probot gives it, its payload typed by @octokit/webhooks. */
type ItemContext = Context<(typeof DECISIONS)[number][0][number]>;

/**
 * The Probot app: GitHub events → domain calls. The event's `id` is the stored delivery's id,
 * so each handler records its own outcome on it.
 */
export function entourageApp(deps: AppDeps): ApplicationFunction {
  const cache = new GitHubReadCache<RepositorySettings>(deps.repositorySettingsTtlMs);
  const permissions = new GitHubReadCache<RepositoryPermission>(PERMISSION_TTL_MS);

  function settingsOf(context: Context): Promise<RepositorySettings | undefined> {
    if (!deps.readRepositorySettings) return Promise.resolve(undefined);
    const { installation, repository } = context.payload as { installation?: { id: number }; repository?: { full_name: string } };
    return cache.get(`${installation?.id ?? ""} ${repository?.full_name ?? ""}`, () => readSettings(context));
  }

  async function readSettings(context: Context): Promise<RepositorySettings | undefined> {
    let raw: Record<string, unknown> | null;
    try {
      raw = await context.config<Record<string, unknown>>(REPOSITORY_SETTINGS_FILE);
    } catch (error) {
      // GitHub not answering is worth a retry; a file that does not parse is the repository's to fix.
      if ((error as { status?: number }).status !== undefined) throw error;
      context.log.warn({ file: REPOSITORY_SETTINGS_FILE, err: (error as Error).message }, "repository settings ignored: not readable");
      return undefined;
    }
    if (!raw) return undefined;
    const parsed = repositorySettingsSchema.safeParse(raw);
    if (!parsed.success) {
      context.log.warn({ file: REPOSITORY_SETTINGS_FILE, issues: parsed.error.issues.map((i) => i.path.join(".")) }, "repository settings ignored: not valid");
      return undefined;
    }
    return parsed.data;
  }

  function ended(context: Context, outcome: FinishedOutcome): void {
    deps.finished?.record(context.id, outcome.timing);
  }

  return (app) => {
    for (const [events, decide] of DECISIONS) {
      app.on([...events], async (context: ItemContext) => {
        ended(context, await handleDelivery(deps.db, context.id, decide, () => settingsOf(context), context.payload));
      });
    }
    // The payload is read inside the decisions: route() has checked it by then (src/domain/github-payloads.ts).
    app.on("issue_comment.created", async (context) => {
      const permissionOf: PermissionOf = (login) => collaboratorPermission(permissions, context.octokit, context.payload.repository.full_name)(login);
      ended(context, await handleDelivery(deps.db, context.id, (intake) => handleIssueComment(intake, permissionOf), () => settingsOf(context), context.payload));
    });
    app.on("pull_request_review.submitted", async (context) => {
      const lineComments = async () => {
        const { repository, pull_request: pr, review } = context.payload;
        const [owner, repo] = repository.full_name.split("/") as [string, string];
        const comments = await context.octokit.paginate(context.octokit.rest.pulls.listCommentsForReview, { owner, repo, pull_number: pr.number, review_id: review.id, per_page: 100 });
        return comments.map((c) => ({ path: c.path, line: c.line ?? c.original_line ?? null, body: c.body }));
      };
      ended(context, await handleDelivery(deps.db, context.id, (intake) => handleReview(intake, lineComments), () => settingsOf(context), context.payload));
    });
    app.on(["installation", "installation_repositories"], async (context) => {
      ended(context, await applyInstallationEvent(deps.db, context.id, async () => {
        const repositories = await context.octokit.paginate(context.octokit.rest.apps.listReposAccessibleToInstallation, { per_page: 100 });
        return repositories.map((repository) => repository.full_name);
      }));
    });
  };
}
