import { lookup as dnsLookup } from "node:dns/promises";
import { isIP } from "node:net";
import { ValidationError } from "../domain/errors.js";
import { classifyAddress } from "./ip-address.js";

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Every address a host name resolves to. */
export type LookupAll = (hostname: string) => Promise<ResolvedAddress[]>;

/** Where outbound notifications may go: public addresses, or the hosts named in OUTBOUND_ALLOWED_HOSTS. */
export interface UrlGuard {
  /** Lower-case host names or IP addresses (IPv6 without brackets), compared with the URL's host. */
  allowedHosts: ReadonlySet<string>;
  lookup: LookupAll;
}

/** A URL refused by the SSRF guard: 400 unsafe_url. */
export class UnsafeUrlError extends ValidationError {
  constructor(message: string) {
    super(message, "unsafe_url");
  }
}

/** A URL that passed the guard, and the address it was checked at: the connection goes there and nowhere else. */
export interface VettedTarget {
  url: URL;
  address: string;
  family: 4 | 6;
}

const LOOKUP_TIMEOUT_MS = 5000;

/** The system resolver (as the connection would use it), all addresses, bounded in time. */
export const systemLookup: LookupAll = async (hostname) => {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${LOOKUP_TIMEOUT_MS} ms`)), LOOKUP_TIMEOUT_MS);
  });
  try {
    return await Promise.race([dnsLookup(hostname, { all: true, verbatim: true }), timeout]);
  } finally {
    clearTimeout(timer);
  }
};

/** The host as OUTBOUND_ALLOWED_HOSTS names it: lower case, no IPv6 brackets, no trailing dot. */
export function normalizeHost(host: string): string {
  return host.trim().toLowerCase().replace(/^\[(.*)\]$/, "$1").replace(/\.$/, "");
}

export function urlGuard(options: { allowedHosts?: readonly string[]; lookup?: LookupAll } = {}): UrlGuard {
  return {
    allowedHosts: new Set((options.allowedHosts ?? []).map(normalizeHost).filter((h) => h.length > 0)),
    lookup: options.lookup ?? systemLookup,
  };
}

/**
 * Checks a notification URL: http(s) only; unless the host is allowed, every address it resolves to must be
 * public (not private, loopback, link-local, CGNAT, multicast, unspecified, reserved or a cloud metadata
 * address, IPv4-mapped IPv6 forms included); http only to an allowed host whose every address is loopback
 * (development). Returns the first address, which the caller connects to so a later DNS answer cannot redirect it.
 */
export async function vetUrl(raw: string | URL, guard: UrlGuard): Promise<VettedTarget> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UnsafeUrlError("url is not a valid URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new UnsafeUrlError(`url must be http(s), not ${url.protocol.replace(/:$/, "")}`);
  const host = normalizeHost(url.hostname);
  const allowed = guard.allowedHosts.has(host);
  if (url.protocol === "http:" && !allowed) {
    throw new UnsafeUrlError(`url must be https (http only to a loopback host named in OUTBOUND_ALLOWED_HOSTS; ${host} is not named)`);
  }
  let addresses: ResolvedAddress[];
  if (isIP(host)) {
    addresses = [{ address: host, family: isIP(host) }];
  } else {
    try {
      addresses = await guard.lookup(host);
    } catch (error) {
      throw new UnsafeUrlError(`the host ${host} does not resolve: ${(error as Error).message}`);
    }
  }
  if (addresses.length === 0) throw new UnsafeUrlError(`the host ${host} does not resolve`);
  if (url.protocol === "http:") {
    const remote = addresses.find(({ address }) => classifyAddress(address) !== "loopback");
    if (remote) {
      const where = isIP(host) ? `${host} is not` : `${host} resolves to ${remote.address}, not`;
      throw new UnsafeUrlError(`url must be https (http only to a loopback host named in OUTBOUND_ALLOWED_HOSTS; ${where} a loopback address)`);
    }
  }
  if (!allowed) {
    for (const { address } of addresses) {
      const kind = classifyAddress(address);
      if (kind !== "public") {
        throw new UnsafeUrlError(
          `the host ${host} resolves to ${address} (${kind ?? "not an IP address"}); ` +
            "only public addresses are allowed unless the host is named in OUTBOUND_ALLOWED_HOSTS",
        );
      }
    }
  }
  const first = addresses[0]!;
  return { url, address: first.address, family: isIP(first.address) === 6 ? 6 : 4 };
}

/** The guard as registration applies it: the URL as stored, once accepted. */
export function registrationCheck(guard: UrlGuard): (url: string) => Promise<string> {
  return async (url) => (await vetUrl(url, guard)).url.href;
}
