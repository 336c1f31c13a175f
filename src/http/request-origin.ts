import type { Config } from '../config.ts';

/**
 * Which browser pages may call this node. Two attacks, both from a page on any site the user
 * opens:
 *  - cross-site requests: the browser sends the page's own Origin; refused unless it is this
 *    node's own origin (the shipped web editor) or listed in ALLOWED_ORIGINS;
 *  - DNS rebinding: the attacker's name is made to resolve to this node, so the browser
 *    thinks it talks to the attacker's own site and sends the attacker's name in Host (and,
 *    on a same-origin GET, no Origin at all); refused unless Host is a loopback name or
 *    listed in ALLOWED_HOSTS.
 * Clients that are not browsers send no Origin and pass the first check.
 *
 * Where they apply: /mcp always checks the Origin (the MCP specification requires it of
 * Streamable HTTP servers), and the Host when the node listens on loopback (as the MCP SDK's
 * own servers do), when ALLOWED_HOSTS is set, or with AUTH=off. With AUTH=off, where no
 * credential stands in any page's way, every request and socket is checked, both ways. With
 * AUTH=on a page has no credential to use (Tandem has no cookies: tokens are Bearer headers
 * a page on another site cannot read), so REST is left to CORS and sockets are checked only
 * against an ALLOWED_ORIGINS list when one is set.
 */

/** Names that always reach this machine only. */
const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];
const LOOPBACK_LISTEN_ADDRESSES = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

export interface OriginRules {
  /** AUTH=off: every request and socket is checked, Origin and Host. */
  everything: boolean;
  /** /mcp checks the Host too. */
  mcpHost: boolean;
  /** With AUTH=on: WebSocket upgrades check the Origin (ALLOWED_ORIGINS is set). */
  socketOrigins: boolean;
  /** Origins that pass besides the node's own (ALLOWED_ORIGINS). */
  listedOrigins: readonly string[];
  /** Why a request with these headers is refused (the problem's detail), or null when it is not. */
  refusal(headers: RequestHeaders, check: { origin: boolean; host: boolean }): string | null;
}

export interface RequestHeaders {
  origin?: string | undefined;
  host?: string | undefined;
}

/** The host name a Host header names, without the port, as URL parsing normalizes it; null when there is none. */
function hostNameOf(host: string | undefined): string | null {
  if (!host) return null;
  try {
    return new URL(`http://${host}`).hostname;
  } catch {
    // Not a host[:port] at all: nothing to allow.
    return null;
  }
}

/**
 * The origins a browser shows for pages served under this Host header (http and https; URL
 * drops the default ports, as Origin headers do). Empty when the header is not a host.
 */
export function ownOriginsOf(host: string | undefined): string[] {
  if (!host) return [];
  try {
    return [new URL(`http://${host}`).origin, new URL(`https://${host}`).origin];
  } catch {
    // A Host that is no host has no origin.
    return [];
  }
}

export function originRulesFor(config: Pick<Config, 'auth' | 'host' | 'allowedOrigins' | 'allowedHosts'>): OriginRules {
  const listedOrigins = config.allowedOrigins ?? [];
  const origins = new Set(listedOrigins);
  // config.ts lower-cases ALLOWED_HOSTS, as URL parsing does the Host header.
  const hosts = new Set([...LOOPBACK_NAMES, ...(config.allowedHosts ?? [])]);

  const originAllowed = (origin: string | undefined, host: string | undefined) =>
    origin === undefined || origins.has(origin) || ownOriginsOf(host).includes(origin);
  const hostAllowed = (host: string | undefined) => {
    const name = hostNameOf(host);
    return name !== null && hosts.has(name);
  };

  return {
    everything: config.auth === 'off',
    mcpHost: config.auth === 'off' || LOOPBACK_LISTEN_ADDRESSES.has(config.host) || config.allowedHosts !== null,
    socketOrigins: config.allowedOrigins !== null,
    listedOrigins,
    refusal(headers, check) {
      if (check.host && !hostAllowed(headers.host)) {
        return `Host ${JSON.stringify(headers.host ?? '')} is not a name of this server: a loopback name or one in ALLOWED_HOSTS`;
      }
      if (check.origin && !originAllowed(headers.origin, headers.host)) {
        return `Origin ${headers.origin} may not call this server: only its own origin and those in ALLOWED_ORIGINS`;
      }
      return null;
    },
  };
}
