import { writeFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { freePort, type ChildProcesses } from "./processes.js";
import { TEST_DATABASE_URL } from "./services.js";

/** A pgbouncer of the test's own in transaction pooling mode, in front of a PostgreSQL server. */
export interface PgBouncer {
  port: number;
  /** The same database URL, through PgBouncer. */
  url(databaseUrl: string): string;
  stop(): Promise<void>;
}

export interface PgBouncerOptions {
  /** Server connections per database and user: fewer than the app's processes hold in their pools. */
  poolSize?: number;
  /** How long a query waits for a server connection, in seconds, before PgBouncer fails it. */
  queryWaitTimeoutS?: number;
  /** Hands out server connections in turn rather than the last one used, so session state left on one shows. */
  roundRobin?: boolean;
}

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on("error", () => undefined);
  try {
    await client.connect();
    await client.query("SELECT 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * `pgbouncer` in pool_mode=transaction, trusting loopback clients, every database name passed on to `server`;
 * its files in `dir`, which it reads before it leaves root (it refuses to run as root).
 */
export async function startPgBouncer(children: ChildProcesses, dir: string, server: { host: string; port: number }, options: PgBouncerOptions = {}): Promise<PgBouncer> {
  const port = await freePort();
  const userlist = path.join(dir, `pgbouncer-${port}-users.txt`);
  const ini = path.join(dir, `pgbouncer-${port}.ini`);
  const admin = new URL(TEST_DATABASE_URL);
  const user = decodeURIComponent(admin.username || "postgres");
  const password = decodeURIComponent(admin.password);
  const quote = (value: string) => `"${value.replace(/"/g, '""')}"`;
  writeFileSync(userlist, `${quote(user)} ${quote(password)}\n`);
  writeFileSync(ini, [
    "[databases]",
    `* = host=${server.host} port=${server.port}${password ? ` password=${password}` : ""}`,
    "[pgbouncer]",
    "listen_addr = 127.0.0.1",
    `listen_port = ${port}`,
    "unix_socket_dir =",
    "auth_type = trust",
    `auth_file = ${userlist}`,
    "pool_mode = transaction",
    "max_client_conn = 1000",
    `default_pool_size = ${options.poolSize ?? 10}`,
    // Tried again a second after a failed login, not the default 15 s: an outage test waits for it.
    "server_login_retry = 1",
    "server_connect_timeout = 3",
    // While PostgreSQL is away PgBouncer holds a connected client's query this long, then fails it (08P01 query_wait_timeout).
    `query_wait_timeout = ${options.queryWaitTimeoutS ?? 30}`,
    `server_round_robin = ${options.roundRobin ? 1 : 0}`,
    "log_connections = 0",
    "log_disconnections = 0",
    "",
  ].join("\n"));
  const command = ["pgbouncer", ...(process.getuid?.() === 0 ? ["-u", "postgres"] : []), ini];
  const spawned = children.spawn(`pgbouncer-${port}`, command, { env: {}, node: false });
  const through = (databaseUrl: string): string => {
    const url = new URL(databaseUrl);
    url.host = `127.0.0.1:${port}`;
    return url.toString();
  };
  await children.waitUntilReady(spawned, 15_000, () => answers(through(TEST_DATABASE_URL)));
  return {
    port,
    url: through,
    stop: () => children.stop(spawned),
  };
}
