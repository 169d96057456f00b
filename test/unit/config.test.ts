import { describe, expect, it } from "@jest/globals";
import { readFileSync } from "node:fs";
import path from "node:path";
import { ConfigError, loadClientConfig, loadConfig, loadEnvFile, parseRedisUrl, requireServerSecrets } from "../../src/config.js";
import { testPrivateKey } from "../helpers/private-key.js";

describe("loadConfig", () => {
  it("has working defaults for the embedded mode", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 3000, role: "all", dataDir: "./.data", logLevel: "info" });
    expect(config.databaseUrl).toBeUndefined();
    expect(config.redisUrl).toBeUndefined();
    expect(config.app).toBeUndefined();
  });

  it("counts an empty variable as unset", () => {
    expect(loadConfig({ PORT: "", DATABASE_URL: "", APP_ID: "" }).port).toBe(3000);
  });

  it.each([
    [{ PORT: "http" }, /^PORT: /],
    [{ PORT: "70000" }, /^PORT: /],
    [{ DATABASE_URL: "mysql://x" }, /^DATABASE_URL: /],
    [{ REDIS_URL: "localhost:6379" }, /^REDIS_URL: /],
    [{ REDIS_URL: "redis+cluster://" }, /^REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL, or redis\+cluster:\/\//],
    [{ REDIS_URL: "redis+cluster://a:1,b:99999" }, /^REDIS_URL: "b:99999" is not host:port/],
    [{ REDIS_URL: "redis+cluster://a:1/2" }, /^REDIS_URL: must be/],
    [{ ROLE: "both" }, /^ROLE: /],
    [{ LOG_LEVEL: "loud" }, /^LOG_LEVEL: /],
    [{ APP_ID: "abc" }, /^APP_ID: /],
    [{ APP_ID: "1" }, /^PRIVATE_KEY, WEBHOOK_SECRET: required/],
    [{ APP_ID: "1", PRIVATE_KEY: "nope", WEBHOOK_SECRET: "s" }, /^PRIVATE_KEY: not a PEM/],
    [{ APP_ID: "1", PRIVATE_KEY_PATH: "/nonexistent/key.pem", WEBHOOK_SECRET: "s" }, /^PRIVATE_KEY_PATH: cannot read/],
    [{ ROLE: "worker" }, /^DATABASE_URL: required when ROLE=worker/],
    [{ JWT_SECRET: "short" }, /^JWT_SECRET: /],
    [{ TRUST_PROXY: "1" }, /^TRUST_PROXY: a hop count is not supported/],
    [{ TRUST_PROXY: "proxy.internal" }, /^TRUST_PROXY: "proxy.internal" is not an IP address or CIDR/],
    [{ TRUST_PROXY: "127.0.0.1,10.0.0.0/33" }, /^TRUST_PROXY: "10.0.0.0\/33" is not/],
    [{ TRUST_PROXY: "10.0.0.0/8/1" }, /^TRUST_PROXY: /],
  ])("%j stops start-up naming the variable", (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it("reads App credentials, with escaped newlines in PRIVATE_KEY", () => {
    const escaped = testPrivateKey().replace(/\n/g, "\\n");
    const config = loadConfig({ APP_ID: "123", PRIVATE_KEY: escaped, WEBHOOK_SECRET: "s" });
    expect(config.app).toEqual({ appId: "123", privateKey: testPrivateKey(), webhookSecret: "s" });
  });

  it("points Octokit at GitHub Enterprise Server", () => {
    expect(loadConfig({ GHE_HOST: "ghe.example.com" }).githubBaseUrl).toBe("https://ghe.example.com/api/v3");
    expect(loadConfig({ GHE_HOST: "ghe.local", GHE_PROTOCOL: "http" }).githubBaseUrl).toBe("http://ghe.local/api/v3");
  });

  it("requires JWT_SECRET and ENCRYPTION_KEY with DATABASE_URL, not on the embedded default", () => {
    const url = "postgres://x@127.0.0.1/db";
    expect(() => requireServerSecrets(loadConfig({}))).not.toThrow();
    expect(() => requireServerSecrets(loadConfig({ DATABASE_URL: url }))).toThrow(/^JWT_SECRET: required when DATABASE_URL is set; ENCRYPTION_KEY: required when DATABASE_URL is set$/);
    expect(() => requireServerSecrets(loadConfig({ DATABASE_URL: url, JWT_SECRET: "j".repeat(32) }))).toThrow(/^ENCRYPTION_KEY: required/);
    expect(() => loadConfig({ ENCRYPTION_KEY: "too-short" })).toThrow(/^ENCRYPTION_KEY: must be 32 bytes/);
    // Every bad variable at once, in one line.
    expect(() => loadConfig({ ENCRYPTION_KEY: "too-short", PORT: "nope", LOG_LEVEL: "loud" })).toThrow(/^PORT: .*; LOG_LEVEL: .*; ENCRYPTION_KEY: must be 32 bytes/);
    expect(() => requireServerSecrets(loadConfig({ DATABASE_URL: url, JWT_SECRET: "j".repeat(32), ENCRYPTION_KEY: "ab".repeat(32) }))).not.toThrow();
  });
});

describe("REDIS_URL", () => {
  it("names one server as before, with BullMQ's keys and the rate limits under QUEUE_PREFIX", () => {
    const config = loadConfig({ REDIS_URL: "redis://127.0.0.1:6379/2", QUEUE_PREFIX: "app" });
    expect(config).toMatchObject({ redisUrl: "redis://127.0.0.1:6379/2", redisCluster: false, queuePrefix: "app", redisKeyPrefix: "app" });
    expect(parseRedisUrl("rediss://u:p@h:1")).toEqual({ cluster: false, url: "rediss://u:p@h:1" });
  });

  it("names a cluster by some of its nodes; BullMQ's prefix goes in a hash tag, the rate limits' does not", () => {
    const config = loadConfig({ REDIS_URL: "redis+cluster://10.0.0.1:7000,10.0.0.2:7001,[::1]:7002,redis-3/" });
    expect(config).toMatchObject({ redisCluster: true, queuePrefix: "{entourage}", redisKeyPrefix: "entourage" });
    expect(parseRedisUrl(config.redisUrl!)).toEqual({
      cluster: true,
      nodes: [{ host: "10.0.0.1", port: 7000 }, { host: "10.0.0.2", port: 7001 }, { host: "::1", port: 7002 }, { host: "redis-3", port: 6379 }],
      username: undefined, password: undefined, tls: false,
    });
    expect(loadConfig({ REDIS_URL: "redis+cluster://h:1", QUEUE_PREFIX: "{tenant-a}:q" }).queuePrefix).toBe("{tenant-a}:q");
  });

  it("takes a cluster's credentials (percent-encoded) and TLS from the URL", () => {
    expect(parseRedisUrl("rediss+cluster://app:p%40ss:word@h1:6380,h2:6380")).toEqual({
      cluster: true, nodes: [{ host: "h1", port: 6380 }, { host: "h2", port: 6380 }], username: "app", password: "p@ss:word", tls: true,
    });
    expect(parseRedisUrl("redis+cluster://:secret@h1:7000")).toMatchObject({ username: undefined, password: "secret" });
  });
});

describe("TRUST_PROXY", () => {
  it.each([
    [undefined, false],
    ["", false],
    ["false", false],
    ["true", true],
    ["TRUE", true],
    ["127.0.0.1", ["127.0.0.1"]],
    [" 127.0.0.1 , 10.0.0.0/8,::1, fd00::/8 ,loopback", ["127.0.0.1", "10.0.0.0/8", "::1", "fd00::/8", "loopback"]],
  ])("%j is Fastify's trustProxy %j", (value, expected) => {
    expect(loadConfig(value === undefined ? {} : { TRUST_PROXY: value }).trustProxy).toEqual(expected);
  });
});

describe("the documented variables", () => {
  const ROOT = path.resolve(import.meta.dirname, "../..");

  /** Every variable name the configuration loaders look up. */
  function variablesRead(): string[] {
    const read = new Set<string>();
    const recording = () => new Proxy({} as Record<string, string | undefined>, {
      get: (_target, key) => {
        if (typeof key === "string") read.add(key);
        return undefined;
      },
    });
    loadConfig(recording());
    loadClientConfig(recording());
    loadEnvFile(recording());
    return [...read].sort();
  }

  it("are read by the loaders, among them the new and the demo's", () => {
    expect(variablesRead()).toEqual(expect.arrayContaining(["TRUST_PROXY", "ENTOURAGE_API_KEY", "ENV_FILE", "RATE_LIMIT_MAX"]));
  });

  it("each appear in .env.example", () => {
    const example = readFileSync(path.join(ROOT, ".env.example"), "utf8");
    const listed = new Set([...example.matchAll(/^#? ?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]));
    expect(variablesRead().filter((name) => !listed.has(name))).toEqual([]);
  });

  it("each have a row in the README's Configuration table", () => {
    const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Configuration"), readme.indexOf("\n## ", readme.indexOf("## Configuration")));
    const rows = section.split("\n").filter((line) => line.startsWith("| `"));
    const named = new Set(rows.flatMap((row) => [...row.split("|")[1]!.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1])));
    expect(variablesRead().filter((name) => !named.has(name))).toEqual([]);
  });
});
