import { describe, expect, it } from "@jest/globals";
import { createRequire } from "node:module";
import { PAYLOAD_SCHEMAS, payloadProblem } from "../../src/domain/github-payloads.js";
import { issueCommentCreated, issueEvent, issueOpened, pullRequestClosed, pullRequestOpened, reviewSubmitted } from "../helpers/github-events.js";

const require = createRequire(import.meta.url);
const examples = require("@octokit/webhooks-examples/api.github.com/index.json") as { name: string; examples: Record<string, any>[] }[];

/** Every example GitHub documents for `event.action`. */
function examplesOf(eventType: string): Record<string, any>[] {
  const [event, action] = eventType.split(".");
  return (examples.find((group) => group.name === event)?.examples ?? []).filter((e) => e.action === action);
}

/** Event types GitHub's examples leave out: the test builders' payloads cover them. */
const UNDOCUMENTED = ["issues.closed", "pull_request.edited"];

describe("payloadProblem: GitHub's example payloads pass", () => {
  it.each(Object.keys(PAYLOAD_SCHEMAS))("%s: every documented example", (eventType) => {
    const documented = examplesOf(eventType);
    if (!UNDOCUMENTED.includes(eventType)) expect(documented.length).toBeGreaterThan(0);
    for (const payload of documented) expect(payloadProblem(eventType, payload)).toBeUndefined();
  });

  it.each([
    ["issues.opened", issueOpened({ labels: ["P0", "auth"], body: null, installationId: 7 })],
    ["issues.labeled", issueEvent("labeled", { labels: ["bug"] }, { label: { name: "bug" } })],
    ["issues.edited", issueEvent("edited", {}, { changes: { title: { from: "old" } } })],
    ["issues.closed", issueEvent("closed", { installationId: null })],
    ["pull_request.opened", pullRequestOpened({ body: "Fixes #12" })],
    ["pull_request.edited", { ...pullRequestOpened(), action: "edited" }],
    ["pull_request.closed", pullRequestClosed({ merged: true })],
    ["issue_comment.created", issueCommentCreated({ commentId: 5, body: "/entourage retry", login: "octocat" })],
    ["pull_request_review.submitted", reviewSubmitted({ reviewId: 9, state: "changes_requested", body: "", login: "octocat" })],
  ])("%s: the test builders' payloads", (eventType, payload) => {
    expect(payloadProblem(eventType, payload)).toBeUndefined();
  });

  it("lets fields the handlers do not read through, and labels given as plain names", () => {
    const payload = issueOpened();
    payload.custom = { anything: true };
    payload.issue.labels = ["bug", { name: "P1", color: "ff0000" }];
    expect(payloadProblem("issues.opened", payload)).toBeUndefined();
  });

  it("checks nothing for events no handler acts on", () => {
    expect(payloadProblem("issues.assigned", {})).toBeUndefined();
    expect(payloadProblem("push", {})).toBeUndefined();
  });
});

type Break = (payload: Record<string, any>) => void;

