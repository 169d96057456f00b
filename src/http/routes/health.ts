import type { FastifyInstance } from "fastify";
import type { DataSource } from "typeorm";
import { databaseIsUp } from "../../db/data-source.js";
import type { JobQueue } from "../../queue/queue.js";
import { health } from "../responses.js";

/** Liveness and readiness: Postgres, and Redis when the queue runs on it (null otherwise). */
export async function healthRoutes(app: FastifyInstance, opts: { db: DataSource; queue: JobQueue }): Promise<void> {
  app.get("/api/v1/health", {
    // A 503 answers the same body: which of the two is down.
    schema: { tags: ["health"], summary: "Liveness and readiness: the database and the queue", response: { 200: health, 503: health } },
  }, async (_request, reply) => {
    const [postgres, redis] = await Promise.all([
      databaseIsUp(opts.db),
      opts.queue.kind === "bullmq" ? opts.queue.ping() : Promise.resolve(null),
    ]);
    const ok = postgres && redis !== false;
    return reply.status(ok ? 200 : 503).send({ status: ok ? "ok" : "degraded", postgres, redis });
  });
}
