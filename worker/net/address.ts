/**
 * Is a URL host a private/internal destination? Literal addresses in every spelling (decimal, hex and
 * octal IPv4; IPv6 with an embedded IPv4: compatible, mapped, translated, NAT64, 6to4, Teredo) and
 * well-known internal names are classified here. Workers cannot resolve DNS before fetching, so a
 * public name that resolves to a private address is not caught here; in production Cloudflare's own
 * egress cannot reach private networks, and `wrangler dev` only reaches them when
 * ALLOW_PRIVATE_NETWORK is on.
 */

/** Parses IPv4 the way inet_aton does (1–4 parts, each decimal, 0x-hex or 0-octal). Null if not IPv4. */
export function parseIPv4(host: string): number | null {
  const parts = host.split(".");
  if (parts.length > 1 && parts.at(-1) === "") parts.pop(); // "127.0.0.1." is the same host
  if (parts.length < 1 || parts.length > 4) return null;
  const nums: number[] = [];
  for (const p of parts) {
    let n: number;
    if (/^0x[0-9a-f]*$/i.test(p)) n = p.length === 2 ? 0 : parseInt(p.slice(2), 16);
    else if (/^0[0-7]+$/.test(p)) n = parseInt(p, 8);
    else if (/^(0|[1-9][0-9]*)$/.test(p)) n = parseInt(p, 10);
    else return null;
    if (!Number.isFinite(n)) return null;
    nums.push(n);
  }
  const last = nums.pop()!;
  if (nums.some((n) => n > 255) || last >= 256 ** (4 - nums.length)) return null;
  return nums.reduce((acc, n, i) => acc + n * 256 ** (3 - i), 0) + last;
}

/** Parses an IPv6 literal (with or without brackets, dotted IPv4 tail allowed) into 8 16-bit groups. */
export function parseIPv6(host: string): number[] | null {
  let h = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  h = h.replace(/%.*$/, ""); // zone id
  if (!h.includes(":")) return null;
  const tail = h.match(/(\d+\.\d+\.\d+\.\d+)$/);
  if (tail) {
    const v4 = parseIPv4(tail[1]);
    if (v4 === null) return null;
    h = `${h.slice(0, -tail[1].length)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const halves = h.split("::");
  if (halves.length > 2) return null;
  const parse = (s: string) => (s === "" ? [] : s.split(":").map((g) => (/^[0-9a-f]{1,4}$/i.test(g) ? parseInt(g, 16) : NaN)));
  const head = parse(halves[0]);
  const rest = halves.length === 2 ? parse(halves[1]) : [];
  if ([...head, ...rest].some(Number.isNaN)) return null;
  const fill = 8 - head.length - rest.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return null;
  return [...head, ...Array(halves.length === 2 ? fill : 0).fill(0), ...rest];
}

const v4 = (a: number, b: number, c: number, d: number) => ((a << 24) >>> 0) + (b << 16) + (c << 8) + d;
const BLOCKED_V4: [number, number, string][] = [
  [v4(0, 0, 0, 0), 8, "unspecified"],
  [v4(10, 0, 0, 0), 8, "private"],
  [v4(100, 64, 0, 0), 10, "shared (CGNAT)"],
  [v4(127, 0, 0, 0), 8, "loopback"],
  [v4(169, 254, 0, 0), 16, "link-local/metadata"],
  [v4(172, 16, 0, 0), 12, "private"],
  [v4(192, 0, 0, 0), 24, "IETF special"],
  [v4(192, 0, 2, 0), 24, "documentation"],
  [v4(192, 168, 0, 0), 16, "private"],
  [v4(198, 18, 0, 0), 15, "benchmarking"],
  [v4(198, 51, 100, 0), 24, "documentation"],
  [v4(203, 0, 113, 0), 24, "documentation"],
  [v4(224, 0, 0, 0), 4, "multicast"],
  [v4(240, 0, 0, 0), 4, "reserved/broadcast"],
];

function classifyV4(addr: number): string | null {
  for (const [base, bits, why] of BLOCKED_V4) {
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    if ((addr & mask) >>> 0 === base) return why;
  }
  return null;
}

function classifyV6(g: number[]): string | null {
  const embedded = (hi: number, lo: number) => classifyV4(((hi << 16) >>> 0) + lo);
  if (g.every((x) => x === 0)) return "unspecified";
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return "loopback";
  // ::/64 holds every IPv4-in-IPv6 spelling a stack may honour: ::a.b.c.d (compatible), ::ffff:a.b.c.d
  // (mapped) and ::ffff:0:a.b.c.d (translated, RFC 2765). Matching only some of them let
  // [::ffff:0:7f00:1] through, so the whole /64 is judged by the IPv4 in its last 32 bits; only the
  // mapped and translated forms of a public IPv4 pass, the rest of the range is reserved.
  if (g.slice(0, 4).every((x) => x === 0)) {
    const why = embedded(g[6], g[7]);
    if (why) return why;
    const mapped = g[4] === 0 && g[5] === 0xffff;
    const translated = g[4] === 0xffff && g[5] === 0;
    return mapped || translated ? null : "reserved (IPv4-compatible)";
  }
  // NAT64: 64:ff9b::/96 (well-known) carries the IPv4 in its last 32 bits; 64:ff9b:1::/48 is local-use only.
  if (g[0] === 0x64 && g[1] === 0xff9b) return g[2] === 1 ? "local-use NAT64" : embedded(g[6], g[7]);
  if (g[0] === 0x2002) return embedded(g[1], g[2]); // 6to4: 2002:AABB:CCDD::/48
  // Teredo (2001::/32) carries the client IPv4 bit-inverted in its last 32 bits.
  if (g[0] === 0x2001 && g[1] === 0) return embedded(~g[6] & 0xffff, ~g[7] & 0xffff);
  if ((g[0] & 0xfe00) === 0xfc00) return "unique local (private)";
  if ((g[0] & 0xffc0) === 0xfe80) return "link-local";
  if ((g[0] & 0xffc0) === 0xfec0) return "site-local";
  if ((g[0] & 0xff00) === 0xff00) return "multicast";
  if (g[0] === 0x2001 && g[1] === 0xdb8) return "documentation";
  return null;
}

const INTERNAL_NAMES =
  /^(localhost|localhost\.localdomain|ip6-localhost|ip6-loopback|metadata|metadata\.google\.internal|instance-data|kubernetes(\.default(\.svc)?)?)$/;
const INTERNAL_SUFFIXES = /\.(localhost|local|internal|intranet|lan|home|home\.arpa|corp|localdomain|in-addr\.arpa|ip6\.arpa)$/;

/** Why `host` (a URL hostname) is not a public destination, or null when it is. */
export function privateHostReason(host: string): string | null {
  const h = host.toLowerCase().replace(/\.+$/, "");
  if (!h) return "empty host";
  const six = parseIPv6(h);
  if (six) return classifyV6(six);
  const four = parseIPv4(h);
  if (four !== null) return classifyV4(four);
  if (INTERNAL_NAMES.test(h) || INTERNAL_SUFFIXES.test(h)) return "internal name";
  if (!h.includes(".")) return "single-label (intranet) name";
  return null;
}
