import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { freePort, type ChildProcesses, type Spawned } from "./processes.js";

/** A redis-server of the test's own (never the shared one other test files use), without persistence. */
export interface RedisServer {
  url: string;
  port: number;
  /** Stops it (all data is lost, as after a crash without persistence) and starts it again on the same port. */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

async function answersPing(port: number): Promise<boolean> {
  const client = new Redis({ host: "127.0.0.1", port, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  client.on("error", () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

export async function startRedisServer(children: ChildProcesses, name = "redis"): Promise<RedisServer> {
  const port = await freePort();
  let current: Spawned | undefined;
  const start = async () => {
    current = children.spawn(name, ["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { env: {}, node: false });
    await children.waitUntilReady(current, 15_000, () => answersPing(port));
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async restart(downMs = 500) {
      if (current) await children.stop(current);
      await sleep(downMs);
      await start();
    },
    async stop() {
      if (current) await children.stop(current);
    },
  };
}
