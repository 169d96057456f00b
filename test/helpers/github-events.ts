import { createHmac, randomUUID } from "node:crypto";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const examples = require("@octokit/webhooks-examples/api.github.com/index.json") as {
  name: string;
  examples: Record<string, unknown>[];
}[];

/** A real example payload from GitHub's documentation (@octokit/webhooks-examples), deep-copied. */
export function example(event: string, action?: string, index = 0): Record<string, any> {
  const group = examples.find((e) => e.name === event);
  const matching = (group?.examples ?? []).filter((e) => action === undefined || e.action === action);
  const found = matching[index];
  if (!found) throw new Error(`no example for ${event}.${action}`);
  return structuredClone(found) as Record<string, any>;
}

export interface ItemOptions {
  number?: number;
  title?: string;
  body?: string | null;
  labels?: string[];
  owner?: string;
  repo?: string;
  installationId?: number | null;
  senderType?: "User" | "Bot";
  senderLogin?: string;
  /** The repository's clone URL; by default GitHub's https one for owner/repo. */
  cloneUrl?: string;
}

function customize(payload: Record<string, any>, key: "issue" | "pull_request", options: ItemOptions): Record<string, any> {
  const item = payload[key];
  const owner = options.owner ?? payload.repository.owner.login;
  const repo = options.repo ?? payload.repository.name;
  payload.repository.owner.login = owner;
  payload.repository.name = repo;
  payload.repository.full_name = `${owner}/${repo}`;
  payload.repository.clone_url = options.cloneUrl ?? `https://github.com/${owner}/${repo}.git`;
  if (options.number !== undefined) item.number = options.number;
  if (options.title !== undefined) item.title = options.title;
  if (options.body !== undefined) item.body = options.body;
  if (options.labels) item.labels = options.labels.map((name, i) => ({ id: 1000 + i, name, color: "ededed" }));
  item.html_url = `https://github.com/${owner}/${repo}/${key === "issue" ? "issues" : "pull"}/${item.number}`;
  if (options.installationId === null) delete payload.installation;
  else if (options.installationId !== undefined) payload.installation = { id: options.installationId, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ==" };
  if (options.senderType) payload.sender.type = options.senderType;
  if (options.senderLogin) payload.sender.login = options.senderLogin;
  return payload;
}

export function issueOpened(options: ItemOptions = {}): Record<string, any> {
  return customize(example("issues", "opened"), "issue", options);
}

export function pullRequestOpened(options: ItemOptions = {}): Record<string, any> {
  return customize(example("pull_request", "opened"), "pull_request", options);
}

/** `sha256=<hex>`, computed the way the guide's Python snippet does. */
export function signature(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

export interface SignedRequest {
  headers: Record<string, string>;
  payload: string;
  deliveryId: string;
}

export function signedDelivery(secret: string, event: string, payload: unknown, deliveryId: string = randomUUID()): SignedRequest {
  const body = JSON.stringify(payload);
  return {
    deliveryId,
    payload: body,
    headers: {
      "content-type": "application/json",
      "x-github-event": event,
      "x-github-delivery": deliveryId,
      "x-hub-signature-256": signature(secret, body),
    },
  };
}

/** An issues event of any action, built on the opened example; `extra` adds fields such as `label` or `changes`. */
export function issueEvent(action: string, options: ItemOptions = {}, extra: Record<string, unknown> = {}): Record<string, any> {
  return { ...issueOpened(options), action, ...extra };
}

/** pull_request.closed, merged or not, with the body that may link issues. */
export function pullRequestClosed(options: ItemOptions & { merged: boolean }): Record<string, any> {
  const payload = pullRequestOpened(options);
  payload.action = "closed";
  payload.pull_request.merged = options.merged;
  payload.pull_request.state = "closed";
  return payload;
}

/** issue_comment.created on an issue (or, `onPullRequest`, a pull request) by `login`. */
export function issueCommentCreated(options: ItemOptions & { commentId: number; body: string; login: string; userType?: "User" | "Bot"; onPullRequest?: boolean }): Record<string, any> {
  const payload = customize(example("issue_comment", "created"), "issue", { ...options, senderLogin: options.login, senderType: options.userType });
  if (options.onPullRequest) payload.issue.pull_request = { url: payload.issue.url };
  else delete payload.issue.pull_request;
  payload.comment.id = options.commentId;
  payload.comment.body = options.body;
  payload.comment.user.login = options.login;
  payload.comment.user.type = options.userType ?? "User";
  return payload;
}

/** pull_request_review.submitted on pull request `number` by `login`. */
export function reviewSubmitted(options: ItemOptions & { reviewId: number; state: "approved" | "changes_requested" | "commented"; body: string; login: string }): Record<string, any> {
  const payload = customize(example("pull_request_review", "submitted"), "pull_request", { ...options, body: undefined, senderLogin: options.login });
  payload.review.id = options.reviewId;
  payload.review.state = options.state;
  payload.review.body = options.body;
  payload.review.user.login = options.login;
  payload.review.user.type = "User";
  return payload;
}
