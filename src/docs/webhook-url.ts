import ipaddr from 'ipaddr.js';
import { AppError } from '../errors.ts';

/**
 * Whether an IP address may receive webhooks: public unicast only. The same rule as the
 * delivery-time filter (request-filtering-agent refuses every ipaddr.js range but 'unicast'),
 * so a URL accepted here is not refused later for its literal address. That takes out
 * loopback, private (10/8, 172.16/12, 192.168/16), carrier-grade NAT, link-local (cloud
 * metadata at 169.254.169.254), unique-local (fc00::/7), unspecified (0.0.0.0, ::, which
 * connect to this machine), multicast, broadcast, documentation and reserved ranges, and
 * every IPv6 form that embeds an IPv4 address (::ffff:127.0.0.1, 64:ff9b::/96, 6to4).
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  const parsed = ipaddr.parse(address);
  return parsed.range() === 'unicast' && !(parsed.kind() === 'ipv6' && parsed.match(IPV4_COMPATIBLE));
}

/**
 * IPv4-compatible IPv6 (::a.b.c.d, deprecated by RFC 4291): ipaddr.js calls it unicast, yet
 * it embeds any IPv4 address, 127.0.0.1 and 169.254.169.254 included.
 */
export const IPV4_COMPATIBLE_CIDR = '::/96';
const IPV4_COMPATIBLE = ipaddr.parseCIDR(IPV4_COMPATIBLE_CIDR);

/**
 * Names that cannot be a public receiver: localhost and *.localhost (RFC 6761), mDNS (.local),
 * the private-use TLD .internal (cloud metadata, e.g. metadata.google.internal), .home.arpa
 * (RFC 8375), and single-label names, which only a local resolver answers (compose and
 * Kubernetes service names: redis, postgres). Names that resolve privately in any other way
 * are caught when a delivery connects; this check is only so that a person learns early.
 */
const INTERNAL_SUFFIXES = ['.localhost', '.local', '.internal', '.home.arpa'];

function internalName(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || !name.includes('.') || INTERNAL_SUFFIXES.some((suffix) => name.endsWith(suffix));
}

/** Why a URL's host is obviously not public, or null. `hostname` as URL gives it (IPv6 in brackets, IPv4 normalised). */
function privateHostProblem(hostname: string): string | null {
  const bare = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  if (ipaddr.isValid(bare)) return isPublicAddress(bare) ? null : `${hostname} is not a public address`;
  return internalName(bare) ? `${hostname} is a local or internal name` : null;
}

/**
 * Where deliveries go: an absolute http(s) URL without credentials in it (a password in a URL
 * ends up in listings), and, unless `allowPrivate`, a host that is obviously not private.
 * Malformed URLs are VALIDATION_FAILED (every problem at once); private ones are
 * WEBHOOK_URL_NOT_ALLOWED. Returns the URL normalised (numeric IPv4 forms become dotted).
 */
export function checkWebhookUrl(raw: string, { allowPrivate }: { allowPrivate: boolean }): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AppError('VALIDATION_FAILED', 'url must be an absolute http:// or https:// URL', { details: [{ path: '/url', message: 'not a URL' }] });
  }
  const problems: string[] = [];
  if (url.protocol !== 'http:' && url.protocol !== 'https:') problems.push('the scheme must be http or https');
  if (url.username || url.password) problems.push('put no credentials in the URL; verify deliveries by their signature');
  if (problems.length > 0) {
    throw new AppError('VALIDATION_FAILED', `url: ${problems.join('; ')}`, { details: problems.map((message) => ({ path: '/url', message })) });
  }
  const hostProblem = allowPrivate ? null : privateHostProblem(url.hostname);
  if (hostProblem) {
    throw new AppError('WEBHOOK_URL_NOT_ALLOWED', `url: ${hostProblem}; webhooks go to public addresses only`, {
      details: [{ path: '/url', message: hostProblem }],
    });
  }
  return url.href;
}
