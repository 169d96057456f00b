import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import nock from "nock";
import { Probot, type ProbotOctokit } from "probot";
import { appOctokit } from "../../src/github/probot.js";
import { testPrivateKey } from "../helpers/private-key.js";

const API = "https://api.github.com";
const COMMENTS = "/repos/acme/web/issues/1/comments";

beforeAll(() => nock.disableNetConnect());
afterAll(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

describe("the App's Octokit", () => {
  it("spaces writes of one installation GITHUB_WRITE_SPACING_MS apart, one at a time", async () => {
    const Octokit = appOctokit(400);
    const octokit = new Octokit({ auth: { token: "ghs_test" }, throttle: { id: "1" } });
    const bodies: string[] = [];
    nock(API).post(COMMENTS).times(3).reply((_uri, body) => {
      bodies.push((body as { body: string }).body);
      return [201, { id: bodies.length }];
    });
    const started = Date.now();
    await Promise.all(["n1", "n2", "n3"].map((body) => octokit.rest.issues.createComment({ owner: "acme", repo: "web", issue_number: 1, body })));
    // The third write starts two spacings after the first (Bottleneck's timers may fire a few ms early);
    // with Octokit's own pacing for comments it would start 6 s after.
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(780);
    expect(elapsed).toBeLessThan(4000);
    expect(bodies).toEqual(["n1", "n2", "n3"]);
  });

  it.each([
    ["a secondary rate limit", 403, { "retry-after": "10" }, "You have exceeded a secondary rate limit."],
    ["a 429", 429, { "retry-after": "10" }, "Too many requests"],
    ["no requests left", 403, { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(Math.ceil(Date.now() / 1000) + 10) }, "API rate limit exceeded"],
    ["a 502", 502, {}, "Bad gateway"],
  ])("hands %s to the caller at once, for the job's queue to wait", async (_name, status, headers, message) => {
    const octokit = new (appOctokit(0))({ auth: { token: "ghs_test" } });
    const scope = nock(API).post(COMMENTS).reply(status, { message }, headers);
    const started = Date.now();
    await expect(octokit.rest.issues.createComment({ owner: "acme", repo: "web", issue_number: 1, body: "x" })).rejects.toMatchObject({ status });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(scope.isDone()).toBe(true);
  });
});

describe("Octokits of installations", () => {
  it("are shared by the events Probot hands to the handlers, one per installation, each asking for its own token", async () => {
    const probot = new Probot({ appId: 1, privateKey: testPrivateKey(), Octokit: appOctokit() });
    const tokens = nock(API).post(/\/app\/installations\/(7|8)\/access_tokens/).times(2).reply(201, (uri) => ({
      token: `ghs_of_${/installations\/(\d+)/.exec(uri)![1]}`, expires_at: new Date(Date.now() + 3_600_000).toISOString(),
    }));
    const seen: { installation: number; octokit: ProbotOctokit }[] = [];
    probot.on("issues.opened", async (context) => {
      seen.push({ installation: context.payload.installation!.id, octokit: context.octokit });
    });
    const event = (id: string, installation: number) => ({ id, name: "issues", payload: { action: "opened", installation: { id: installation } } }) as never;
    await probot.receive(event("a", 7));
    await probot.receive(event("b", 7));
    await probot.receive(event("c", 8));
    expect(seen.map((s) => s.installation)).toEqual([7, 7, 8]);
    expect(seen[1]!.octokit).toBe(seen[0]!.octokit);
    expect(seen[2]!.octokit).not.toBe(seen[0]!.octokit);
    // Each still authenticates as its own installation.
    for (const installation of [7, 8]) {
      nock(API, { reqheaders: { authorization: `token ghs_of_${installation}` } }).post(COMMENTS).reply(201, { id: installation });
    }
    const of7 = seen[0]!.octokit;
    const of8 = seen[2]!.octokit;
    expect((await of7.rest.issues.createComment({ owner: "acme", repo: "web", issue_number: 1, body: "x" })).data).toEqual({ id: 7 });
    expect((await of8.rest.issues.createComment({ owner: "acme", repo: "web", issue_number: 1, body: "x" })).data).toEqual({ id: 8 });
    expect(tokens.isDone()).toBe(true);
    expect(nock.pendingMocks()).toEqual([]);
  });

  it("are not shared when not made for an installation", () => {
    const Octokit = appOctokit();
    expect(new Octokit({ auth: { token: "ghs_test" } })).not.toBe(new Octokit({ auth: { token: "ghs_test" } }));
    expect(new Octokit()).not.toBe(new Octokit());
  });
});
