import { readFileSync } from "node:fs";
import { createServer } from "node:net";
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

export async function answersPing(port: number): Promise<boolean> {
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

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/**
 * A free port below the kernel's ephemeral range. A port from listen(0) is in that range, and while
 * Redis is down for a restart any process on the machine may be handed it (another listen(0), the
 * source port of a connection), so redis-server could not bind it again and its clients met ECONNREFUSED.
 */
export async function portOutsideEphemeralRange(): Promise<number> {
  let low = 32_768;
  try {
    low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
  } catch {
    // Not Linux: the usual start of the range.
  }
  if (!(low > 11_024)) return freePort();
  for (let tries = 0; tries < 50; tries++) {
    const port = low - 10_000 + Math.floor(Math.random() * 10_000);
    if (await isFree(port)) return port;
  }
  return freePort();
}

export async function startRedisServer(children: ChildProcesses, name = "redis"): Promise<RedisServer> {
  const port = await portOutsideEphemeralRange();
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
