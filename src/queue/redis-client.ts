import { Cluster, Redis, type ClusterOptions, type RedisOptions } from "ioredis";
import { parseRedisUrl } from "../config.js";

/** One Redis server's connection, or a Redis Cluster's client; both speak the same commands. */
export type RedisClient = Redis | Cluster;

/**
 * A client of REDIS_URL: `new Redis(url, options)` for one server, exactly as before; for redis+cluster:// a Cluster
 * whose node connections get the per-connection options and whose own options take the queueing and retry ones.
 */
export function createRedisClient(url: string, options: RedisOptions = {}): RedisClient {
  const target = parseRedisUrl(url);
  if (!target.cluster) return new Redis(url, options);
  const { lazyConnect, enableOfflineQueue, enableReadyCheck, retryStrategy, ...perNode } = options;
  const clusterOptions: ClusterOptions = {
    lazyConnect,
    enableOfflineQueue,
    enableReadyCheck,
    clusterRetryStrategy: retryStrategy ? (times) => retryStrategy(times) ?? null : retryStrategy,
    redisOptions: { ...perNode, username: target.username, password: target.password, tls: target.tls ? {} : undefined },
    // With TLS the nodes' certificates name hosts, not the addresses DNS gives (managed clusters such as ElastiCache).
    dnsLookup: target.tls ? (address, callback) => callback(null, address) : undefined,
  };
  return new Cluster(target.nodes, clusterOptions);
}
