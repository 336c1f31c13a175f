import http from 'node:http';
import https from 'node:https';
import { RequestFilteringHttpAgent, RequestFilteringHttpsAgent } from 'request-filtering-agent';
import { IPV4_COMPATIBLE_CIDR } from '../src/docs/webhook-url.ts';

/**
 * What a try at a receiver came to: the HTTP status it answered with, or one of two short
 * errors. Nothing else is ever kept of an answer: its body is never read (a receiver inside a
 * network must not be readable through lastError, nor through the log).
 */
export type PostOutcome = { status: number } | { error: WebhookPostError };

/**
 * The only errors stored and shown for a try without an HTTP answer. "address not allowed"
 * depends only on where the host points, not on any port. Everything else (name not found,
 * connection refused or reset, TLS failure, no answer within WEBHOOK_TIMEOUT_MS) is one
 * message: telling those apart would let a workspace owner map open ports.
 */
export const ADDRESS_NOT_ALLOWED = 'address not allowed';
export const NO_ANSWER = 'no answer';
export type WebhookPostError = typeof ADDRESS_NOT_ALLOWED | typeof NO_ANSWER;

export interface WebhookPoster {
  post(url: string, headers: Record<string, string>, body: string): Promise<PostOutcome>;
}

/**
 * request-filtering-agent refuses with a plain Error whose message says the address "is not
 * allowed" (it has no error code). Should that wording change, the refusal still happens; it is
 * only reported as "no answer" (webhook-ssrf.test.ts would then fail).
 */
const isFilterRefusal = (error: unknown) => error instanceof Error && /\bis not allowed\b/.test(error.message);

/**
 * POSTs to webhook receivers through request-filtering-agent (http.Agent subclasses): the
 * host of an IP-literal URL, and EVERY address a hostname resolves to, are checked when a
 * connection is made, after DNS and right before connecting, so a name that resolved
 * publicly at registration and privately now (DNS rebinding) is refused. keepAlive is off so
 * that every try makes a new connection and so a new check. Redirects are never followed
 * (node:http does not), so a 3xx is only a status.
 */
export function createWebhookPoster({ allowPrivate, timeoutMs }: { allowPrivate: boolean; timeoutMs: number }): WebhookPoster {
  // allowMetaIPAddress stays false either way: 0.0.0.0 and :: only ever mean "this machine".
  // Without keepAlive the agents hold no sockets between tries, so there is nothing to close.
  const filter = {
    allowPrivateIPAddress: allowPrivate,
    allowMetaIPAddress: false,
    // The library's ranges miss it (see webhook-url.ts).
    denyIPAddressList: allowPrivate ? [] : [IPV4_COMPATIBLE_CIDR],
    keepAlive: false,
  };
  const agents = { 'http:': new RequestFilteringHttpAgent(filter), 'https:': new RequestFilteringHttpsAgent(filter) };

  return {
    post(url, headers, body) {
      const target = new URL(url);
      const client = target.protocol === 'https:' ? https : http;
      const agent = target.protocol === 'https:' ? agents['https:'] : agents['http:'];
      return new Promise<PostOutcome>((resolve) => {
        let settled = false;
        const settle = (outcome: PostOutcome) => {
          if (settled) return;
          settled = true;
          resolve(outcome);
        };
        const request = client.request(
          target,
          {
            method: 'POST',
            agent,
            headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
            // The whole try, connecting included, up to the status line.
            signal: AbortSignal.timeout(timeoutMs),
          },
          (response) => {
            settle({ status: response.statusCode ?? 0 });
            response.destroy(); // the status is all we keep; the body is not read at all
          },
        );
        request.on('error', (error) => settle({ error: isFilterRefusal(error) ? ADDRESS_NOT_ALLOWED : NO_ANSWER }));
        request.end(body);
      });
    },
  };
}
