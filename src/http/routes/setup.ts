import { timingSafeEqual } from "node:crypto";
import path from "node:path";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { hasZodFastifySchemaValidationErrors, type ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import {
  appEnv, buildManifest, convertManifestCode, createAppUrl, newSetupState, readAppYml, writeEnvValues, type ManifestConversion,
} from "../../github/manifest.js";
import type { Logger } from "../../log.js";
import { classifyAddress } from "../../outbound/ip-address.js";
import { errorBody } from "../errors.js";
import { registeredPage, setupClosedPage, setupErrorPage, setupPage } from "../setup-pages.js";
import { APP_WEBHOOK_PATH } from "./github-app-webhooks.js";
import { cookieValue } from "../cookies.js";

export const SETUP_PATH = "/setup";
export const SETUP_CALLBACK_PATH = "/setup/callback";
const STATE_COOKIE = "entourage_setup_state";
/** GitHub's codes expire after an hour; so does the state that goes with one. */
const STATE_MAX_AGE_SECONDS = 3600;

export interface SetupOptions {
  /** https://github.com, or the GitHub Enterprise Server's address. */
  githubUrl: string;
  /** The GitHub API for the code conversion (GitHub Enterprise Server); unset: api.github.com. */
  githubApiUrl?: string;
  /** This server's public address; unset: taken from each request's Host and X-Forwarded-* headers. */
  baseUrl?: string;
  /** A smee.io channel forwarding to this server: the App's webhook URL when set. */
  webhookProxyUrl?: string;
  /** Where the credentials are written. */
  envFile: string;
  /** app.yml; the package's own by default. */
  appYmlFile?: string;
}

const githubLogin = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/, "must be a GitHub organization login");
const setupQuery = z.object({ org: githubLogin.optional() });
const callbackQuery = z.object({
  code: z.string().regex(/^[A-Za-z0-9_-]{1,200}$/, "must be the code GitHub sent"),
  state: z.string().max(200).optional(),
});

function firstValue(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  return value?.split(",")[0]?.trim() || undefined;
}

/** This server's address as the browser sees it, behind a proxy too. */
export function requestBaseUrl(request: FastifyRequest): string {
  const protocol = firstValue(request.headers["x-forwarded-proto"]) ?? request.protocol;
  const host = firstValue(request.headers["x-forwarded-host"]) ?? request.headers.host ?? `localhost:${request.socket.localPort}`;
  return `${protocol === "https" ? "https" : "http"}://${host}`;
}


function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function htmlHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .type("text/html; charset=utf-8")
    .header("cache-control", "no-store")
    // The callback URL holds a code: no page here leaks it to the sites it links to.
    .header("referrer-policy", "no-referrer")
    .header("content-security-policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
}

function wantsPage(request: FastifyRequest): boolean {
  return request.headers.accept?.includes("text/html") ?? false;
}

/** A failure answered as a page to browsers and as the API's JSON error to everything else. */
function sendProblem(request: FastifyRequest, reply: FastifyReply, status: number, code: string, title: string, message: string) {
  if (wantsPage(request)) {
    return htmlHeaders(reply.status(status)).send(setupErrorPage(title, message));
  }
  return reply.status(status).header("cache-control", "no-store").send(errorBody(code, message));
}

/** Whether GitHub's servers cannot deliver to this URL: an address of this machine or of a private network. */
export function unreachableFromGitHub(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  if (host === "localhost" || host.endsWith(".localhost") || host.endsWith(".local")) return true;
  const address = classifyAddress(host);
  return address !== undefined && address !== "public";
}

