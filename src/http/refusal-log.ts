import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { APP_WEBHOOK_PATH } from "./routes/github-app-webhooks.js";

/** Senders of deliveries see only our status code: their refusals are worth an info line, the API's a debug one. */
const RECEIVE_ROUTE = "/api/v1/webhooks/:id/receive";
const WEBHOOK_ROUTES = new Set([APP_WEBHOOK_PATH, RECEIVE_ROUTE]);
const NO_ROUTE = "(no route)";
export const REFUSAL_LINES_PER_WINDOW = 20;
export const REFUSAL_WINDOW_MS = 10_000;

export interface LineBudgetOptions {
  lines: number;
  windowMs: number;
  now?: () => number;
}

interface Window<T> {
  startedAt: number;
  written: number;
  leftOut: number;
  detail: T;
}

export interface LeftOut<T> {
  detail: T;
  leftOut: number;
}

/** At most `lines` lines per window for each key; the rest are counted, so one line can say how many were left out. */
export class LineBudget<T> {
  private readonly windows = new Map<string, Window<T>>();
  private readonly now: () => number;

  constructor(private readonly options: LineBudgetOptions) {
    this.now = options.now ?? Date.now;
  }

  /** write: log this line; leftOut: the key's previous window, ended with lines left out, to report first. */
  take(key: string, detail: T): { write: boolean; leftOut?: LeftOut<T> } {
    const now = this.now();
    let window = this.windows.get(key);
    let leftOut: LeftOut<T> | undefined;
    if (window && now - window.startedAt >= this.options.windowMs) {
      if (window.leftOut > 0) leftOut = { detail: window.detail, leftOut: window.leftOut };
      window = undefined;
    }
    if (!window) {
      window = { startedAt: now, written: 0, leftOut: 0, detail };
      this.windows.set(key, window);
    }
    const write = window.written < this.options.lines;
    if (write) window.written++;
    else window.leftOut++;
    return leftOut ? { write, leftOut } : { write };
  }

  /** Forgets the windows that have ended (all of them with `all`) and returns those that left lines out. */
  drain(all = false): LeftOut<T>[] {
    const now = this.now();
    const ended: LeftOut<T>[] = [];
    for (const [key, window] of this.windows) {
      if (!all && now - window.startedAt < this.options.windowMs) continue;
      this.windows.delete(key);
      if (window.leftOut > 0) ended.push({ detail: window.detail, leftOut: window.leftOut });
    }
    return ended;
  }

  /** Whether a window still open has lines left out that a later drain will report. */
  hasLeftOut(): boolean {
    return [...this.windows.values()].some((w) => w.leftOut > 0);
  }
}

interface Refusal {
  level: "info" | "debug";
  status: number;
  method: string;
  route: string;
}

interface Reason {
  code?: string | number;
  message?: string;
}

function isRefusal(status: number): boolean {
  return (status >= 400 && status < 500) || status === 503;
}

/** The `{"error":{"code","message"}}` every refusal answers with (see errors.ts); nothing else of the body. */
function reasonOf(payload: unknown): Reason {
  if (typeof payload !== "string" || payload.length > 16_384) return {};
  try {
    const error = (JSON.parse(payload) as { error?: { code?: unknown; message?: unknown } }).error;
    return {
      code: typeof error?.code === "string" || typeof error?.code === "number" ? error.code : undefined,
      message: typeof error?.message === "string" ? error.message.slice(0, 500) : undefined,
    };
  } catch {
    return {};
  }
}

function refusalOf(request: FastifyRequest, reply: FastifyReply): Refusal {
  const route = request.routeOptions.url ?? NO_ROUTE;
  return { level: WEBHOOK_ROUTES.has(route) ? "info" : "debug", status: reply.statusCode, method: request.method, route };
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === "string" ? value.slice(0, 100) : undefined;
}

