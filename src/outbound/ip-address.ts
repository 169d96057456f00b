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

function ipv4Bytes(text: string): number[] {
  return text.split(".").map(Number);
}

/** The 16 bytes of an IPv6 address (a zone index such as `%eth0` is ignored). */
function ipv6Bytes(text: string): number[] {
  let address = text.split("%")[0]!;
  const dotted = address.match(/:(\d+\.\d+\.\d+\.\d+)$/);
  if (dotted) {
    const [a, b, c, d] = ipv4Bytes(dotted[1]!) as [number, number, number, number];
    address = `${address.slice(0, -dotted[1]!.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, rest] = address.split("::") as [string, string | undefined];
  const groups = (part: string) => (part === "" ? [] : part.split(":").map((g) => parseInt(g, 16)));
  const left = groups(head);
  const right = rest === undefined ? [] : groups(rest);
  const words = rest === undefined ? left : [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  return words.flatMap((word) => [word >> 8, word & 0xff]);
}

function matches(bytes: number[], prefix: number[], bits: number): boolean {
  for (let i = 0; i < bits; i += 8) {
    const take = Math.min(8, bits - i);
    const mask = (0xff << (8 - take)) & 0xff;
    if ((bytes[i / 8]! & mask) !== (prefix[i / 8]! & mask)) return false;
  }
  return true;
}

function classifyIPv4(bytes: number[]): AddressClass {
  for (const [prefix, bits, verdict] of IPV4_RULES) {
    if (matches(bytes, ipv4Bytes(prefix), bits)) return verdict as AddressClass;
  }
  return "public";
}

function classifyIPv6(bytes: number[]): AddressClass {
  for (const [prefix, bits, verdict] of IPV6_RULES) {
    if (!matches(bytes, ipv6Bytes(prefix), bits)) continue;
    if (verdict !== "embedded_ipv4") return verdict;
    // 6to4 puts the IPv4 address right after its 16-bit prefix; the other forms put it last.
    return classifyIPv4(bits === 16 ? bytes.slice(2, 6) : bytes.slice(12, 16));
  }
  // Only 2000::/3 is handed out as global unicast.
  return (bytes[0]! & 0xe0) === 0x20 ? "public" : "reserved";
}

/** Classifies an IPv4 or IPv6 address in text form; undefined when it is not an IP address. */
export function classifyAddress(address: string): AddressClass | undefined {
  if (isIPv4(address)) return classifyIPv4(ipv4Bytes(address));
  if (isIPv6(address)) return classifyIPv6(ipv6Bytes(address));
  return undefined;
}
