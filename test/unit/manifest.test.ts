import { describe, expect, it } from "@jest/globals";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseEnv } from "node:util";
import { loadClientConfig, loadConfig, loadEnvFile } from "../../src/config.js";
import { appEnv, buildManifest, createAppUrl, envValue, readAppYml, updateEnvText } from "../../src/github/manifest.js";

const PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA1c7+9z5Pad7OejecsQ0bu3aozN3tihPmljnnudb9G3HECdnH\nlWu2/a1gB9JW5TBQ+AVpum9Okx7KfqkfBKL9mcHgSL0yWMdjMfNOqNtrQqKlN4kE\n-----END RSA PRIVATE KEY-----\n";

describe("buildManifest", () => {
  it("keeps app.yml's name, events and permissions and points the URLs at this server", () => {
    const manifest = buildManifest(readAppYml(), {
      homepageUrl: "https://entourage.example.com",
      webhookUrl: "https://entourage.example.com/api/github/webhooks",
      redirectUrl: "https://entourage.example.com/setup/callback",
    });
    expect(manifest).toEqual({
      name: "Entourage",
      description: expect.stringContaining("issues and pull requests"),
      url: "https://entourage.example.com",
      hook_attributes: { url: "https://entourage.example.com/api/github/webhooks" },
      redirect_url: "https://entourage.example.com/setup/callback",
      default_events: ["issues", "issue_comment", "pull_request", "pull_request_review", "pull_request_review_comment", "installation", "installation_repositories"],
      default_permissions: { issues: "write", pull_requests: "write", contents: "write", metadata: "read" },
      public: false,
    });
  });

  it("keeps other hook attributes of app.yml", () => {
    const manifest = buildManifest({ hook_attributes: { url: "https://old", active: false } }, {
      homepageUrl: "http://h", webhookUrl: "https://smee.io/abc", redirectUrl: "http://h/setup/callback",
    });
    expect(manifest.hook_attributes).toEqual({ url: "https://smee.io/abc", active: false });
  });
});

describe("createAppUrl", () => {
  it.each([
    ["https://github.com", undefined, "https://github.com/settings/apps/new?state=s1"],
    ["https://github.com", "acme", "https://github.com/organizations/acme/settings/apps/new?state=s1"],
    ["https://ghe.example.com", undefined, "https://ghe.example.com/settings/apps/new?state=s1"],
    ["http://ghe.local", "acme-corp", "http://ghe.local/organizations/acme-corp/settings/apps/new?state=s1"],
  ])("%s, org %s → %s", (githubUrl, org, expected) => {
    expect(createAppUrl(githubUrl, { org, state: "s1" })).toBe(expected);
  });
});

describe("envValue", () => {
  it.each([
    ["12345", "12345"],
    ["Iv1.abc_DEF-09", "Iv1.abc_DEF-09"],
    ["", ""],
    ["two words", "\"two words\""],
    ["a\nb\r\nc", "\"a\\nb\\nc\""],
  ])("%j → %j", (value, expected) => {
    expect(envValue(value)).toBe(expected);
  });

  it("refuses a double quote it could not write back", () => {
    expect(() => envValue("say \"hi\" there")).toThrow(/double quote/);
  });
});

describe("updateEnvText", () => {
  const values = appEnv({
    id: 4242, html_url: "https://github.com/apps/entourage-acme", client_id: "Iv1.0123abcd", client_secret: "cs_0123456789abcdef",
    webhook_secret: "e6a0f0a8c4d7b9", pem: PEM,
  });

  it("writes the five keys to an empty file, the private key quoted with escaped newlines", () => {
    const text = updateEnvText("", values);
    expect(text.split("\n")).toEqual([
      "APP_ID=4242",
      `PRIVATE_KEY="${PEM.replace(/\n/g, "\\n")}"`,
      "WEBHOOK_SECRET=e6a0f0a8c4d7b9",
      "GITHUB_CLIENT_ID=Iv1.0123abcd",
      "GITHUB_CLIENT_SECRET=cs_0123456789abcdef",
      "",
    ]);
    expect(parseEnv(text)).toEqual({ ...values });
  });

  it("replaces the keys in place and keeps every other line", () => {
    const before = [
      "# local settings",
      "PORT=4000",
      "",
      "APP_ID=1",
      "export WEBHOOK_SECRET=old",
      "# APP_ID=commented out stays",
      "LOG_LEVEL=debug",
      "APP_ID=2",
    ].join("\n");
    const after = updateEnvText(before, { APP_ID: "4242", WEBHOOK_SECRET: "new" });
    expect(after).toBe([
      "# local settings",
      "PORT=4000",
      "",
      "APP_ID=4242",
      "WEBHOOK_SECRET=new",
      "# APP_ID=commented out stays",
      "LOG_LEVEL=debug",
      "",
    ].join("\n"));
  });

  it("replaces a multi-line quoted private key whole, and keeps another key's multi-line value", () => {
    const before = [
      "CA_BUNDLE=\"-----BEGIN CERTIFICATE-----",
      "APP_ID=not-a-key-but-part-of-the-bundle",
      "-----END CERTIFICATE-----\"",
      "PRIVATE_KEY=\"-----BEGIN RSA PRIVATE KEY-----",
      "MIIEowIBAAKCAQEA==",
      "-----END RSA PRIVATE KEY-----\"",
      "PORT=4000",
    ].join("\n");
    const parsed = parseEnv(updateEnvText(before, values));
    expect(parsed).toEqual({
      CA_BUNDLE: "-----BEGIN CERTIFICATE-----\nAPP_ID=not-a-key-but-part-of-the-bundle\n-----END CERTIFICATE-----",
      PORT: "4000",
      ...values,
    });
  });

  it("keeps Windows line endings readable", () => {
    expect(parseEnv(updateEnvText("PORT=4000\r\nAPP_ID=1\r\n", { APP_ID: "7" }))).toEqual({ PORT: "4000", APP_ID: "7" });
  });
});

