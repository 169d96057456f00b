import ipaddr from "ipaddr.js";
import { isIPv4, isIPv6 } from "node:net";

/** What an address is, for deciding whether outbound notifications may go there. */
export type AddressClass =
  | "public"
  | "private"
  | "loopback"
  | "link_local"
  | "cgnat"
  | "multicast"
  | "unspecified"
  | "metadata"
  | "reserved";

type Rule = readonly [prefix: string, bits: number, verdict: AddressClass | "embedded_ipv4"];

/** Most specific first: the first matching rule decides. */
const IPV4_RULES: readonly Rule[] = [
  ["169.254.169.254", 32, "metadata"],
  ["100.100.100.200", 32, "metadata"],
  ["0.0.0.0", 8, "unspecified"],
  ["10.0.0.0", 8, "private"],
  ["100.64.0.0", 10, "cgnat"],
  ["127.0.0.0", 8, "loopback"],
  ["169.254.0.0", 16, "link_local"],
  ["172.16.0.0", 12, "private"],
  ["192.0.0.0", 24, "reserved"],
  ["192.0.2.0", 24, "reserved"],
  ["192.88.99.0", 24, "reserved"],
  ["192.168.0.0", 16, "private"],
  ["198.18.0.0", 15, "reserved"],
  ["198.51.100.0", 24, "reserved"],
  ["203.0.113.0", 24, "reserved"],
  ["224.0.0.0", 4, "multicast"],
  ["240.0.0.0", 4, "reserved"],
];

const IPV6_RULES: readonly Rule[] = [
  ["::", 128, "unspecified"],
  ["::1", 128, "loopback"],
  ["fd00:ec2::254", 128, "metadata"],
  // Forms that carry an IPv4 address reach that address: judge it instead.
  ["::ffff:0:0", 96, "embedded_ipv4"],
  ["::ffff:0:0:0", 96, "embedded_ipv4"],
  ["64:ff9b::", 96, "embedded_ipv4"],
  ["::", 96, "embedded_ipv4"],
  ["64:ff9b:1::", 48, "reserved"],
  ["100::", 64, "reserved"],
  ["2001:db8::", 32, "reserved"],
  ["2001::", 32, "reserved"],
  ["2002::", 16, "embedded_ipv4"],
  ["fc00::", 7, "private"],
  ["fe80::", 10, "link_local"],
  ["fec0::", 10, "private"],
  ["ff00::", 8, "multicast"],
];

const IPV4_RANGES = IPV4_RULES.map(([prefix, bits, verdict]) => [ipaddr.IPv4.parse(prefix), bits, verdict] as const);
const IPV6_RANGES = IPV6_RULES.map(([prefix, bits, verdict]) => [ipaddr.IPv6.parse(prefix), bits, verdict] as const);

function classifyIPv4(address: ipaddr.IPv4): AddressClass {
  for (const [prefix, bits, verdict] of IPV4_RANGES) {
    if (address.match(prefix, bits)) return verdict as AddressClass;
  }
  return "public";
}

function classifyIPv6(address: ipaddr.IPv6): AddressClass {
  const bytes = address.toByteArray();
  for (const [prefix, bits, verdict] of IPV6_RANGES) {
    if (!address.match(prefix, bits)) continue;
    if (verdict !== "embedded_ipv4") return verdict;
    // 6to4 puts the IPv4 address right after its 16-bit prefix; the other forms put it last.
    return classifyIPv4(new ipaddr.IPv4(bits === 16 ? bytes.slice(2, 6) : bytes.slice(12, 16)));
  }
  // Only 2000::/3 is handed out as global unicast.
  return (bytes[0]! & 0xe0) === 0x20 ? "public" : "reserved";
}

/**
 * Classifies an IPv4 or IPv6 address in text form (an IPv6 zone index such as `%eth0` is ignored);
 * undefined when it is not an IP address. Only the standard forms count: `127.1` is a host name here.
 */
export function classifyAddress(address: string): AddressClass | undefined {
  if (isIPv4(address)) return classifyIPv4(ipaddr.IPv4.parse(address));
  if (isIPv6(address)) return classifyIPv6(ipaddr.IPv6.parse(address));
  return undefined;
}
