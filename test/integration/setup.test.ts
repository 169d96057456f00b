import { afterAll, afterEach, beforeAll, describe, expect, it } from "@jest/globals";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseEnv } from "node:util";
import type { FastifyInstance } from "fastify";
import nock from "nock";
import { pino } from "pino";
import { loadConfig } from "../../src/config.js";
import { startRuntime } from "../../src/runtime.js";
import { startTestRuntime, type TestRuntime } from "../helpers/app-runtime.js";
import { testPrivateKey } from "../helpers/private-key.js";

const UNCONFIGURED = { APP_ID: "", PRIVATE_KEY: "", WEBHOOK_SECRET: "" };
const PEM = testPrivateKey();

let folder: string;
let github: TestRuntime;
let enterprise: TestRuntime;
let configured: TestRuntime;
let unwritable: TestRuntime;

beforeAll(async () => {
  folder = mkdtempSync(path.join(tmpdir(), "entourage-setup-"));
  [github, enterprise, configured, unwritable] = await Promise.all([
    startTestRuntime({ label: "setup_github", env: { ...UNCONFIGURED, ENV_FILE: path.join(folder, "github.env") } }),
    startTestRuntime({
      label: "setup_ghe",
      env: { ...UNCONFIGURED, ENV_FILE: path.join(folder, "ghe.env"), GHE_HOST: "ghe.example.com", BASE_URL: "https://entourage.example.com/" },
    }),
    startTestRuntime({ label: "setup_configured", env: { ENV_FILE: path.join(folder, "configured.env") } }),
    startTestRuntime({ label: "setup_unwritable", env: { ...UNCONFIGURED, ENV_FILE: path.join(folder, "missing-folder", ".env") } }),
  ]);
  nock.disableNetConnect();
  nock.enableNetConnect(/127\.0\.0\.1|localhost/);
});
afterEach(() => {
  nock.cleanAll();
});
afterAll(async () => {
  nock.enableNetConnect();
  await Promise.all([github?.stop(), enterprise?.stop(), configured?.stop(), unwritable?.stop()]);
  rmSync(folder, { recursive: true, force: true });
});

function decodeHtml(text: string): string {
  return text.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)));
}

/** The setup page as a browser gets it: the form's target, the manifest it posts, and the state cookie. */
async function openSetup(rt: { server: FastifyInstance }, url = "/setup", headers: Record<string, string> = { host: "entourage.test:8080" }) {
  const res = await rt.server.inject({ method: "GET", url, headers });
  const action = /<form action="([^"]+)" method="post">/.exec(res.body)?.[1];
  const manifest = /<input type="hidden" name="manifest" value="([^"]*)">/.exec(res.body)?.[1];
  const cookie = String(res.headers["set-cookie"] ?? "");
  return {
    res,
    action: action && decodeHtml(action),
    manifest: manifest && JSON.parse(decodeHtml(manifest)),
    state: /entourage_setup_state=([0-9a-f]+)/.exec(cookie)?.[1],
    cookie,
  };
}

function conversion(overrides: Record<string, unknown> = {}) {
  return {
    id: 4242,
    slug: "entourage-acme",
    name: "Entourage Acme",
    html_url: "https://github.com/apps/entourage-acme",
    client_id: "Iv1.0123456789abcdef",
    client_secret: "cs_0123456789abcdef0123456789abcdef01234567",
    webhook_secret: "e6a0f0a8c4d7b9e6a0f0a8c4d7b9e6a0f0a8c4d7",
    pem: PEM,
    owner: { login: "acme" },
    ...overrides,
  };
}

