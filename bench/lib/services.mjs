// PostgreSQL and Redis as the bench uses them: a database and a key prefix of its own, the
// queries that count what the app did, and the BullMQ controls that hold work back.
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import pg from "pg";

/** A fresh database on the server of `serverUrl`. */
export async function createDatabase(serverUrl, name) {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), name, drop: () => dropDatabase(serverUrl, name) };
}

/** Drops a database even with clients still on it. */
export async function dropDatabase(serverUrl, name) {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** The databases named `<stem>_<pid>_…` whose bench process is gone: left by a run that was killed. */
export async function leftoverDatabases(serverUrl, stem) {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    const { rows } = await admin.query("SELECT datname FROM pg_database WHERE datname LIKE $1", [`${stem}\\_%`]);
    return rows.map((r) => r.datname).filter((name) => {
      const pid = Number(name.slice(stem.length + 1).split("_")[0]);
      return Number.isInteger(pid) && pid > 0 && !processAlive(pid);
    });
  } finally {
    await admin.end();
  }
}

function processAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === "EPERM";
  }
}

/** Deletes every Redis key under `prefix:`. */
export async function cleanRedisPrefix(redisUrl, prefix) {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}

/** The app's "process-delivery" queue, seen from outside: pause it, resume it, count its workers. */
export function deliveryQueue(redisUrl, prefix) {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue("process-delivery", { connection, prefix });
  return {
    pause: () => queue.pause(),
    resume: () => queue.resume(),
    workers: () => queue.getWorkersCount(),
    async close() {
      await queue.close();
      connection.disconnect();
    },
  };
}

const PERCENTILES_MS = (expr) => `
  percentile_cont(0.5) WITHIN GROUP (ORDER BY ${expr}) AS p50,
  percentile_cont(0.99) WITHIN GROUP (ORDER BY ${expr}) AS p99,
  max(${expr}) AS max`;

/**
 * When each task row became visible: a constraint trigger deferred to commit notes clock_timestamp() in a
 * table of the bench's own, because `tasks.created_at` is now(), the start of the worker's transaction.
 */
const TASK_COMMIT_CLOCK = `
  CREATE SCHEMA bench;
  CREATE TABLE bench.task_commits (task_id integer PRIMARY KEY, committed_at timestamptz NOT NULL);
  CREATE FUNCTION bench.note_task_commit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO bench.task_commits VALUES (NEW.id, clock_timestamp());
      RETURN NULL;
    END $$;
  CREATE CONSTRAINT TRIGGER bench_task_commit AFTER INSERT ON tasks DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION bench.note_task_commit();`;

/** Queries over the bench's database; a phase's rows are the deliveries whose id starts with its tag. */
export function appDatabase(url) {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const one = async (text, params) => (await pool.query(text, params)).rows[0];
  return {
    /** Once the app's migrations have made `tasks`, before any delivery arrives. */
    async clockTaskCommits() {
      await pool.query(TASK_COMMIT_CLOCK);
    },

    /** A phase's deliveries still waiting for a worker (the partial index on `received` rows keeps this cheap). */
    async waitingIn(tag) {
      const row = await one("SELECT count(*) AS n FROM webhook_deliveries WHERE status = 'received' AND github_delivery_id LIKE $1", [`${tag}-%`]);
      return Number(row.n);
    },

    /** The processing error last recorded on a waiting delivery of the phase (they keep it between retries). */
    async lastError(tag) {
      const row = await one(
        "SELECT error FROM webhook_deliveries WHERE status = 'received' AND error IS NOT NULL AND github_delivery_id LIKE $1 LIMIT 1",
        [`${tag}-%`],
      );
      return row?.error;
    },

    /** What became of a phase's deliveries, and the time from the delivery's insert to its task's commit (ms). */
    async phase(tag) {
      const row = await one(
        `SELECT count(*) AS deliveries,
                count(*) FILTER (WHERE d.status = 'processed') AS processed,
                count(*) FILTER (WHERE d.status = 'ignored') AS ignored,
                count(*) FILTER (WHERE d.status = 'failed') AS failed,
                count(*) FILTER (WHERE d.status = 'received') AS waiting,
                count(t.id) AS tasks,
                count(*) FILTER (WHERE d.attempts > 1) AS retried,
                min(d.created_at) AS first_received, max(d.processed_at) AS last_processed, max(c.committed_at) AS last_committed,
                ${PERCENTILES_MS("extract(epoch FROM c.committed_at - d.created_at) * 1000")}
           FROM webhook_deliveries d LEFT JOIN tasks t ON t.id = d.task_id LEFT JOIN bench.task_commits c ON c.task_id = t.id
          WHERE d.github_delivery_id LIKE $1`,
        [`${tag}-%`],
      );
      return {
        deliveries: Number(row.deliveries),
        processed: Number(row.processed),
        ignored: Number(row.ignored),
        failed: Number(row.failed),
        waiting: Number(row.waiting),
        tasks: Number(row.tasks),
        retried: Number(row.retried),
        first_received: row.first_received,
        last_processed: row.last_processed,
        last_committed: row.last_committed,
        end_to_end_ms: row.p50 === null ? null : { p50: round(row.p50), p99: round(row.p99), max: round(row.max) },
      };
    },

    /** One ignored or failed delivery's reason, to say why tasks are missing. */
    async sampleProblem(tag) {
      return one(
        `SELECT status, action_taken, error FROM webhook_deliveries
          WHERE github_delivery_id LIKE $1 AND status IN ('ignored', 'failed') LIMIT 1`,
        [`${tag}-%`],
      );
    },

    async totals() {
      const row = await one(
        `SELECT (SELECT count(*) FROM webhook_deliveries) AS deliveries,
                (SELECT count(*) FROM webhook_deliveries WHERE status = 'processed') AS processed,
                (SELECT count(*) FROM tasks) AS tasks`,
      );
      return { deliveries: Number(row.deliveries), processed: Number(row.processed), tasks: Number(row.tasks) };
    },

    close: () => pool.end(),
  };
}

export function round(value, digits = 1) {
  const f = 10 ** digits;
  return Math.round(Number(value) * f) / f;
}
