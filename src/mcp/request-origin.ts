/** Which Host and Origin headers /mcp answers, against DNS rebinding: a web page must not reach a server on a laptop. */
export interface OriginPolicy {
  /** Host names (optionally with port) the server answers to; undefined: any (a server behind a load balancer). */
  allowedHosts?: string[];
  /** Browser origins allowed to call; a request without an Origin header (coding agents) is always allowed. */
  allowedOrigins: string[];
}

const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "[::1]"];

function bracketed(host: string): string {
  return host.includes(":") && !host.startsWith("[") && host.split(":").length > 2 ? `[${host}]` : host;
}

function hostName(host: string): string {
  return host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.split(":")[0]!;
}

/**
 * The policy from the settings: MCP_ALLOWED_HOSTS when given ("*" for any); otherwise a server bound to a loopback
 * address answers only loopback names and BASE_URL's host, and any other answers every Host. Origins: BASE_URL's and
 * MCP_ALLOWED_ORIGINS ("*" for any).
 */
export function originPolicy(input: { bindHost: string; baseUrl?: string; allowedHosts: string[]; allowedOrigins: string[] }): OriginPolicy {
  const base = input.baseUrl ? new URL(input.baseUrl) : undefined;
  const loopbackBound = LOOPBACK_NAMES.includes(bracketed(input.bindHost));
  let allowedHosts: string[] | undefined;
  if (input.allowedHosts.length > 0) allowedHosts = input.allowedHosts.includes("*") ? undefined : input.allowedHosts.map((h) => bracketed(h.toLowerCase()));
  else if (loopbackBound) allowedHosts = [...LOOPBACK_NAMES, ...(base ? [base.host] : [])];
  return { allowedHosts, allowedOrigins: [...input.allowedOrigins, ...(base ? [base.origin] : [])] };
}

/** Why the request's Host or Origin is refused, in one line; undefined when it may go on. */
export function refusedOrigin(headers: { host?: string; origin?: string }, policy: OriginPolicy): string | undefined {
  const host = (headers.host ?? "").toLowerCase();
  if (policy.allowedHosts && !policy.allowedHosts.some((allowed) => allowed === host || allowed === hostName(host))) {
    return `Host ${JSON.stringify(host)} is not one this server answers on /mcp; allowed: ${policy.allowedHosts.join(", ")} (MCP_ALLOWED_HOSTS)`;
  }
  const origin = headers.origin;
  if (origin !== undefined && !policy.allowedOrigins.includes("*") && !policy.allowedOrigins.includes(origin)) {
    return `Origin ${JSON.stringify(origin)} may not call /mcp; allowed: ${policy.allowedOrigins.join(", ") || "none (set MCP_ALLOWED_ORIGINS)"}`;
  }
  return undefined;
}
