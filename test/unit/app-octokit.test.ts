import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import nock from "nock";
import { appOctokit } from "../../src/github/probot.js";

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
