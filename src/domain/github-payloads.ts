import { z } from "zod";

// Each schema holds exactly the fields its handler reads; GitHub's other fields pass untouched.
// The TypeScript types stay @octokit/webhooks'; these only check a delivery before a handler acts on it.

const expected = (what: string) => ({ error: `expected ${what}` });
const object = <Shape extends z.ZodRawShape>(shape: Shape) => z.looseObject(shape, expected("an object"));

const positiveInteger = z.int(expected("a positive integer")).positive(expected("a positive integer"));
const text = z.string(expected("a string"));
const textOrNull = z.string(expected("a string or null")).nullable().optional();

const repository = object({
  // Any name a custom integration sends is kept as it is (stored verbatim, matched exactly); only its absence is refused.
  full_name: z.string(expected("owner/name")).min(1, expected("owner/name")),
  clone_url: text.optional(),
  default_branch: text.optional(),
});
const installation = object({ id: positiveInteger }).optional();
const labels = z.array(
  z.union([z.string(), object({ name: text })], expected("a label name or an object with a name")),
  expected("an array of labels"),
).optional();

/** What a task is made from and kept in step with. */
const itemContent = object({ number: positiveInteger, title: text, body: textOrNull, html_url: text, labels });
const itemNumber = object({ number: positiveInteger });

const issueContent = object({ repository, issue: itemContent, installation });
const pullRequestContent = object({ repository, pull_request: itemContent, installation });
const issueState = object({ repository, issue: itemNumber });
const pullRequestState = object({ repository, pull_request: itemNumber });
const pullRequestClosed = object({
  repository,
  pull_request: object({ number: positiveInteger, merged: z.boolean(expected("true or false")).nullable(), body: textOrNull }),
});
const issueComment = object({
  repository,
  issue: itemNumber,
  comment: object({ id: positiveInteger, body: text, user: object({ login: text }) }),
});
const reviewSubmitted = object({
  repository,
  pull_request: itemNumber,
  review: object({ id: positiveInteger, state: text, body: textOrNull }),
});

/** The payload each handled event type must carry, keyed like a delivery's event_type. */
export const PAYLOAD_SCHEMAS: Readonly<Record<string, z.ZodType>> = {
  "issues.opened": issueContent,
  "issues.labeled": issueContent,
  "issues.unlabeled": issueContent,
  "issues.edited": issueContent,
  "issues.closed": issueState,
  "issues.reopened": issueState,
  "pull_request.opened": pullRequestContent,
  "pull_request.labeled": pullRequestContent,
  "pull_request.unlabeled": pullRequestContent,
  "pull_request.edited": pullRequestContent,
  "pull_request.reopened": pullRequestState,
  "pull_request.closed": pullRequestClosed,
  "issue_comment.created": issueComment,
  "pull_request_review.submitted": reviewSubmitted,
};

/** `issue.labels[0]`: a field's place in the payload as people write it. */
function fieldName(path: readonly PropertyKey[]): string {
  if (path.length === 0) return "payload";
  return path.map((key, i) => (typeof key === "number" ? `[${key}]` : `${i === 0 ? "" : "."}${String(key)}`)).join("");
}

/** The first field a handler needs that is missing or wrong, e.g. `issue.number: expected a positive integer`; undefined when the payload will do. */
export function payloadProblem(eventType: string, payload: unknown): string | undefined {
  const schema = PAYLOAD_SCHEMAS[eventType];
  if (!schema) return undefined;
  const result = schema.safeParse(payload);
  if (result.success) return undefined;
  const first = result.error.issues[0]!;
  return `${fieldName(first.path)}: ${first.message}`;
}
