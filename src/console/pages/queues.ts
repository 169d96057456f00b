import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { FastifyAdapter } from "@bull-board/fastify";
import type { FastifyInstance } from "fastify";
import { BullmqQueue } from "../../queue/bullmq-queue.js";
import { sessionOf, type ConsoleDeps } from "../deps.js";
import { html } from "../html.js";
import { page } from "../layout.js";
import { CONSOLE_PATH } from "../session.js";

const QUEUES = `${CONSOLE_PATH}/queues`;

/** Bull Board on Redis; on the in-process queue, a page of its counts per job (it keeps no job history to browse). */
export async function queueRoutes(scope: FastifyInstance, deps: ConsoleDeps): Promise<void> {
  if (deps.queue instanceof BullmqQueue) {
    const board = new FastifyAdapter();
    createBullBoard({ queues: deps.queue.bullQueues().map((queue) => new BullMQAdapter(queue)), serverAdapter: board });
    board.setBasePath(QUEUES);
    await scope.register(board.registerPlugin(), { prefix: QUEUES });
    return;
  }
  scope.get(QUEUES, { schema: { hide: true } }, async (request, reply) => {
    const session = sessionOf(request);
    const counts = await deps.queue.counts();
    const content = html`<p>The in-process queue runs the jobs (REDIS_URL is unset): it keeps no job history, so Bull Board has nothing to show.
These are its jobs now; set REDIS_URL to run BullMQ, and Bull Board appears here.</p>
<table><thead><tr><th>Job</th><th>Waiting</th><th>Active</th><th>Delayed</th><th>Failed</th></tr></thead><tbody>
${Object.entries(counts).map(([name, c]) => html`<tr><td>${name}</td><td>${c.waiting}</td><td>${c.active}</td><td>${c.delayed}</td><td>${c.failed}</td></tr>`)}
</tbody></table>`;
    return reply.type("text/html; charset=utf-8").send(String(page({ title: "Queues", section: "queues", session }, content)));
  });
}