describe("GET /setup", () => {
  it("is not there once an App is configured", async () => {
    const res = await configured.server.inject({ method: "GET", url: "/setup" });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe("not_found");
    const callback = await configured.server.inject({ method: "GET", url: "/setup/callback?code=abc&state=x" });
    expect(callback.statusCode).toBe(404);
  });

  it("says so in a page when a browser comes back to it once an App is configured (a callback reloaded after the restart)", async () => {
    const res = await configured.server.inject({ method: "GET", url: "/setup/callback?code=abc&state=x", headers: { accept: "text/html" } });
    expect(res.statusCode).toBe(404);
    expect(res.headers["content-type"]).toMatch(/^text\/html/);
    expect(res.body).toContain("<h1>The GitHub App is configured</h1>");
    expect(res.body).toContain("APP_ID");
  });

  it("warns that GitHub cannot reach a local address, and points to WEBHOOK_PROXY_URL and smee.io", async () => {
    for (const host of ["localhost:3000", "127.0.0.1:3000", "[::1]:3000", "192.168.1.20:3000", "laptop.local:3000"]) {
      const { res } = await openSetup(github, "/setup", { host });
      expect([host, res.statusCode]).toEqual([host, 200]);
      expect([host, res.body]).toEqual([host, expect.stringContaining("GitHub cannot reach this address")]);
      expect(res.body).toContain("<code>WEBHOOK_PROXY_URL</code>");
      expect(res.body).toContain("https://smee.io/new");
    }
    for (const host of ["entourage.test:8080", "140.82.121.4:3000"]) {
      const { res } = await openSetup(github, "/setup", { host });
      expect([host, res.body]).toEqual([host, expect.not.stringContaining("GitHub cannot reach")]);
    }
    const proxied = await openSetup(github, "/setup", { host: "localhost:3000", "x-forwarded-proto": "https", "x-forwarded-host": "entourage.acme.dev" });
    expect(proxied.res.body).not.toContain("GitHub cannot reach");
  });

  it("serves a form that posts app.yml's manifest, with this server's URLs, to GitHub", async () => {
    const { res, action, manifest, state, cookie } = await openSetup(github);
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/html/);
    expect(state).toMatch(/^[0-9a-f]{32}$/);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).not.toMatch(/Secure/);
    expect(action).toBe(`https://github.com/settings/apps/new?state=${state}`);
    expect(manifest).toEqual({
      name: "Entourage",
      description: expect.any(String),
      url: "http://entourage.test:8080",
      hook_attributes: { url: "http://entourage.test:8080/api/github/webhooks" },
      redirect_url: "http://entourage.test:8080/setup/callback",
      default_events: ["issues", "issue_comment", "pull_request", "pull_request_review", "pull_request_review_comment", "installation", "installation_repositories"],
      default_permissions: { issues: "write", pull_requests: "write", contents: "write", metadata: "read" },
      public: false,
    });
  });

  it("uses the address a proxy forwarded, and registers for an organization with ?org=", async () => {
    const { action, manifest, state, cookie } = await openSetup(github, "/setup?org=acme-corp", {
      host: "10.0.0.5:3000", "x-forwarded-proto": "https", "x-forwarded-host": "entourage.acme.dev",
    });
    expect(action).toBe(`https://github.com/organizations/acme-corp/settings/apps/new?state=${state}`);
    expect(manifest.hook_attributes.url).toBe("https://entourage.acme.dev/api/github/webhooks");
    expect(manifest.redirect_url).toBe("https://entourage.acme.dev/setup/callback");
    expect(cookie).toMatch(/Secure/);
  });

  it("refuses an organization that is not a GitHub login", async () => {
    const res = await github.server.inject({ method: "GET", url: "/setup?org=%22%3E%3Cscript%3E" });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe("invalid_request");
  });

  it("refuses it in a page to a browser, the value escaped", async () => {
    const res = await github.server.inject({ method: "GET", url: "/setup?org=%22%3E%3Cscript%3Ebad", headers: { accept: "text/html" } });
    expect(res.statusCode).toBe(400);
    expect(res.headers["content-type"]).toMatch(/^text\/html/);
    expect(res.body).toContain("This setup link is not valid");
    expect(res.body).toContain("org &#34;&#34;&#62;&#60;script&#62;bad&#34; must be a GitHub organization login");
    expect(res.body).not.toContain("<script>");
    expect(res.body).toContain("<a href=\"/setup\">Start again</a>");
  });

  it("takes BASE_URL over the request, and GHE_HOST's form", async () => {
    const { action, manifest, state } = await openSetup(enterprise);
    expect(action).toBe(`https://ghe.example.com/settings/apps/new?state=${state}`);
    expect(manifest.url).toBe("https://entourage.example.com");
    expect(manifest.hook_attributes.url).toBe("https://entourage.example.com/api/github/webhooks");
    expect(manifest.redirect_url).toBe("https://entourage.example.com/setup/callback");
  });
});

