import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createTenant, startTestRuntime, type TestRuntime } from "../helpers/app-runtime.js";
import { issueOpened } from "../helpers/github-events.js";
import { deliverToApp } from "../helpers/http.js";

let rt: TestRuntime;

beforeAll(async () => {
  rt = await startTestRuntime({ label: "settings_cache", env: { REPOSITORY_SETTINGS_TTL_MS: "60000" } });
  await createTenant(rt, "acme", "acme-corp");
});
afterAll(async () => {
  await rt?.stop();
});

const settingsReads = (repo: string) => rt.github.requests.filter((r) => r.includes(`/repos/acme-corp/${repo}/contents/.github%2Fentourage.yml`)).length;

describe("a repository's settings file", () => {
  it("is read once for many deliveries of one repository within REPOSITORY_SETTINGS_TTL_MS, and applies to all of them", async () => {
    rt.github.settings.set("acme-corp/web", "label_priorities:\n  sev1: critical\n");
    for (let number = 1; number <= 3; number++) {
      const d = await deliverToApp(rt, "issues", issueOpened({ owner: "acme-corp", repo: "web", number, installationId: 21, labels: ["sev1"] }));
      expect(d.status).toBe("processed");
    }
    expect(settingsReads("web")).toBe(1);
    const priorities = await rt.database.dataSource.query("SELECT DISTINCT priority FROM tasks WHERE source->>'repository' = 'acme-corp/web'");
    expect(priorities).toEqual([{ priority: "critical" }]);
    await deliverToApp(rt, "issues", issueOpened({ owner: "acme-corp", repo: "api", number: 1, installationId: 21 }));
    expect(settingsReads("api")).toBe(1);
  });

  it("is read once for a burst of deliveries of one repository that arrive before GitHub answers", async () => {
    rt.github.settings.set("acme-corp/burst", "label_priorities:\n  sev1: critical\n");
    rt.github.settingsDelayMs = 500;
    try {
      const deliveries = await Promise.all(Array.from({ length: 5 }, (_, i) =>
        deliverToApp(rt, "issues", issueOpened({ owner: "acme-corp", repo: "burst", number: i + 1, installationId: 21, labels: ["sev1"] }))));
      expect(deliveries.map((d) => d.status)).toEqual(Array(5).fill("processed"));
    } finally {
      rt.github.settingsDelayMs = 0;
    }
    expect(settingsReads("burst")).toBe(1);
    const priorities = await rt.database.dataSource.query("SELECT DISTINCT priority FROM tasks WHERE source->>'repository' = 'acme-corp/burst'");
    expect(priorities).toEqual([{ priority: "critical" }]);
  });
});