/** Names the query parameters a setup link got wrong, with the values it got. */
function invalidLinkMessage(validation: { instancePath: string; message?: string }[], query: unknown): string {
  const values = (query ?? {}) as Record<string, unknown>;
  const problems = validation.map(({ instancePath, message }) => {
    const name = instancePath.replace(/^\//, "") || "query";
    const value = values[name];
    return value === undefined ? `${name} is missing` : `${name} "${String(value)}" ${message ?? "is not valid"}`;
  });
  return `${problems.join("; ")}. Open /setup again, or the link GitHub sent you back with, unchanged.`;
}

function conversionFailure(error: unknown): string {
  const status = (error as { status?: number }).status;
  if (typeof status === "number") {
    return `GitHub refused the code (HTTP ${status}). A code works once and for one hour: register the App again from /setup.`;
  }
  return `GitHub could not be reached to convert the code (${(error as Error).message}); try again from /setup.`;
}

/**
 * GET /setup and GET /setup/callback: the GitHub App manifest flow, registered only while no App is configured.
 * The callback writes the new App's credentials to the .env file; they take effect at the next start.
 */
export async function setupRoutes(scope: FastifyInstance, opts: SetupOptions & { log: Logger }): Promise<void> {
  const app = scope.withTypeProvider<ZodTypeProvider>();
  const appYml = readAppYml(opts.appYmlFile);
  const envFile = path.resolve(opts.envFile);
  // Set once the credentials are written: a reload of the callback page shows the result again.
  let registered: ManifestConversion | undefined;

  // A mistyped or tampered link is a page in the browser too; the server's handler answers everything else.
  scope.setErrorHandler((error, request, reply) => {
    if (!hasZodFastifySchemaValidationErrors(error) || !wantsPage(request)) throw error;
    return sendProblem(request, reply, 400, "invalid_request", "This setup link is not valid", invalidLinkMessage(error.validation, request.query));
  });

  const showRegistered = (reply: FastifyReply, conversion: ManifestConversion) =>
    htmlHeaders(reply).send(registeredPage({
      appName: conversion.name ?? conversion.slug ?? `#${conversion.id}`,
      installUrl: `${conversion.html_url}/installations/new`,
      envFile,
    }));

  app.get(SETUP_PATH, {
    schema: { hide: true, querystring: setupQuery },
  }, async (request, reply) => {
    if (registered) return showRegistered(reply, registered);
    const baseUrl = opts.baseUrl ?? requestBaseUrl(request);
    const webhookUrl = opts.webhookProxyUrl ?? `${baseUrl}${APP_WEBHOOK_PATH}`;
    const manifest = buildManifest(appYml, { homepageUrl: baseUrl, webhookUrl, redirectUrl: `${baseUrl}${SETUP_CALLBACK_PATH}` });
    const state = newSetupState();
    const secure = baseUrl.startsWith("https:") ? "; Secure" : "";
    // SameSite=Lax: the cookie comes back on GitHub's top-level redirect to the callback, not on cross-site requests.
    reply.header("set-cookie", `${STATE_COOKIE}=${state}; Path=${SETUP_PATH}; Max-Age=${STATE_MAX_AGE_SECONDS}; HttpOnly; SameSite=Lax${secure}`);
    return htmlHeaders(reply).send(setupPage({
      formAction: createAppUrl(opts.githubUrl, { org: request.query.org, state }),
      manifestJson: JSON.stringify(manifest),
      webhookUrl,
      webhookUnreachable: !opts.webhookProxyUrl && unreachableFromGitHub(webhookUrl),
      org: request.query.org,
      envFile,
    }));
  });

  app.get(SETUP_CALLBACK_PATH, {
    schema: { hide: true, querystring: callbackQuery },
  }, async (request, reply) => {
    if (registered) return showRegistered(reply, registered);
    const expected = cookieValue(request, STATE_COOKIE);
    const { code, state } = request.query;
    // Only the browser that opened /setup may complete it: a forged link cannot plant another App's credentials.
    if (!expected || !state || !sameSecret(expected, state)) {
      return sendProblem(request, reply, 400, "invalid_setup_state", "This registration did not start here",
        "The state GitHub sent back does not match the one this browser got from /setup (or the hour to finish it is over). Start again from /setup in this browser.");
    }
    let conversion: ManifestConversion;
    try {
      conversion = await convertManifestCode(code, { baseUrl: opts.githubApiUrl });
    } catch (error) {
      opts.log.warn({ status: (error as { status?: number }).status }, "GitHub App manifest conversion failed");
      return sendProblem(request, reply, 502, "manifest_conversion_failed", "GitHub did not complete the registration",
        conversionFailure(error));
    }
    try {
      writeEnvValues(envFile, appEnv(conversion));
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      opts.log.error({ app_id: conversion.id, env_file: envFile, reason }, "GitHub App registered but its credentials could not be written");
      return sendProblem(request, reply, 500, "env_file_not_writable", "The credentials could not be saved",
        `GitHub registered the App (id ${conversion.id}), but ${envFile} could not be written (${reason}). Make it writable `
        + `(or set ENV_FILE) and register again, or generate a private key on the App's settings page (${conversion.html_url}) `
        + "and set APP_ID, PRIVATE_KEY and WEBHOOK_SECRET yourself.");
    }
    registered = conversion;
    opts.log.info({ app_id: conversion.id, env_file: envFile }, "GitHub App registered; its credentials are in the env file: restart to use them");
    reply.header("set-cookie", `${STATE_COOKIE}=; Path=${SETUP_PATH}; Max-Age=0; HttpOnly; SameSite=Lax`);
    return showRegistered(reply, conversion);
  });
}

/**
 * GET /setup and GET /setup/callback once an App is configured: 404, as a page that says why for a browser
 * (a callback page reloaded after the restart, say).
 */
export async function closedSetupRoutes(scope: FastifyInstance): Promise<void> {
  const closed = async (request: FastifyRequest, reply: FastifyReply) => {
    const message = "A GitHub App is configured (APP_ID), so /setup is closed. To register another App, remove APP_ID, "
      + "PRIVATE_KEY and WEBHOOK_SECRET from the environment and the env file, and restart.";
    if (wantsPage(request)) return htmlHeaders(reply.status(404)).send(setupClosedPage(message));
    return reply.status(404).send(errorBody("not_found", message));
  };
  scope.get(SETUP_PATH, { schema: { hide: true } }, closed);
  scope.get(SETUP_CALLBACK_PATH, { schema: { hide: true } }, closed);
}
