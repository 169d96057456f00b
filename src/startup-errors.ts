import { createServer } from "node:net";
import type { Config } from "./config.js";
import { pgErrorCode } from "./db/pg-error-code.js";

/** Where a connection URL points, without its credentials. */
function endpoint(url: string | undefined): string {
  if (!url || !URL.canParse(url)) return "its address";
  const { hostname, port, pathname } = new URL(url);
  return `${hostname}:${port || "default port"}${pathname.length > 1 ? pathname : ""}`;
}

function databaseName(url: string | undefined): string {
  return url && URL.canParse(url) ? decodeURIComponent(new URL(url).pathname.slice(1)) : "?";
}

/**
 * A start-up failure that is the environment's, not a bug, as one line naming the variable and the fix;
 * undefined for anything else (which keeps its stack).
 */
export function describeStartupFailure(error: unknown, config: Config): string | undefined {
  const e = error as { code?: string; message?: string; address?: string; port?: number };
  const message = e?.message ?? "";
  if (e?.code === "EADDRINUSE") return `PORT: ${config.host}:${config.port} is already in use: stop what listens there, or set PORT (and HOST) to a free one`;
  if (e?.code === "EADDRNOTAVAIL") return `HOST: ${config.host} is not an address of this machine: set HOST to one (0.0.0.0 for all)`;
  const pgCode = pgErrorCode(error);
  if (pgCode === "3D000") {
    const name = databaseName(config.databaseUrl);
    return `DATABASE_URL: the database "${name}" does not exist on ${endpoint(config.databaseUrl)}: create it (createdb ${name}) or point DATABASE_URL at one that does`;
  }
  if (pgCode === "28P01" || pgCode === "28000") return `DATABASE_URL: PostgreSQL refused the user or password: fix the credentials in DATABASE_URL`;
  const refused = e?.code === "ECONNREFUSED" || e?.code === "ENOTFOUND" || /ECONNREFUSED|ENOTFOUND|getaddrinfo/.test(message);
  if (refused && config.redisUrl && (message.includes(endpoint(config.redisUrl).split("/")[0]!.split(":")[1] ?? "\u0000") || /redis/i.test(message))) {
    return `REDIS_URL: nothing answers at ${endpoint(config.redisUrl)}: start Redis, or fix REDIS_URL (unset, the app uses its in-process queue)`;
  }
  if (refused && config.databaseUrl) {
    return `DATABASE_URL: nothing answers at ${endpoint(config.databaseUrl)}: start PostgreSQL, or fix DATABASE_URL (unset, the app uses its embedded database)`;
  }
  return undefined;
}

/** Takes and lets go of the port, so that one in use stops the start before anything is created. */
export async function ensurePortFree(host: string, port: number): Promise<void> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port, exclusive: true }, () => resolve());
  });
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
