import { describe, expect, it } from "@jest/globals";
import { ConfigError, loadConfig, requireServerSecrets } from "../../src/config.js";
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
    [{ ROLE: "both" }, /^ROLE: /],
    [{ LOG_LEVEL: "loud" }, /^LOG_LEVEL: /],
    [{ APP_ID: "abc" }, /^APP_ID: /],
    [{ APP_ID: "1" }, /^PRIVATE_KEY, WEBHOOK_SECRET: required/],
    [{ APP_ID: "1", PRIVATE_KEY: "nope", WEBHOOK_SECRET: "s" }, /^PRIVATE_KEY: not a PEM/],
    [{ APP_ID: "1", PRIVATE_KEY_PATH: "/nonexistent/key.pem", WEBHOOK_SECRET: "s" }, /^PRIVATE_KEY_PATH: cannot read/],
    [{ ROLE: "worker" }, /^DATABASE_URL: required when ROLE=worker/],
    [{ JWT_SECRET: "short" }, /^JWT_SECRET: /],
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
    expect(() => requireServerSecrets(loadConfig({ DATABASE_URL: url }))).toThrow(/^JWT_SECRET: required when DATABASE_URL is set$/);
    expect(() => requireServerSecrets(loadConfig({ DATABASE_URL: url, JWT_SECRET: "j".repeat(32) }))).toThrow(/^ENCRYPTION_KEY: required/);
    expect(() => loadConfig({ ENCRYPTION_KEY: "too-short" })).toThrow(/^ENCRYPTION_KEY: must be 32 bytes/);
    expect(() => requireServerSecrets(loadConfig({ DATABASE_URL: url, JWT_SECRET: "j".repeat(32), ENCRYPTION_KEY: "ab".repeat(32) }))).not.toThrow();
  });
});