describe("configuration of the first run", () => {
  it("reads BASE_URL without its trailing slash, WEBHOOK_PROXY_URL and ENV_FILE", () => {
    const config = loadConfig({ BASE_URL: "https://entourage.example.com/", WEBHOOK_PROXY_URL: "https://smee.io/abc", ENV_FILE: "/etc/entourage.env" });
    expect(config.baseUrl).toBe("https://entourage.example.com");
    expect(config.webhookProxyUrl).toBe("https://smee.io/abc");
    expect(config.envFile).toBe("/etc/entourage.env");
    expect(config.githubUrl).toBe("https://github.com");
  });

  it("defaults: no BASE_URL, no proxy, .env", () => {
    const config = loadConfig({ BASE_URL: "", WEBHOOK_PROXY_URL: "", ENV_FILE: "" });
    expect(config).toMatchObject({ baseUrl: undefined, webhookProxyUrl: undefined, envFile: ".env" });
  });

  it("takes GitHub's web address from GHE_HOST", () => {
    const config = loadConfig({ GHE_HOST: "ghe.example.com", GHE_PROTOCOL: "http" });
    expect(config.githubUrl).toBe("http://ghe.example.com");
    expect(config.githubBaseUrl).toBe("http://ghe.example.com/api/v3");
  });

  it.each(["BASE_URL", "WEBHOOK_PROXY_URL"])("%s must be an http(s) URL", (name) => {
    expect(() => loadConfig({ [name]: "smee.io/abc" })).toThrow(new RegExp(`^${name}: must be an http`));
    expect(() => loadConfig({ [name]: "ftp://smee.io/abc" })).toThrow(new RegExp(`^${name}: must be an http`));
  });

  it("loads ENV_FILE: set variables win, empty ones count as unset", () => {
    const folder = mkdtempSync(path.join(tmpdir(), "entourage-env-"));
    try {
      const file = path.join(folder, "app.env");
      writeFileSync(file, "APP_ID=4242\nPORT=4000\nPRIVATE_KEY=\"line1\\nline2\"\n");
      const env: Record<string, string | undefined> = { ENV_FILE: file, APP_ID: "", PORT: "5000" };
      loadEnvFile(env);
      expect(env).toEqual({ ENV_FILE: file, APP_ID: "4242", PORT: "5000", PRIVATE_KEY: "line1\nline2" });
      const untouched: Record<string, string | undefined> = { ENV_FILE: path.join(folder, "missing.env") };
      loadEnvFile(untouched);
      expect(untouched).toEqual({ ENV_FILE: path.join(folder, "missing.env") });
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe("loadClientConfig (npm run demo)", () => {
  it.each([
    [{}, "http://127.0.0.1:3000"],
    [{ PORT: "8080", HOST: "0.0.0.0" }, "http://127.0.0.1:8080"],
    [{ HOST: "::" }, "http://127.0.0.1:3000"],
    [{ HOST: "::1", PORT: "3001" }, "http://[::1]:3001"],
    [{ HOST: "entourage.internal" }, "http://entourage.internal:3000"],
  ])("%j → %s", (env, url) => {
    expect(loadClientConfig(env).url).toBe(url);
  });

  it("takes ENTOURAGE_API_KEY, else leaves the key to DATA_DIR", () => {
    expect(loadClientConfig({ ENTOURAGE_API_KEY: "oc_abc", DATA_DIR: "/srv/data" })).toEqual({ url: "http://127.0.0.1:3000", apiKey: "oc_abc", dataDir: "/srv/data" });
    expect(loadClientConfig({ ENTOURAGE_API_KEY: "" })).toEqual({ url: "http://127.0.0.1:3000", apiKey: undefined, dataDir: "./.data" });
  });
});
