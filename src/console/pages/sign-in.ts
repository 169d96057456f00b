import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { closeConsoleSession, openConsoleSession } from "../../domain/console-sessions.js";
import { DomainError } from "../../domain/errors.js";
import type { ConsoleDeps } from "../deps.js";
import { html } from "../html.js";
import { page } from "../layout.js";
import { assertSameOrigin, backTo, clearedSessionCookie, CONSOLE_PATH, SESSION_COOKIE, sessionCookie } from "../session.js";
import { cookieValue } from "../../http/cookies.js";

/** Where to go after signing in: a console page, never another site. */
function nextPage(next: string | undefined): string {
  return next && next.startsWith(`${CONSOLE_PATH}`) && !next.startsWith("//") && !/[\\\r\n]/.test(next) ? next : CONSOLE_PATH;
}

function signInPage(next: string, problem?: string) {
  return page({ title: "Sign in" }, html`
<form method="post" action="${CONSOLE_PATH}/login" class="signin">
  <p>Sign in with an admin API key (<code>oc_…</code>). The key is exchanged for a session cookie and is not kept in the browser.</p>
  ${problem ? html`<p class="error" role="alert">${problem}</p>` : ""}
  <label for="key">Admin API key</label>
  <input id="key" name="key" type="password" autocomplete="off" required autofocus>
  <input type="hidden" name="next" value="${next}">
  <button type="submit">Sign in</button>
</form>`);
}

/** Sign-in with an admin key for a session cookie, and sign-out that ends the session on the server. */
export async function signInRoutes(scope: FastifyInstance, deps: ConsoleDeps): Promise<void> {
  const app = scope.withTypeProvider<ZodTypeProvider>();

  app.get(`${CONSOLE_PATH}/login`, {
    schema: { hide: true, querystring: z.object({ next: z.string().optional() }) },
  }, async (request, reply) => reply.type("text/html; charset=utf-8").send(String(signInPage(nextPage(request.query.next)))));

  app.post(`${CONSOLE_PATH}/login`, {
    schema: { hide: true, body: z.object({ key: z.string().max(500).default(""), next: z.string().optional() }) },
  }, async (request, reply) => {
    assertSameOrigin(request);
    const next = nextPage(request.body.next);
    try {
      const { token, session } = await openConsoleSession(deps.db, request.body.key);
      reply.header("set-cookie", sessionCookie(request, token, session.expires_at));
      return backTo(reply, next);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      const status = error.code === "agent_key_refused" ? 403 : 401;
      return reply.status(status).type("text/html; charset=utf-8").send(String(signInPage(next, error.message)));
    }
  });

  app.post(`${CONSOLE_PATH}/logout`, { schema: { hide: true } }, async (request, reply) => {
    const token = cookieValue(request, SESSION_COOKIE);
    if (token) await closeConsoleSession(deps.db, token);
    reply.header("set-cookie", clearedSessionCookie());
    return backTo(reply, `${CONSOLE_PATH}/login`);
  });
}
