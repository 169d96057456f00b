import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import { sql } from "../../src/db/sql.js";
import { countRows, createTenant, startTestRuntime, type Tenant, type TestRuntime } from "../helpers/app-runtime.js";
import { issueCommentCreated, issueOpened, signedDelivery } from "../helpers/github-events.js";
import { deliverToApp, settled } from "../helpers/http.js";
import { waitFor } from "../helpers/wait.js";

let rt: TestRuntime;
let acme: Tenant;
let hook: { id: string; secret: string };
let warn: jest.Spied<TestRuntime["log"]["warn"]>;
let error: jest.Spied<TestRuntime["log"]["error"]>;
const INSTALLATION = 5151;
// Seen in the payloads below and never in a log line.
const MARKER = "payload-text-that-stays-out-of-logs";

beforeAll(async () => {
  rt = await startTestRuntime({ label: "payload_validation" });
  acme = await createTenant(rt, "acme", "acme-corp");
  const res = await rt.server.inject({
    method: "POST", url: "/api/v1/webhooks", headers: { "x-api-key": acme.apiKey },
    payload: { team_id: acme.teamId, name: "GitHub Issues", provider: "github", events: ["issues", "issue_comment"] },
  });
  hook = res.json();
  warn = jest.spyOn(rt.log, "warn");
  error = jest.spyOn(rt.log, "error");
});
afterAll(async () => {
  await rt?.stop();
});

/** An issues.opened to the App's installation (its account names the organization), with `number`. */
function appIssue(number: number): Record<string, any> {
  const payload = issueOpened({ owner: "acme-corp", repo: "web", number, title: MARKER, body: MARKER, installationId: INSTALLATION });
  payload.installation.account = { login: "acme-corp", type: "Organization" };
  return payload;
}

async function receive(event: string, payload: unknown) {
  const signed = signedDelivery(hook.secret, event, payload);
  const res = await rt.server.inject({ method: "POST", url: `/api/v1/webhooks/${hook.id}/receive`, headers: signed.headers, payload: signed.payload });
  expect(res.statusCode).toBe(202);
  return settled(rt, res.json().delivery_id);
}

const ENDPOINTS = {
  "the per-webhook /receive endpoint": { send: receive, issue: (number: number) => issueOpened({ number, title: MARKER, body: MARKER, installationId: null }) },
  "the App endpoint": { send: (event: string, payload: unknown) => deliverToApp(rt, event, payload), issue: appIssue },
};

const BROKEN: [string, (payload: Record<string, any>) => void, string][] = [
  ["an issue without its number", (p) => delete p.issue.number, "invalid payload: issue.number: expected a positive integer"],
  ["an issue without its repository", (p) => delete p.repository, "invalid payload: repository: expected an object"],
  ["labels given as a string", (p) => (p.issue.labels = "bug"), "invalid payload: issue.labels: expected an array of labels"],
];

async function attemptsOf(deliveryId: string): Promise<number> {
  return (await sql<{ attempts: number }>(rt.database.dataSource, "SELECT attempts FROM webhook_deliveries WHERE id = $1", [deliveryId])).rows[0]!.attempts;
}

describe.each(Object.entries(ENDPOINTS))("a signed but malformed payload to %s", (_, endpoint) => {
  let number = 700;

  it("a well-formed issue still makes its task (the setup works)", async () => {
    const delivery = await endpoint.send("issues", endpoint.issue(++number));
    expect(delivery).toMatchObject({ status: "processed", action_taken: `task_created:${delivery.task_id}` });
  });

  it.each(BROKEN)("%s fails at once, naming the field, with no task and one warning", async (_what, broken, actionTaken) => {
    const tasksBefore = await countRows(rt, "tasks");
    const payload = endpoint.issue(++number);
    broken(payload);
    const delivery = await endpoint.send("issues", payload);
    expect(delivery).toMatchObject({ status: "failed", action_taken: actionTaken, task_id: null, error: null });
    expect(await attemptsOf(delivery.id)).toBe(1);
    expect(await countRows(rt, "tasks")).toBe(tasksBefore);

    const line = await waitFor(async () => warn.mock.calls.find(([fields]) => (fields as { delivery_id?: string }).delivery_id === delivery.id));
    expect(line).toEqual([{ delivery_id: delivery.id, event_type: "issues.opened", problem: actionTaken.replace("invalid payload: ", "") }, "delivery failed: invalid payload"]);
    expect(warn.mock.calls.filter(([fields]) => (fields as { delivery_id?: string }).delivery_id === delivery.id)).toHaveLength(1);
    expect(JSON.stringify(warn.mock.calls)).not.toContain(MARKER);
    expect(error).not.toHaveBeenCalled();
  });
});

describe("the conversation's events are checked the same way", () => {
  it("an issue comment without its id fails at once, on either endpoint", async () => {
    const comment = () => {
      const payload = issueCommentCreated({ owner: "acme-corp", repo: "web", number: 701, commentId: 1, body: "/entourage retry", login: "octocat", installationId: INSTALLATION });
      payload.installation.account = { login: "acme-corp", type: "Organization" };
      delete payload.comment.id;
      return payload;
    };
    for (const delivery of [await receive("issue_comment", comment()), await deliverToApp(rt, "issue_comment", comment())]) {
      expect(delivery).toMatchObject({ status: "failed", action_taken: "invalid payload: comment.id: expected a positive integer", task_id: null });
      expect(await attemptsOf(delivery.id)).toBe(1);
    }
  });
});
