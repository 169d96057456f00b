import { describe, expect, it } from "@jest/globals";
import type { EmitterWebhookEvent } from "@octokit/webhooks";
import { taskDraftFromGitHub } from "../../src/domain/github-tasks.js";
import { deliverySummary } from "../../src/domain/delivery-summary.js";
import { tagsFromLabels } from "../../src/domain/github-intake.js";
import { mergeSettings } from "../../src/domain/intake.js";
import { issueOpened, pullRequestOpened } from "../helpers/github-events.js";

// GitHub's payload types, so that the compiler checks they fit what the domain reads.
type IssueOpened = EmitterWebhookEvent<"issues.opened">["payload"];
type PullRequestOpened = EmitterWebhookEvent<"pull_request.opened">["payload"];

describe("taskDraftFromGitHub", () => {
  it("makes the guide's task from an issue", () => {
    const payload = issueOpened({ number: 42, title: "Login broken on Safari", body: "Steps...", labels: ["critical", "auth"], owner: "acme", repo: "web", installationId: 7 });
    const draft = taskDraftFromGitHub(payload as IssueOpened, { provider: "github_app" });
    expect(draft).toEqual({
      title: "[GitHub] Login broken on Safari",
      description: "GitHub Issue #42\n\nSteps...\n\nhttps://github.com/acme/web/issues/42",
      priority: "critical",
      tags: ["github", "issue", "critical", "auth"],
      source: { provider: "github_app", repository: "acme/web", number: 42, kind: "issue", url: "https://github.com/acme/web/issues/42", installation_id: 7,
        clone_url: "https://github.com/acme/web.git", default_branch: "master" },
    });
  });

  it("makes the guide's task from a pull request", () => {
    const payload = pullRequestOpened({ number: 99, title: "Add rate limiting", body: null, labels: [], owner: "acme", repo: "api", installationId: null });
    const draft = taskDraftFromGitHub(payload as PullRequestOpened, { provider: "github" });
    expect(draft.title).toBe("[GitHub PR] Add rate limiting");
    expect(draft.description).toBe("GitHub PR #99\n\nhttps://github.com/acme/api/pull/99");
    expect(draft.priority).toBe("medium");
    expect(draft.tags).toEqual(["github", "pull_request"]);
    expect(draft.source).toMatchObject({ kind: "pull_request", number: 99, installation_id: null });
  });

  it("uses the webhook's label overrides", () => {
    const payload = issueOpened({ labels: ["sev1"] });
    expect(taskDraftFromGitHub(payload as IssueOpened, { provider: "github", labelPriorities: { sev1: "critical" } }).priority).toBe("critical");
  });
});

describe("deliverySummary", () => {
  it("keeps the action and the item's title, not the body", () => {
    const summary = deliverySummary(issueOpened({ title: "Login broken on Safari", body: "secret stuff", owner: "acme", repo: "web" }));
    expect(summary).toMatchObject({ action: "opened", issue: { title: "Login broken on Safari" }, repository: "acme/web" });
    expect(JSON.stringify(summary)).not.toContain("secret stuff");
  });
});

describe("tagsFromLabels", () => {
  it.each([
    ["a label added", ["github", "issue", "bug"], ["bug"], ["bug", "P0"], ["github", "issue", "bug", "P0"], ["bug", "P0"]],
    ["labels gone while deliveries were missed", ["github", "issue", "bug", "P0"], ["bug", "P0"], ["ui"], ["github", "issue", "ui"], ["ui"]],
    ["a tag added by hand stays when its label goes", ["github", "issue", "mine"], [], ["mine"], ["github", "issue", "mine"], []],
    ["a label removed by hand comes back while the label is on", ["github", "issue"], ["bug"], ["bug"], ["github", "issue", "bug"], ["bug"]],
    ["a label named like a built-in tag", ["github", "issue"], [], ["github", "github"], ["github", "issue"], []],
  ])("%s", (_, tags, labelTags, labels, expectedTags, expectedLabelTags) => {
    expect(tagsFromLabels(tags, labelTags, labels)).toEqual({ tags: expectedTags, labelTags: expectedLabelTags });
  });
});

describe("mergeSettings", () => {
  it("lets the webhook's config win where both set a value, and label priorities merge label by label", () => {
    const merged = mergeSettings(
      { auto_assign: false, close_issue: null, label_priorities: { sev2: "high" } },
      { auto_assign: true, close_issue: true, team: "frontend", label_priorities: { sev1: "critical", sev2: "low" } },
    );
    expect(merged).toEqual({ auto_assign: false, close_issue: true, team: "frontend", label_priorities: { sev1: "critical", sev2: "high" } });
    expect(mergeSettings({ auto_assign: true }, undefined)).toEqual({ auto_assign: true });
  });
});
