import { describe, expect, it } from "@jest/globals";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { CONFIG_VARIABLES } from "../../src/config.js";

const read = (file: string) => readFileSync(new URL(`../../${file}`, import.meta.url), "utf8");

interface ComposeService { environment?: Record<string, unknown>; volumes?: string[] }
const composeText = read("docker-compose.yml");
const compose = parse(composeText, { merge: true }) as { services: Record<string, ComposeService> };
const readme = read("README.md");
const deploying = readme.slice(readme.indexOf("\n## Deploying\n"), readme.indexOf("\n## Admin CLI\n"));

describe("docker-compose.yml, the Dockerfile and the README agree with the configuration", () => {
  it("compose passes the app only variables the configuration reads, and TRUST_PROXY, PRIVATE_KEY_PATH and WEBHOOK_PROXY_URL among them", () => {
    const passed = new Set(["web", "worker"].flatMap((name) => Object.keys(compose.services[name]!.environment ?? {})));
    expect([...passed].filter((name) => !CONFIG_VARIABLES.includes(name))).toEqual([]);
    for (const name of ["TRUST_PROXY", "PRIVATE_KEY_PATH", "WEBHOOK_PROXY_URL", "DATABASE_URL", "REDIS_URL", "JWT_SECRET", "ENCRYPTION_KEY"]) {
      expect([name, passed.has(name)]).toEqual([name, true]);
    }
  });

  it("compose mounts the folder PRIVATE_KEY_PATH points into, read-only, for both processes", () => {
    for (const name of ["web", "worker"]) {
      expect(compose.services[name]!.volumes).toContain("./secrets:/app/secrets:ro");
    }
    expect(deploying).toContain("`PRIVATE_KEY_PATH=/app/secrets/");
  });

  it("the README's Deploying section names every variable compose reads from the shell or .env", () => {
    const interpolated = new Set([...composeText.matchAll(/\$\{([A-Z0-9_]+)/g)].map(([, name]) => name!));
    for (const name of ["ENTOURAGE_PORT", "QUEUE_PREFIX", "WORKER_CONCURRENCY", "GHE_PROTOCOL"]) expect(interpolated.has(name)).toBe(true);
    expect([...interpolated].filter((name) => !deploying.includes(`\`${name}\``))).toEqual([]);
  });

  it("the image sets only configuration variables, and the README says how to keep its data and where the admin key is", () => {
    const set = [...read("Dockerfile").matchAll(/^(?:ENV)?\s+([A-Z_]+)=/gm)].map(([, name]) => name!);
    expect(set).toEqual(expect.arrayContaining(["PORT", "DATA_DIR", "ENV_FILE"]));
    expect(set.filter((name) => !CONFIG_VARIABLES.includes(name) && name !== "NODE_ENV")).toEqual([]);
    expect(read("Dockerfile")).toContain("DATA_DIR=/app/.data");
    expect(deploying).toContain("-v entourage-data:/app/.data");
    expect(deploying).toContain("/app/.data/admin-api-key");
  });
});
