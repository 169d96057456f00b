import type { RedisClient } from "./redis-client.js";

/**
 * Resolves true once the client is ready; false on its first error or after timeoutMs. For a client that
 * queues no commands while it connects, so that its first commands do not fail or wait without limit.
 */
export function redisReady(client: RedisClient, timeoutMs: number): Promise<boolean> {
  if (client.status === "ready") return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ready: boolean): void => {
      clearTimeout(timer);
      client.off("ready", onReady);
      client.off("error", onError);
      resolve(ready);
    };
    const onReady = (): void => done(true);
    const onError = (): void => done(false);
    const timer = setTimeout(() => done(false), timeoutMs);
    client.once("ready", onReady);
    client.once("error", onError);
  });
}
