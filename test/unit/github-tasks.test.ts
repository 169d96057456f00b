import { describe, expect, it } from "@jest/globals";
import { taskDraftFromGitHub, type IssueOrPullRequestPayload } from "../../src/domain/github-tasks.js";
import { deliverySummary } from "../../src/domain/delivery-summary.js";
import { issueOpened, pullRequestOpened } from "../helpers/github-events.js";

describe("taskDraftFromGitHub", () => {
  it("makes the guide's task from an issue", () => {
    const payload = issueOpened({ number: 42, title: "Login broken on Safari", body: "Steps...", labels: ["critical", "auth"], owner: "acme", repo: "web", installationId: 7 });
    const draft = taskDraftFromGitHub(payload as unknown as IssueOrPullRequestPayload, { provider: "github_app" });
    expect(draft).toEqual({
      title: "[GitHub] Login broken on Safari",
      description: "GitHub Issue #42\n\nSteps...\n\nhttps://github.com/acme/web/issues/42",
      priority: "critical",
      tags: ["github", "issue", "critical", "auth"],
      source: { provider: "github_app", repository: "acme/web", number: 42, kind: "issue", url: "https://github.com/acme/web/issues/42", installation_id: 7 },
    });
  });

  it("makes the guide's task from a pull request", () => {
    const payload = pullRequestOpened({ number: 99, title: "Add rate limiting", body: null, labels: [], owner: "acme", repo: "api", installationId: null });
    const draft = taskDraftFromGitHub(payload as unknown as IssueOrPullRequestPayload, { provider: "github" });
    expect(draft.title).toBe("[GitHub PR] Add rate limiting");
    expect(draft.description).toBe("GitHub PR #99\n\nhttps://github.com/acme/api/pull/99");
    expect(draft.priority).toBe("medium");
    expect(draft.tags).toEqual(["github", "pull_request"]);
    expect(draft.source).toMatchObject({ kind: "pull_request", number: 99, installation_id: null });
  });

  it("uses the webhook's label overrides", () => {
    const payload = issueOpened({ labels: ["sev1"] });
    expect(taskDraftFromGitHub(payload as unknown as IssueOrPullRequestPayload, { provider: "github", labelPriorities: { sev1: "critical" } }).priority).toBe("critical");
  });
});

describe("deliverySummary", () => {
  it("keeps the action and the item's title, not the body", () => {
    const summary = deliverySummary(issueOpened({ title: "Login broken on Safari", body: "secret stuff", owner: "acme", repo: "web" }));
    expect(summary).toMatchObject({ action: "opened", issue: { title: "Login broken on Safari" }, repository: "acme/web" });
    expect(JSON.stringify(summary)).not.toContain("secret stuff");
  });
});
