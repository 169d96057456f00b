// Signed `issues.opened` deliveries built from GitHub's own example payload, sized by the issue body.
import { createHmac } from "node:crypto";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const examples = require("@octokit/webhooks-examples/api.github.com/index.json");

/** The payload's repository owner: the organization's github_login must match it for a task to be made. */
export const PAYLOAD_OWNER = "Codertocat";
export const INSTALLATION_ID = 4_242_001;

/** Stands in for the issue number in a template; replaced per request so every delivery is a new issue. */
const NUMBER_SLOT = "987654321";
/** Numbers start here so every body has the same number of digits for the run. */
export const FIRST_ISSUE_NUMBER = 10_000_000;

const BODY_LINE =
  "It looks like you accidently spelled 'commit' with two 't's. Steps: open README.md, search for 'committ', fix it.\n";

function issueOpenedExample() {
  const group = examples.find((e) => e.name === "issues");
  const found = group?.examples.find((e) => e.action === "opened");
  if (!found) throw new Error("@octokit/webhooks-examples has no issues.opened example");
  return JSON.parse(JSON.stringify(found));
}

/** Drops API hypermedia links (`*_url`), keeping `html_url`: GitHub sends them, nothing reads them. */
function dropApiLinks(value) {
  if (Array.isArray(value)) {
    value.forEach(dropApiLinks);
  } else if (value && typeof value === "object") {
    for (const key of Object.keys(value)) {
      if ((key.endsWith("_url") && key !== "html_url") || key === "url" || key === "node_id" || key === "gravatar_id") delete value[key];
      else dropApiLinks(value[key]);
    }
  }
}

const REPOSITORY_KEPT = ["id", "name", "full_name", "private", "owner", "html_url", "description", "fork", "created_at", "updated_at",
  "pushed_at", "default_branch", "visibility"];

/** The example made smaller, for payloads below its own ~12 KB: what a task needs and the identity fields stay. */
function trimmed(payload) {
  dropApiLinks(payload);
  const issue = payload.issue;
  issue.assignee = null;
  issue.assignees = [];
  issue.milestone = null;
  delete issue.reactions;
  payload.repository = Object.fromEntries(REPOSITORY_KEPT.filter((k) => k in payload.repository).map((k) => [k, payload.repository[k]]));
  return payload;
}

/** The example with an installation (the App endpoint routes by it) and the number slot in place. */
function basePayload(targetBytes) {
  const full = issueOpenedExample();
  const payload = JSON.stringify(full).length > targetBytes ? trimmed(full) : full;
  payload.installation = { id: INSTALLATION_ID, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ==" };
  const owner = payload.repository.owner.login;
  const name = payload.repository.name;
  payload.issue.number = Number(NUMBER_SLOT);
  payload.issue.html_url = `https://github.com/${owner}/${name}/issues/${NUMBER_SLOT}`;
  if ("url" in payload.issue) payload.issue.url = `https://api.github.com/repos/${owner}/${name}/issues/${NUMBER_SLOT}`;
  payload.issue.title = `Spelling error in the README file (bench ${NUMBER_SLOT})`;
  return payload;
}

/**
 * A payload template of `targetBytes` once the number is in: the issue body makes up the
 * difference. Returns the JSON split around the number slot.
 */
export function issueOpenedTemplate(targetBytes) {
  const payload = basePayload(targetBytes);
  const size = (body) => {
    payload.issue.body = body;
    return Buffer.byteLength(JSON.stringify(payload).split(NUMBER_SLOT).join(String(FIRST_ISSUE_NUMBER)));
  };
  let body = "";
  while (size(body + BODY_LINE) <= targetBytes) body += BODY_LINE;
  // The rest is plain ASCII without newlines: one byte each in the JSON.
  const rest = Math.max(targetBytes - size(body), 0);
  body += BODY_LINE.replace(/\n/g, " ").repeat(Math.ceil(rest / BODY_LINE.length) + 1).slice(0, rest);
  return { parts: JSON.stringify({ ...payload, issue: { ...payload.issue, body } }).split(NUMBER_SLOT), bytes: size(body) };
}

/** `sha256=<hex>` over the exact body, as GitHub signs it. */
export function signature(secret, body) {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

/** Hands out issue numbers unique for the whole run, shared by every phase and receiver. */
export function issueNumbers(first = FIRST_ISSUE_NUMBER) {
  let next = first;
  return { take: () => next++ };
}

/**
 * Builds the next signed delivery for a phase: a new issue number and a delivery id
 * `<tag>-<number>`, so the rows of a phase can be found by their id's prefix.
 */
export function deliveryMaker({ template, secret, tag, numbers }) {
  return () => {
    const number = numbers.take();
    const body = template.parts.join(String(number));
    return {
      body,
      headers: {
        "content-type": "application/json",
        "user-agent": "GitHub-Hookshot/bench",
        "x-github-event": "issues",
        "x-github-delivery": `${tag}-${number}`,
        "x-github-hook-installation-target-type": "integration",
        "x-hub-signature-256": signature(secret, body),
      },
    };
  };
}
