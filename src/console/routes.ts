import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { DomainError, ForbiddenError, UnauthorizedError } from "../domain/errors.js";
import { domainStatus } from "../http/errors.js";
import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";
import { assetRoutes } from "./assets.js";
import type { ConsoleDeps } from "./deps.js";
import { html } from "./html.js";
import { page } from "./layout.js";
import { liveRoutes } from "./pages/live.js";
import { overviewRoutes } from "./pages/overview.js";
import { deliveryRoutes } from "./pages/deliveries.js";
import { taskRoutes } from "./pages/tasks.js";
import { agentRoutes } from "./pages/agents.js";
import { outboundRoutes } from "./pages/outbound.js";
import { installationRoutes } from "./pages/installations.js";
import { queueRoutes } from "./pages/queues.js";
import { signInRoutes } from "./pages/sign-in.js";
import { assertCsrfToken, assertSameOrigin, CONSOLE_PATH, loadSession } from "./session.js";

/** Pages of their own style: Bull Board ships inline script, so it gets no CSP from the console. */
const QUEUES_PATH = `${CONSOLE_PATH}/queues`;
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
  + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const OPEN_PATHS = new Set([`${CONSOLE_PATH}/login`]);

function isOpen(request: FastifyRequest): boolean {
  const path = request.url.split("?")[0]!;
  return OPEN_PATHS.has(path) || path.startsWith(`${CONSOLE_PATH}/assets/`);
}

function statusOf(error: FastifyError | DomainError): number {
  if (error instanceof DomainError) return domainStatus(error);
  if (hasZodFastifySchemaValidationErrors(error)) return 400;
  return (error as FastifyError).statusCode ?? 500;
}

async function showError(error: FastifyError | DomainError, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const status = statusOf(error);
  if (status >= 500) request.log.error({ err: error }, "a console page failed");
  const message = status >= 500 ? "Something went wrong on the server; the log has the details." : error.message;
  const back = request.headers.referer?.startsWith(`${request.protocol}://${request.host}${CONSOLE_PATH}`) ? request.headers.referer : CONSOLE_PATH;
  return reply.status(status).type("text/html; charset=utf-8").send(String(page(
    { title: status === 404 ? "Not found" : "That did not work", session: request.consoleSession ?? undefined },
    html`<p class="error" role="alert">${message}</p><p><a href="${back}">Back</a></p>`,
  )));
}

/** The admin console under /admin: pages behind a session cookie, over the same domain functions as the REST API. */
export async function consoleRoutes(scope: FastifyInstance, deps: ConsoleDeps): Promise<void> {
  // Forms post application/x-www-form-urlencoded; only the console's routes read it.
  scope.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string", bodyLimit: 64 * 1024 }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
  scope.decorateRequest("consoleSession", null);
  scope.setErrorHandler(showError);
  // Refusals are answered here, not thrown: Bull Board's routes have an error handler of their own that would make them 500s.
  scope.addHook("onRequest", async (request, reply) => {
    if (isOpen(request)) return;
    const session = await loadSession(deps.db, request);
    if (session) {
      request.consoleSession = session;
      return;
    }
    if (request.method === "GET" && request.headers.accept?.includes("text/html")) {
      return reply.redirect(`${CONSOLE_PATH}/login?next=${encodeURIComponent(request.url)}`, 303);
    }
    return showError(new UnauthorizedError("sign in to the console first"), request, reply);
  });
  // Before validation, which strips the form fields a route does not name (_csrf among them).
  scope.addHook("preValidation", async (request, reply) => {
    if (request.method === "GET" || request.method === "HEAD") return;
    try {
      assertSameOrigin(request);
      // Bull Board's own requests carry no token: SameSite=Strict and the Origin check stand for it.
      if (request.url.startsWith(QUEUES_PATH)) {
        if (!request.headers.origin) throw new ForbiddenError("the request names no origin", "cross_origin");
        return;
      }
      if (request.consoleSession) assertCsrfToken(request, request.consoleSession);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      return showError(error, request, reply);
    }
  });
  scope.addHook("onSend", async (request, reply) => {
    reply.header("cache-control", "no-store");
    reply.header("x-content-type-options", "nosniff");
    reply.header("referrer-policy", "same-origin");
    if (request.url.startsWith(QUEUES_PATH)) return;
    reply.header("content-security-policy", CSP);
    reply.header("x-frame-options", "DENY");
  });

  await scope.register(assetRoutes);
  await scope.register(signInRoutes, deps);
  await scope.register(liveRoutes, deps);
  await scope.register(overviewRoutes, deps);
  await scope.register(deliveryRoutes, deps);
  await scope.register(taskRoutes, deps);
  await scope.register(agentRoutes, deps);
  await scope.register(outboundRoutes, deps);
  await scope.register(installationRoutes, deps);
  await scope.register(queueRoutes, deps);
}