/** Refusal lines, at most `lines` per window for each method, route and status; then one line saying how many were left out. */
export class RefusalLog {
  private readonly budget: LineBudget<Refusal>;
  private readonly windowMs: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly log: FastifyBaseLogger, options: Partial<LineBudgetOptions> = {}) {
    this.windowMs = options.windowMs ?? REFUSAL_WINDOW_MS;
    this.budget = new LineBudget<Refusal>({ lines: options.lines ?? REFUSAL_LINES_PER_WINDOW, windowMs: this.windowMs, now: options.now });
  }

  /** Writes the refusal's line unless its key is past the budget. */
  write(refusal: Refusal, fields: Record<string, unknown>, message: string, log: FastifyBaseLogger = this.log): void {
    const { write, leftOut } = this.budget.take(`${refusal.method} ${refusal.route} ${refusal.status}`, refusal);
    if (leftOut) this.reportLeftOut(leftOut);
    if (write) log[refusal.level](fields, message);
    else this.reportLater();
  }

  /** Reports what is still counted; the log is not written to afterwards. */
  close(): void {
    clearTimeout(this.timer);
    this.budget.drain(true).forEach((ended) => this.reportLeftOut(ended));
  }

  private reportLeftOut({ detail: r, leftOut }: LeftOut<Refusal>): void {
    this.log[r.level](
      { status: r.status, method: r.method, route: r.route, left_out: leftOut },
      `${leftOut} more refusals of ${r.method} ${r.route} with ${r.status} in ${this.windowMs / 1000} s were not logged`,
    );
  }

  private reportLater(): void {
    if (this.timer) return;
    // A flood that stops still gets its count, once its window has ended.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.budget.drain().forEach((ended) => this.reportLeftOut(ended));
      if (this.budget.hasLeftOut()) this.reportLater();
    }, this.windowMs);
    this.timer.unref();
  }
}

/** Logs every 4xx and 503 answer once (within the refusal log's budget), without a header value but the delivery id, the body or the query string. */
export function logRefusals(app: FastifyInstance, refusals: RefusalLog): void {
  const reasons = new WeakMap<FastifyRequest, Reason>();
  app.addHook("onSend", async (request, reply, payload) => {
    if (isRefusal(reply.statusCode)) reasons.set(request, reasonOf(payload));
    return payload;
  });
  app.addHook("onResponse", async (request, reply) => {
    if (!isRefusal(reply.statusCode)) return;
    const refusal = refusalOf(request, reply);
    const { code, message } = reasons.get(request) ?? {};
    refusals.write(refusal, {
      status: refusal.status, code, reason: message, method: refusal.method, route: refusal.route,
      ...(refusal.route === NO_ROUTE ? { path: request.url.split("?")[0]!.slice(0, 200) } : {}),
      delivery: header(request, "x-github-delivery"), ip: request.ip,
    }, `refused ${refusal.method} ${refusal.route}: ${refusal.status}${code === undefined ? "" : ` ${code}`}`, request.log);
  });
  app.addHook("onClose", async () => refusals.close());
}

/** The method and path of a request line Node's parser got far enough to read; none of the query string. */
function requestLine(rawPacket: unknown): { method: string; path: string } | undefined {
  if (!Buffer.isBuffer(rawPacket)) return undefined;
  const line = /^([A-Z]{1,20}) (\/[^ ?\r\n]{0,2000})[^ \r\n]* HTTP\/1\.[01]\r?\n/.exec(rawPacket.subarray(0, 2100).toString("latin1"));
  return line ? { method: line[1]!, path: line[2]!.slice(0, 200) } : undefined;
}

const RECEIVE_PATH = /^\/api\/v1\/webhooks\/[^/]+\/receive$/;
const UNPARSED = "(not parsed)";

/**
 * Logs a request Node's HTTP parser refused (a malformed request, headers over the limit, a request that did not
 * arrive in time), which no Fastify hook sees: the status and code it was answered with, the parser's reason, the
 * client address, and the method and path when the request line could be read.
 */
export function logClientError(refusals: RefusalLog, error: NodeJS.ErrnoException & { rawPacket?: unknown }, answer: { status: number; code: string }, ip: string | undefined): void {
  const line = requestLine(error.rawPacket);
  const webhookRoute = line && (line.path === APP_WEBHOOK_PATH ? APP_WEBHOOK_PATH : RECEIVE_PATH.test(line.path) ? RECEIVE_ROUTE : undefined);
  const refusal: Refusal = { level: webhookRoute ? "info" : "debug", status: answer.status, method: line?.method ?? "-", route: webhookRoute ?? UNPARSED };
  refusals.write(refusal, {
    status: refusal.status, code: answer.code, reason: error.code, method: refusal.method, route: refusal.route,
    ...(line && !webhookRoute ? { path: line.path } : {}), ip,
  }, `refused ${refusal.method} ${refusal.route}: ${refusal.status} ${answer.code} (${error.code ?? "client error"})`);
}
