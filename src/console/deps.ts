import type { FastifyRequest } from "fastify";
import type { DataSource } from "typeorm";
import type { ConsoleSession } from "../db/entities/console-session.js";
import type { Actor } from "../domain/task-events.js";
import type { Logger } from "../log.js";
import type { OutboxRelay } from "../queue/outbox-relay.js";
import type { JobQueue } from "../queue/queue.js";
import type { LiveFeed } from "./live-feed.js";

/** What the console's pages read and change through. */
export interface ConsoleDeps {
  db: DataSource;
  queue: JobQueue;
  relay: OutboxRelay;
  log: Logger;
  feed: LiveFeed;
  /** The GitHub App's credentials are set (its health on the overview). */
  appConfigured: boolean;
}

/** The signed-in session; routes behind the sign-in always have one. */
export function sessionOf(request: FastifyRequest): ConsoleSession {
  return request.consoleSession!;
}

/** The admin key that signed in, as the actor of the changes made from the console, as with that key on the API. */
export function consoleActor(session: ConsoleSession): Actor {
  return { type: "api_key", id: session.api_key_id };
}