describe("GET /setup/callback", () => {
  const envFile = () => path.join(folder, "github.env");
  const EXISTING = "# my settings\nPORT=4000\nAPP_ID=999\nLOG_LEVEL=debug\n";

  beforeAll(() => {
    writeFileSync(envFile(), EXISTING);
  });

  it("refuses a code without the state this browser got from /setup, and writes nothing", async () => {
    const { state } = await openSetup(github);
    const conversionCall = nock("https://api.github.com").post(/.*/).reply(201, conversion());
    const noCookie = await github.server.inject({ method: "GET", url: `/setup/callback?code=abc123&state=${state}` });
    expect(noCookie.statusCode).toBe(400);
    expect(noCookie.json().error.code).toBe("invalid_setup_state");
    const forged = await github.server.inject({
      method: "GET",
      url: "/setup/callback?code=abc123&state=0123456789abcdef0123456789abcdef",
      headers: { cookie: `entourage_setup_state=${state}`, accept: "text/html" },
    });
    expect(forged.statusCode).toBe(400);
    expect(forged.headers["content-type"]).toMatch(/^text\/html/);
    expect(forged.body).toContain("Start again");
    expect(conversionCall.isDone()).toBe(false);
    expect(readFileSync(envFile(), "utf8")).toBe(EXISTING);
  });

  it("answers a callback link without a code or with a forged one in a page to a browser, and in JSON to the rest", async () => {
    const missing = await github.server.inject({ method: "GET", url: "/setup/callback?state=abc", headers: { accept: "text/html" } });
    expect(missing.statusCode).toBe(400);
    expect(missing.headers["content-type"]).toMatch(/^text\/html/);
    expect(missing.body).toContain("code is missing");
    const forged = await github.server.inject({ method: "GET", url: "/setup/callback?code=%3Cb%3Ex%3C%2Fb%3E", headers: { accept: "text/html" } });
    expect(forged.statusCode).toBe(400);
    expect(forged.body).toContain("code &#34;&#60;b&#62;x&#60;/b&#62;&#34; must be the code GitHub sent");
    expect(forged.body).not.toContain("<b>x");
    const json = await github.server.inject({ method: "GET", url: "/setup/callback?state=abc" });
    expect(json.statusCode).toBe(400);
    expect(json.json().error.code).toBe("invalid_request");
  });

  it("answers 502 with a clear error when GitHub refuses the code, and writes nothing", async () => {
    const { state } = await openSetup(github);
    nock("https://api.github.com").post("/app-manifests/expired-code/conversions").reply(404, { message: "Not Found" });
    const res = await github.server.inject({
      method: "GET",
      url: `/setup/callback?code=expired-code&state=${state}`,
      headers: { cookie: `entourage_setup_state=${state}` },
    });
    expect(res.statusCode).toBe(502);
    expect(res.json().error).toEqual({
      code: "manifest_conversion_failed",
      message: expect.stringMatching(/GitHub refused the code \(HTTP 404\).*\/setup/),
    });
    expect(readFileSync(envFile(), "utf8")).toBe(EXISTING);

    nock("https://api.github.com").post("/app-manifests/expired-code/conversions").reply(422, { message: "Validation Failed" });
    const page = await github.server.inject({
      method: "GET",
      url: `/setup/callback?code=expired-code&state=${state}`,
      headers: { cookie: `entourage_setup_state=${state}`, accept: "text/html,application/xhtml+xml" },
    });
    expect(page.statusCode).toBe(502);
    expect(page.body).toContain("GitHub did not complete the registration");
    expect(page.body).toContain("HTTP 422");
    expect(readFileSync(envFile(), "utf8")).toBe(EXISTING);
  });

  it("trades the code for the App's credentials, writes them to .env, keeps the other lines, and links to the installation", async () => {
    const { state } = await openSetup(github);
    const conversionCall = nock("https://api.github.com", { badheaders: ["authorization"] })
      .post("/app-manifests/a180b1a3d263c81bc6441d7b990bae27d4c10679/conversions")
      .reply(201, conversion());
    const res = await github.server.inject({
      method: "GET",
      url: `/setup/callback?code=a180b1a3d263c81bc6441d7b990bae27d4c10679&state=${state}`,
      headers: { cookie: `entourage_setup_state=${state}`, accept: "text/html" },
    });
    expect(conversionCall.isDone()).toBe(true);
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain("Restart Entourage");
    expect(res.body).toContain("href=\"https://github.com/apps/entourage-acme/installations/new\"");
    expect(res.body).not.toContain("cs_0123456789abcdef");
    expect(res.body).not.toContain("PRIVATE KEY");
    expect(String(res.headers["set-cookie"])).toMatch(/entourage_setup_state=;.*Max-Age=0/);

    const text = readFileSync(envFile(), "utf8");
    expect(statSync(envFile()).mode & 0o777).toBe(0o600);
    expect(text.split("\n").slice(0, 2)).toEqual(["# my settings", "PORT=4000"]);
    expect(text).toMatch(/^PRIVATE_KEY="-----BEGIN [A-Z ]*PRIVATE KEY-----\\n[^\n]*-----END [A-Z ]*PRIVATE KEY-----\\n"$/m);
    expect(parseEnv(text)).toEqual({
      PORT: "4000",
      APP_ID: "4242",
      LOG_LEVEL: "debug",
      PRIVATE_KEY: PEM,
      WEBHOOK_SECRET: "e6a0f0a8c4d7b9e6a0f0a8c4d7b9e6a0f0a8c4d7",
      GITHUB_CLIENT_ID: "Iv1.0123456789abcdef",
      GITHUB_CLIENT_SECRET: "cs_0123456789abcdef0123456789abcdef01234567",
    });
    expect(readdirSync(folder).filter((name) => name.endsWith(".tmp"))).toEqual([]);

    // A reload of the page shows the result again without spending another code.
    const again = await github.server.inject({ method: "GET", url: "/setup/callback?code=a180b1a3d263c81bc6441d7b990bae27d4c10679" });
    expect(again.statusCode).toBe(200);
    expect(again.body).toContain("/apps/entourage-acme/installations/new");
  });

  it("converts on GitHub Enterprise Server through its API", async () => {
    const { state } = await openSetup(enterprise);
    const conversionCall = nock("https://ghe.example.com")
      .post("/api/v3/app-manifests/ghe-code/conversions")
      .reply(201, conversion({ html_url: "https://ghe.example.com/github-apps/entourage" }));
    const res = await enterprise.server.inject({
      method: "GET",
      url: `/setup/callback?code=ghe-code&state=${state}`,
      headers: { cookie: `entourage_setup_state=${state}` },
    });
    expect(conversionCall.isDone()).toBe(true);
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain("https://ghe.example.com/github-apps/entourage/installations/new");
    const env = parseEnv(readFileSync(path.join(folder, "ghe.env"), "utf8"));
    expect(env.APP_ID).toBe("4242");
  });

  it("says what to do when the credentials cannot be written, without showing them", async () => {
    const { state } = await openSetup(unwritable);
    nock("https://api.github.com").post("/app-manifests/code-1/conversions").reply(201, conversion());
    const res = await unwritable.server.inject({
      method: "GET",
      url: `/setup/callback?code=code-1&state=${state}`,
      headers: { cookie: `entourage_setup_state=${state}` },
    });
    expect(res.statusCode).toBe(500);
    expect(res.json().error.code).toBe("env_file_not_writable");
    expect(res.json().error.message).toMatch(/registered the App \(id 4242\).*could not be written \(ENOENT\).*https:\/\/github\.com\/apps\/entourage-acme/);
    expect(res.body).not.toContain("cs_0123456789abcdef");
    expect(res.body).not.toContain("e6a0f0a8c4d7b9");
  });

  it("never logs the App's secrets, nor the code", async () => {
    const lines: string[] = [];
    const log = pino({ level: "trace" }, { write: (line: string) => lines.push(line) });
    // The embedded default: a runtime of the test's own, with its own logger.
    const config = loadConfig({ DATA_DIR: path.join(folder, "logged-data"), ENV_FILE: path.join(folder, "logged.env") });
    const runtime = await startRuntime(config, log, { listen: false });
    const { server } = runtime;
    try {
      const { state } = await openSetup(runtime);
      nock("https://api.github.com").post("/app-manifests/secret-code-77/conversions").reply(201, conversion());
      const res = await server.inject({
        method: "GET",
        url: `/setup/callback?code=secret-code-77&state=${state}`,
        headers: { cookie: `entourage_setup_state=${state}` },
      });
      expect(res.statusCode).toBe(200);
    } finally {
      await runtime.close();
    }
    const logged = lines.join("");
    expect(logged).toContain("GitHub App registered");
    for (const secret of ["secret-code-77", "cs_0123456789abcdef", "e6a0f0a8c4d7b9", "PRIVATE KEY"]) {
      expect(logged).not.toContain(secret);
    }
  });
});

