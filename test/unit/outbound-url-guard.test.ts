import { describe, expect, it } from "@jest/globals";
import { urlGuard, vetUrl, type ResolvedAddress } from "../../src/outbound/url-guard.js";

/** A resolver answering from a table, and counting its calls. */
function fakeDns(table: Record<string, string[]>) {
  const calls: string[] = [];
  const lookup = async (hostname: string): Promise<ResolvedAddress[]> => {
    calls.push(hostname);
    const addresses = table[hostname];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
    return addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
  };
  return { lookup, calls };
}

const dns = fakeDns({
  "hooks.example.com": ["93.184.216.34"],
  "dual.example.com": ["2606:4700:4700::1111", "93.184.216.34"],
  "internal.example.com": ["10.0.0.7"],
  "mixed.example.com": ["93.184.216.34", "192.168.1.20"],
  "mapped.example.com": ["::ffff:127.0.0.1"],
  "metadata.example.com": ["169.254.169.254"],
  "aws6.example.com": ["fd00:ec2::254"],
  "cgnat.example.com": ["100.64.0.9"],
  "localhost": ["127.0.0.1", "::1"],
  "dev.internal": ["10.1.2.3"],
  "dev.localhost": ["127.0.0.1", "::1"],
  "half-local.test": ["127.0.0.1", "93.184.216.34"],
  "mapped-local.test": ["::ffff:127.0.0.1"],
  "empty.example.com": [],
});
const guard = urlGuard({
  allowedHosts: ["127.0.0.1", "Dev.Internal", "[::1]", "dev.localhost", "10.0.0.5", "half-local.test", "mapped-local.test"],
  lookup: dns.lookup,
});

describe("vetUrl", () => {
  it.each([
    ["https://hooks.example.com/entourage", "93.184.216.34", 4],
    ["https://dual.example.com/x", "2606:4700:4700::1111", 6],
    ["https://8.8.8.8/x", "8.8.8.8", 4],
    ["https://[2606:4700:4700::1111]:8443/x", "2606:4700:4700::1111", 6],
    ["https://HOOKS.example.com./x", "93.184.216.34", 4],
    // Allowed hosts: https to any address; http only where every address is loopback.
    ["http://127.0.0.1:4000/hook", "127.0.0.1", 4],
    ["http://[::1]:4000/hook", "::1", 6],
    ["http://dev.localhost:4000/hook", "127.0.0.1", 4],
    ["http://mapped-local.test/hook", "::ffff:127.0.0.1", 6],
    ["https://DEV.INTERNAL/hook", "10.1.2.3", 4],
    ["https://10.0.0.5/hook", "10.0.0.5", 4],
    ["https://half-local.test/hook", "127.0.0.1", 4],
  ])("accepts %s, to be reached at %s", async (url, address, family) => {
    const target = await vetUrl(url, guard);
    expect({ address: target.address, family: target.family }).toEqual({ address, family });
  });

  it.each([
    ["ftp://hooks.example.com/x", /must be http\(s\), not ftp/],
    ["file:///etc/passwd", /must be http\(s\), not file/],
    ["gopher://127.0.0.1:6379/_INFO", /must be http\(s\)/],
    ["javascript:alert(1)", /must be http\(s\)/],
    ["not a url", /not a valid URL/],
    ["http://hooks.example.com/x", /must be https/],
    ["http://10.0.0.1/hook", /must be https/],
    // Allowed, but not loopback: http is refused all the same.
    ["http://10.0.0.5/hook", /must be https \(http only to a loopback host named in OUTBOUND_ALLOWED_HOSTS; 10\.0\.0\.5 is not a loopback address\)/],
    ["http://dev.internal/hook", /dev\.internal resolves to 10\.1\.2\.3, not a loopback address/],
    ["http://half-local.test/hook", /half-local\.test resolves to 93\.184\.216\.34, not a loopback address/],
    ["https://10.0.0.1/hook", /10\.0\.0\.1 \(private\)/],
    ["https://127.0.0.2/hook", /127\.0\.0\.2 \(loopback\)/],
    ["https://2130706434/hook", /127\.0\.0\.2 \(loopback\)/],
    ["https://0x7f.2/hook", /127\.0\.0\.2 \(loopback\)/],
    ["https://0/hook", /0\.0\.0\.0 \(unspecified\)/],
    ["https://169.254.169.254/latest/meta-data/", /\(metadata\)/],
    ["https://[::ffff:127.0.0.1]/hook", /loopback/],
    ["https://[::ffff:a9fe:a9fe]/hook", /metadata/],
    ["https://[fd00:ec2::254]/hook", /metadata/],
    ["https://[fe80::1]/hook", /link_local/],
    ["https://[::]/hook", /unspecified/],
    ["https://224.0.0.1/hook", /multicast/],
    ["https://internal.example.com/hook", /internal\.example\.com resolves to 10\.0\.0\.7 \(private\)/],
    ["https://mixed.example.com/hook", /192\.168\.1\.20 \(private\)/],
    ["https://mapped.example.com/hook", /::ffff:127\.0\.0\.1 \(loopback\)/],
    ["https://metadata.example.com/hook", /metadata/],
    ["https://aws6.example.com/hook", /metadata/],
    ["https://cgnat.example.com/hook", /cgnat/],
    ["https://localhost/hook", /localhost resolves to 127\.0\.0\.1 \(loopback\)/],
    ["https://nowhere.example.com/hook", /does not resolve: getaddrinfo ENOTFOUND/],
    ["https://empty.example.com/hook", /does not resolve/],
  ])("refuses %s with unsafe_url", async (url, message) => {
    const refused = vetUrl(url, guard);
    await expect(refused).rejects.toMatchObject({ code: "unsafe_url" });
    await expect(refused).rejects.toThrow(message);
  });

  it("does not resolve IP literals, and with no allowed hosts refuses loopback over https too", async () => {
    dns.calls.length = 0;
    await vetUrl("https://8.8.8.8/x", guard);
    expect(dns.calls).toEqual([]);
    await expect(vetUrl("https://127.0.0.1/x", urlGuard({ lookup: dns.lookup }))).rejects.toMatchObject({ code: "unsafe_url" });
    await expect(vetUrl("http://127.0.0.1/x", urlGuard({ lookup: dns.lookup }))).rejects.toThrow(/must be https/);
  });
});
