import { execFile } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import type { ChildProcesses, Spawned } from "./processes.js";
import { answersPing, portOutsideEphemeralRange } from "./redis-server.js";

const run = promisify(execFile);

/** A Redis Cluster of the test's own: masters only, on loopback, without persistence. */
export interface RedisCluster {
  /** redis+cluster://127.0.0.1:p1,127.0.0.1:p2,…, as REDIS_URL takes it. */
  url: string;
  ports: number[];
  /** Stops every node (all data is lost) and starts them again on the same ports, with the same slots. */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

interface Node {
  port: number;
  /** The cluster bus's port, chosen too: the default (port + 10000) lands in the ephemeral range. */
  busPort: number;
  dir: string;
  spawned?: Spawned;
}

async function clusterInfo(port: number): Promise<Record<string, string>> {
  try {
    const { stdout } = await run("redis-cli", ["-h", "127.0.0.1", "-p", String(port), "cluster", "info"], { timeout: 5000 });
    return Object.fromEntries(stdout.split(/\r?\n/).filter((line) => line.includes(":")).map((line) => line.split(":", 2) as [string, string]));
  } catch {
    return {};
  }
}

/** Every node answers, sees all the others and every slot served. */
async function clusterOk(nodes: Node[]): Promise<boolean> {
  const infos = await Promise.all(nodes.map((node) => clusterInfo(node.port)));
  return infos.every((info) => info.cluster_state === "ok" && Number(info.cluster_known_nodes) === nodes.length && info.cluster_slots_ok === "16384");
}

/** `masters` redis-server processes in cluster mode, joined by `redis-cli --cluster create` with no replicas. */
export async function startRedisCluster(children: ChildProcesses, baseDir: string, masters = 3): Promise<RedisCluster> {
  const nodes: Node[] = [];
  const taken = new Set<number>();
  const pick = async (): Promise<number> => {
    let port = await portOutsideEphemeralRange();
    while (taken.has(port)) port = await portOutsideEphemeralRange();
    taken.add(port);
    return port;
  };
  for (let i = 0; i < masters; i++) {
    const port = await pick();
    const dir = path.join(baseDir, `redis-cluster-${port}`);
    mkdirSync(dir, { recursive: true });
    nodes.push({ port, busPort: await pick(), dir });
  }
  const startNode = async (node: Node): Promise<void> => {
    node.spawned = children.spawn(`redis-cluster-${node.port}`, [
      "redis-server", "--port", String(node.port), "--cluster-port", String(node.busPort), "--bind", "127.0.0.1",
      "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000",
      "--dir", node.dir, "--save", "", "--appendonly", "no",
    ], { env: {}, node: false });
    await children.waitUntilReady(node.spawned, 15_000, () => answersPing(node.port));
  };
  const waitForCluster = async (): Promise<void> => {
    const deadline = Date.now() + 30_000;
    while (!(await clusterOk(nodes))) {
      children.check();
      if (Date.now() > deadline) throw new Error(`the Redis Cluster on ${nodes.map((n) => n.port).join(", ")} did not reach cluster_state:ok`);
      await sleep(100);
    }
  };

  await Promise.all(nodes.map(startNode));
  await run("redis-cli", ["--cluster", "create", ...nodes.map((node) => `127.0.0.1:${node.port}`), "--cluster-replicas", "0", "--cluster-yes"], { timeout: 60_000 });
  await waitForCluster();
  const stopAll = () => Promise.all(nodes.map((node) => (node.spawned ? children.stop(node.spawned) : undefined)));
  return {
    url: `redis+cluster://${nodes.map((node) => `127.0.0.1:${node.port}`).join(",")}`,
    ports: nodes.map((node) => node.port),
    async restart(downMs = 500) {
      await stopAll();
      await sleep(downMs);
      await Promise.all(nodes.map(startNode));
      await waitForCluster();
    },
    async stop() {
      await stopAll();
    },
  };
}