describe("payloadProblem: the first missing or wrong field is named", () => {
  const issueCases: [string, Break, string][] = [
    ["no issue.number", (p) => delete p.issue.number, "issue.number: expected a positive integer"],
    ["issue.number a string", (p) => (p.issue.number = "42"), "issue.number: expected a positive integer"],
    ["issue.number zero", (p) => (p.issue.number = 0), "issue.number: expected a positive integer"],
    ["issue.number a fraction", (p) => (p.issue.number = 4.2), "issue.number: expected a positive integer"],
    ["no issue", (p) => delete p.issue, "issue: expected an object"],
    ["no repository", (p) => delete p.repository, "repository: expected an object"],
    ["repository.full_name empty", (p) => (p.repository.full_name = ""), "repository.full_name: expected owner/name"],
    ["repository.clone_url a number", (p) => (p.repository.clone_url = 1), "repository.clone_url: expected a string"],
    ["no issue.title", (p) => delete p.issue.title, "issue.title: expected a string"],
    ["issue.body a number", (p) => (p.issue.body = 1), "issue.body: expected a string or null"],
    ["no issue.html_url", (p) => delete p.issue.html_url, "issue.html_url: expected a string"],
    ["labels a string", (p) => (p.issue.labels = "bug"), "issue.labels: expected an array of labels"],
    ["a label without a name", (p) => (p.issue.labels = [{ name: "ok" }, { color: "ededed" }]), "issue.labels[1]: expected a label name or an object with a name"],
    ["installation.id a string", (p) => (p.installation = { id: "7" }), "installation.id: expected a positive integer"],
  ];

  it.each(issueCases)("issues.opened, %s", (_, broken, problem) => {
    const payload = issueOpened();
    broken(payload);
    expect(payloadProblem("issues.opened", payload)).toBe(problem);
    expect(payloadProblem("issues.edited", { ...payload, action: "edited" })).toBe(problem);
  });

  it("issues.closed needs only the repository and the issue's number", () => {
    const payload = issueEvent("closed", { labels: [] });
    payload.issue.labels = "bug";
    delete payload.issue.title;
    expect(payloadProblem("issues.closed", payload)).toBeUndefined();
    delete payload.issue.number;
    expect(payloadProblem("issues.closed", payload)).toBe("issue.number: expected a positive integer");
    delete payload.repository;
    expect(payloadProblem("issues.reopened", payload)).toBe("repository: expected an object");
  });

  it.each<[string, string, () => Record<string, any>, Break]>([
    ["pull_request.opened", "pull_request.labels: expected an array of labels", () => pullRequestOpened(), (p) => (p.pull_request.labels = "bug")],
    ["pull_request.labeled", "pull_request.title: expected a string", () => ({ ...pullRequestOpened(), action: "labeled" }), (p) => delete p.pull_request.title],
    ["pull_request.reopened", "pull_request.number: expected a positive integer", () => ({ ...pullRequestOpened(), action: "reopened" }), (p) => (p.pull_request.number = null)],
    ["pull_request.closed", "pull_request.merged: expected true or false", () => pullRequestClosed({ merged: true }), (p) => (p.pull_request.merged = "yes")],
    ["pull_request.closed", "pull_request.merged: expected true or false", () => pullRequestClosed({ merged: false }), (p) => delete p.pull_request.merged],
    ["pull_request.closed", "pull_request.body: expected a string or null", () => pullRequestClosed({ merged: true }), (p) => (p.pull_request.body = ["Fixes #1"])],
    ["issue_comment.created", "comment.id: expected a positive integer", () => issueCommentCreated({ commentId: 5, body: "hi", login: "octocat" }), (p) => delete p.comment.id],
    ["issue_comment.created", "comment.body: expected a string", () => issueCommentCreated({ commentId: 5, body: "hi", login: "octocat" }), (p) => (p.comment.body = null)],
    ["issue_comment.created", "comment.user: expected an object", () => issueCommentCreated({ commentId: 5, body: "hi", login: "octocat" }), (p) => delete p.comment.user],
    ["issue_comment.created", "comment.user.login: expected a string", () => issueCommentCreated({ commentId: 5, body: "hi", login: "octocat" }), (p) => (p.comment.user.login = 1)],
    ["issue_comment.created", "issue.number: expected a positive integer", () => issueCommentCreated({ commentId: 5, body: "hi", login: "octocat" }), (p) => delete p.issue.number],
    ["pull_request_review.submitted", "review.id: expected a positive integer", () => reviewSubmitted({ reviewId: 9, state: "approved", body: "", login: "octocat" }), (p) => delete p.review.id],
    ["pull_request_review.submitted", "review.state: expected a string", () => reviewSubmitted({ reviewId: 9, state: "approved", body: "", login: "octocat" }), (p) => delete p.review.state],
    ["pull_request_review.submitted", "pull_request: expected an object", () => reviewSubmitted({ reviewId: 9, state: "approved", body: "", login: "octocat" }), (p) => delete p.pull_request],
    ["pull_request_review.submitted", "repository.full_name: expected owner/name", () => reviewSubmitted({ reviewId: 9, state: "approved", body: "", login: "octocat" }), (p) => (p.repository.full_name = null)],
  ])("%s: %s", (eventType, problem, build, broken) => {
    const payload = build();
    broken(payload);
    expect(payloadProblem(eventType, payload)).toBe(problem);
  });

  it("names the repository first when several fields are wrong", () => {
    const payload = issueOpened();
    delete payload.repository;
    delete payload.issue.number;
    expect(payloadProblem("issues.opened", payload)).toBe("repository: expected an object");
  });
});
