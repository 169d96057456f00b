import { SmeeClient } from "smee-client";
import { localUrl } from "../config.js";
import type { Logger } from "../log.js";

/** What the runtime needs of a smee.io client. */
export interface WebhookProxyClient {
  start(): Promise<unknown>;
  stop(): Promise<void>;
}

export interface WebhookProxyClientOptions {
  source: string;
  target: string;
  logger: { info(...args: unknown[]): void; error(...args: unknown[]): void };
}

export type WebhookProxyClientClass = new (options: WebhookProxyClientOptions) => WebhookProxyClient;

export interface WebhookProxy {
  stop(): Promise<void>;
}

/** The local address the proxy posts to: a wildcard listen address is reached on loopback. */
export function webhookProxyTarget(host: string, port: number, path: string): string {
  return `${localUrl(host, port)}${path}`;
}

function text(args: unknown[]): string {
  return args.map((a) => (a instanceof Error || (typeof a === "object" && a !== null && "message" in a) ? String((a as Error).message) : String(a))).join(" ");
}

/**
 * Forwards the deliveries GitHub posts to a smee.io channel to the local App endpoint, as Probot does in
 * development. Not awaited: the server starts even when smee.io cannot be reached, and the client keeps retrying.
 */
export function startWebhookProxy(options: { url: string; target: string; log: Logger; Client?: WebhookProxyClientClass }): WebhookProxy {
  const log = options.log.child({ name: "webhook-proxy" });
  // Whoever knows the channel URL can read and send its deliveries: log lines name the variable, not the URL.
  const channels = [options.url, new URL(options.url).toString().replace(/\/$/, "")];
  const redact = (line: string) => channels.reduce((out, channel) => out.split(channel).join("WEBHOOK_PROXY_URL"), line);
  const Client = options.Client ?? (SmeeClient as unknown as WebhookProxyClientClass);
  const client = new Client({
    source: options.url,
    target: options.target,
    logger: {
      info: (...args) => log.info(redact(text(args))),
      error: (...args) => log.warn(redact(text(args))),
    },
  });
  client.start().catch((error: unknown) => {
    log.warn({ err: redact(text([error])) }, "could not connect to WEBHOOK_PROXY_URL yet; retrying");
  });
  log.info({ target: options.target }, "forwarding the deliveries of WEBHOOK_PROXY_URL to the App endpoint");
  return { stop: () => client.stop() };
}
