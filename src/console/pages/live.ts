import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { sessionOf, type ConsoleDeps } from "../deps.js";
import { CONSOLE_PATH } from "../session.js";

const KEEP_ALIVE_MS = 20_000;

/** Server-sent events: an open page hears `deliveries` or `tasks` when they changed, and reloads what it shows of them. */
export async function liveRoutes(scope: FastifyInstance, deps: ConsoleDeps): Promise<void> {
  const app = scope.withTypeProvider<ZodTypeProvider>();
  const streams = new Set<() => void>();
  // An open stream would hold the server's close until the browser left.
  scope.addHook("preClose", async () => {
    for (const end of streams) end();
  });

  app.get(`${CONSOLE_PATH}/events`, {
    schema: { hide: true, querystring: z.object({ since: z.coerce.number().int().nonnegative().optional() }) },
  }, async (request, reply) => {
    const session = sessionOf(request);
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    raw.write("retry: 2000\n\n");
    const unwatch = deps.feed.watch(session.org_id, request.query.since ?? Date.now(), (kind) => raw.write(`event: change\ndata: ${kind}\n\n`));
    const keepAlive = setInterval(() => raw.write(": keep-alive\n\n"), KEEP_ALIVE_MS);
    const end = () => {
      clearInterval(keepAlive);
      unwatch();
      streams.delete(end);
      raw.end();
    };
    streams.add(end);
    request.raw.on("close", end);
  });
}
