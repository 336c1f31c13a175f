import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { hocuspocusClient, waitFor, whenSynced, yWebsocketClient } from '../helpers/clients.ts';
import { signTestToken, signUp, startAuthNode, type TestUser } from '../helpers/auth.ts';
import { startTestNode, type TestNode, uniqueDocId } from '../helpers/node.ts';
import { TEST_REDIS_URL } from '../helpers/ports.ts';
import { restClient } from '../helpers/rest.ts';
import { addressed, authMessage, body, isAuthenticated, letterUpdates, sendInOneWrite } from '../helpers/raw-socket.ts';

/**
 * failure-modes.md, Security: floods (REST, new sockets, messages on a socket) are bounded,
 * cross-site WebSocket hijacking through a foreign Origin is refused where an allow-list is
 * set, and answers carry security headers. Every node runs with small limits given by env; the
 * REST limits run with access control on (the credential a request carries, once checked,
 * decides its bucket), the others with AUTH=off.
 */

/** Transient: y-websocket and Hocuspocus clients come back by themselves. */
const RATE_LIMITED = { code: 1013, reason: 'RATE_LIMITED' };
const FORBIDDEN = { code: 4403, reason: 'FORBIDDEN' };
const ALLOWED_ORIGIN = 'https://app.example';
const FOREIGN_ORIGIN = 'https://evil.example';

const bearer = (label: string) => ({ authorization: `Bearer ${uniqueDocId(label)}` });

interface TestSocket {
  ws: WebSocket;
  received: Uint8Array[];
  /** The close the server sent, or a failure if it did not close within 10 s. */
  closed(): Promise<{ code: number; reason: string }>;
  /** Resolves at the first binary message from the server (the socket was admitted). */
  firstMessage(): Promise<void>;
}

/**
 * A bare socket that can send an Origin header, as a browser does (test/helpers/raw-socket.ts
 * sends none). The server's close is what the tests look at.
 */
async function connect(node: TestNode, path: string, origin?: string): Promise<TestSocket> {
  const ws = new WebSocket(`${node.wsUrl}${path}`, origin ? { origin } : {});
  const received: Uint8Array[] = [];
  let onMessage = () => {};
  ws.on('message', (data, isBinary) => {
    if (!isBinary) return;
    received.push(new Uint8Array(data as Buffer));
    onMessage();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  ws.on('error', () => undefined); // the close event carries what happened
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_request, response) => reject(new Error(`HTTP ${response.statusCode} instead of an upgrade`)));
  });
  return {
    ws,
    received,
    closed: () =>
      Promise.race([
        closed,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${path} still open after 10 s`)), 10_000)),
      ]),
    firstMessage: () =>
      received.length > 0
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            onMessage = resolve;
            void closed.then((how) => reject(new Error(`closed ${how.code} ${how.reason} before any message`)));
          }),
  };
}

/** Admitted on /ws/:id: the room answers our sync step 1. */
async function admittedYWebsocket(node: TestNode, documentId: string, origin?: string): Promise<TestSocket> {
  const socket = await connect(node, `/ws/${documentId}`, origin);
  socket.ws.send(body.syncStep1(Y.encodeStateVector(new Y.Doc())));
  await socket.firstMessage();
  return socket;
}

/** Admitted on /collab: the Auth message for `documentId` is answered "authenticated". */
async function admittedCollab(node: TestNode, documentId: string, origin?: string): Promise<TestSocket> {
  const socket = await connect(node, '/collab', origin);
  socket.ws.send(authMessage(documentId, 'anonymous'));
  await waitFor(() => socket.received.some(isAuthenticated(documentId)), `authentication of ${documentId}`);
  return socket;
}

function closeAll(sockets: TestSocket[]): void {
  for (const socket of sockets) socket.ws.terminate();
}

/**
 * The limited node shares its database and JWT secret with a setup node without limits, where
 * the users and keys are made: their tokens work on both, and making them costs the limited
 * node nothing.
 */
describe('REST rate limit (per node)', () => {
  let setup: TestNode;
  let node: TestNode;
  let api: ReturnType<typeof restClient>;
  let users: TestUser[];
  beforeAll(async () => {
    setup = await startAuthNode();
    node = await startAuthNode({ RATE_LIMIT_PER_MINUTE: '5' });
    api = restClient(node.url);
    users = await Promise.all(['a', 'b', 'c', 'd', 'e', 'f'].map((label) => signUp(setup, `limits-${label}`)));
  });
  afterAll(async () => {
    await node?.close();
    await setup?.close();
  });
  const tokenOf = (user: TestUser) => ({ authorization: `Bearer ${user.accessToken}` });

  it('past the limit answers 429 problem+json RATE_LIMITED with Retry-After', async () => {
    const credential = tokenOf(users[0]!);
    for (let i = 0; i < 5; i++) {
      const response = await api.get('/v1/me', credential);
      expect(response.status).toBe(200);
      expect(response.headers.get('x-ratelimit-limit')).toBe('5');
      expect(response.headers.get('x-ratelimit-remaining')).toBe(String(4 - i));
    }
    const limited = await api.get('/v1/me', credential);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(limited.body).toMatchObject({
      type: 'urn:tandem:error:rate-limited',
      status: 429,
      code: 'RATE_LIMITED',
      instance: '/v1/me',
      requestId: expect.any(String),
    });
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    // Still limited, and a refused request does not reach its route: no document is created.
    const id = uniqueDocId('never-created');
    expect((await api.call('POST', '/v1/documents', { json: { id }, headers: credential })).status).toBe(429);
    expect((await api.get(`/v1/documents/${id}`, tokenOf(users[1]!))).status).toBe(404);
  });

  it('gives every valid credential its own bucket', async () => {
    const [c, d] = [tokenOf(users[2]!), tokenOf(users[3]!)];
    for (let i = 0; i < 5; i++) expect((await api.get('/v1/me', c)).status).toBe(200);
    expect((await api.get('/v1/me', c)).status).toBe(429);
    expect((await api.get('/v1/me', d)).status).toBe(200);
    // The same token written differently is the same credential: no extra bucket.
    expect((await api.get('/v1/me', { authorization: c.authorization.replace('Bearer ', 'bearer   ') })).status).toBe(429);
  });

  it('does not limit or count /health, /ready and /metrics', async () => {
    const credential = tokenOf(users[4]!);
    for (const path of ['/health', '/ready', '/metrics']) {
      for (let i = 0; i < 8; i++) {
        const response = await api.get(path, credential);
        expect(response.status).toBe(200);
        expect(response.headers.get('x-ratelimit-limit')).toBeNull();
      }
    }
    expect((await api.get('/v1/me', credential)).headers.get('x-ratelimit-remaining')).toBe('4');
  });

  it('counts requests without a credential, and with a made-up or refused one, in one bucket per address (issue 16, finding 5)', async () => {
    // Each made-up token used to get a fresh bucket of its own: a flood never ran out.
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await api.get('/v1/documents/x', bearer(`made-up-${i}`))).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
    // The same bucket: anonymous requests, refused JWTs, and the public routes whatever they carry.
    expect((await api.get('/v1')).status).toBe(429);
    expect((await api.get('/v1/me', { authorization: `Bearer ${signTestToken({ sub: users[5]!.id, iss: 'elsewhere' })}` })).status).toBe(429);
    const login = await api.post('/v1/auth/login', { email: users[5]!.email, password: users[5]!.password }, bearer('made-up-login'));
    expect([login.status, login.body.code]).toEqual([429, 'RATE_LIMITED']);
    // A valid credential from the same address still has its own.
    expect((await api.get('/v1/me', tokenOf(users[5]!))).status).toBe(200);
  });

  it('bounds one address whatever valid credentials it holds: at most ten times the limit per minute', async () => {
    // Eleven API keys of one user, five requests each: 55 requests, over the address ceiling of 50.
    const owner = await signUp(setup, 'many-keys');
    const keys: string[] = [];
    for (let i = 0; i < 11; i++) keys.push((await owner.rest.post('/v1/api-keys', { scopes: ['read'] })).body.key);
    const statuses: number[] = [];
    for (const key of keys) for (let i = 0; i < 5; i++) statuses.push((await api.get('/v1/documents', { authorization: `Bearer ${key}` })).status);
    // Some of the ceiling is already spent by the tests above, so the flood is cut off before it ends.
    const firstRefusal = statuses.indexOf(429);
    expect(firstRefusal).toBeGreaterThan(0);
    expect(firstRefusal).toBeLessThanOrEqual(50);
    expect(statuses.slice(firstRefusal).every((status) => status === 429)).toBe(true);
  });

  it('grants no CORS without ALLOWED_ORIGINS', async () => {
    const response = await api.get('/health', { origin: ALLOWED_ORIGIN });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('behind a proxy (TRUST_PROXY)', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode('postgres', { env: { AUTH: 'off', RATE_LIMIT_PER_MINUTE: '2', TRUST_PROXY: '1' } });
  });
  afterAll(async () => {
    await node?.close();
  });

  it('counts each client address from X-Forwarded-For, not the proxy\'s', async () => {
    const api = restClient(node.url);
    const from = (address: string) => ({ 'x-forwarded-for': address });
    for (let i = 0; i < 2; i++) expect((await api.get('/v1', from('203.0.113.7'))).status).toBe(200);
    expect((await api.get('/v1', from('203.0.113.7'))).status).toBe(429);
    expect((await api.get('/v1', from('198.51.100.9'))).status).toBe(200);
  });
});

describe('REST rate limit shared through Redis', () => {
  let setup: TestNode;
  let nodes: TestNode[] = [];
  let redis: Redis;
  beforeAll(async () => {
    // Users are made on a node of their own, without Redis: the nodes under test share their
    // address buckets in Redis with whatever else runs against it.
    setup = await startAuthNode();
    const env = { RATE_LIMIT_PER_MINUTE: '4', REDIS_URL: TEST_REDIS_URL };
    nodes = await Promise.all([startAuthNode(env), startAuthNode(env)]);
    redis = new Redis(TEST_REDIS_URL);
  });
  afterAll(async () => {
    await Promise.all(nodes.map((node) => node.close()));
    await setup?.close();
    await redis?.quit();
  });

  it('counts one credential across nodes, and stores only a hash of it', async () => {
    const { accessToken: token } = await signUp(setup, 'shared-token');
    const headers = { authorization: `Bearer ${token}` };
    const [first, second] = nodes.map((node) => restClient(node.url));
    for (let i = 0; i < 4; i++) expect((await (i % 2 === 0 ? first! : second!).get('/v1/me', headers)).status).toBe(200);
    expect((await first!.get('/v1/me', headers)).status).toBe(429);
    expect((await second!.get('/v1/me', headers)).status).toBe(429);

    const keys = await redis.keys('tandem:rate-limit:*');
    const hash = createHash('sha256').update(token).digest('base64url');
    expect(keys).toContain(`tandem:rate-limit:credential:${hash}`);
    expect(keys.filter((key) => key.includes(token))).toEqual([]);
    expect(Number(await redis.get(`tandem:rate-limit:credential:${hash}`))).toBe(6);
  });

  it('reports Redis in /ready', async () => {
    const ready = await restClient(nodes[0]!.url).get('/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toMatchObject({ redis: 'ok' });
  });
});

describe('with Redis configured but not answering', () => {
  let node: TestNode;
  beforeAll(async () => {
    // Port 1: nothing listens there.
    node = await startTestNode('postgres', { env: { AUTH: 'off', RATE_LIMIT_PER_MINUTE: '2', REDIS_URL: 'redis://127.0.0.1:1' } });
  });
  afterAll(async () => {
    await node?.close();
  });

  it('lets requests and sockets through (the limiter fails open) and is not ready', async () => {
    const api = restClient(node.url);
    const credential = bearer('redis-down');
    for (let i = 0; i < 4; i++) expect((await api.get('/v1', credential)).status).toBe(200);
    const socket = await admittedYWebsocket(node, uniqueDocId('redis-down'));
    closeAll([socket]);
    const ready = await api.get('/ready');
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ code: 'NOT_READY', details: { redis: 'down', database: 'ok' } });
  });
});

describe('CORS, security headers and socket Origin with ALLOWED_ORIGINS', () => {
  let node: TestNode;
  let api: ReturnType<typeof restClient>;
  beforeAll(async () => {
    node = await startTestNode('postgres', {
      env: { AUTH: 'off', ALLOWED_ORIGINS: `${ALLOWED_ORIGIN}, https://other.example` },
    });
    api = restClient(node.url);
  });
  afterAll(async () => {
    await node?.close();
  });

  it('grants CORS with credentials to an allowed origin and exposes ETag, Location and the rate-limit headers', async () => {
    const response = await api.get('/v1', { origin: ALLOWED_ORIGIN });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
    expect(response.headers.get('access-control-allow-credentials')).toBe('true');
    expect(response.headers.get('vary')).toMatch(/origin/i);
    const exposed = (response.headers.get('access-control-expose-headers') ?? '').toLowerCase().split(/\s*,\s*/);
    expect(exposed).toEqual(
      expect.arrayContaining(['etag', 'location', 'retry-after', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset']),
    );
  });

  it('grants nothing to a foreign origin', async () => {
    const response = await api.get('/v1', { origin: FOREIGN_ORIGIN });
    // (@fastify/cors sends Allow-Credentials to every origin; without Allow-Origin it grants nothing.)
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers preflights for the allowed origins and methods only', async () => {
    const preflight = (origin: string) =>
      api.call('OPTIONS', '/v1/documents/some-doc', {
        headers: {
          origin,
          'access-control-request-method': 'PATCH',
          'access-control-request-headers': 'authorization, content-type, if-match',
        },
      });
    const allowed = await preflight(ALLOWED_ORIGIN);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
    expect(allowed.headers.get('access-control-allow-methods')).toBe('GET, PUT, PATCH, POST, DELETE');
    expect(allowed.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    expect((await preflight(FOREIGN_ORIGIN)).headers.get('access-control-allow-origin')).toBeNull();
  });

  it('sends security headers fit for a JSON API, on answers and on errors', async () => {
    for (const response of [await api.get('/v1'), await api.get('/no-such-route')]) {
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
      expect(response.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
      expect(response.headers.get('content-security-policy')).toBe(
        "default-src 'none';base-uri 'none';form-action 'none';frame-ancestors 'none'",
      );
      expect(response.headers.get('x-powered-by')).toBeNull();
    }
  });

  it('serves Swagger UI at /docs under a policy that lets it load its own scripts and styles', async () => {
    const page = await fetch(`${node.url}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/script-src 'self'/);
    expect(csp).toMatch(/style-src 'self'/);
    expect(csp).not.toMatch(/upgrade-insecure-requests/);
    const html = await page.text();
    // Every script is a file from this origin (the policy allows no inline script).
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => new URL(match[1]!, page.url));
    expect(assets.filter((asset) => asset.pathname.endsWith('.js'))).toHaveLength(3);
    for (const asset of assets) {
      expect(asset.origin).toBe(new URL(node.url).origin);
      const response = await fetch(asset);
      expect(response.status, asset.pathname).toBe(200);
      if (asset.pathname.endsWith('.js')) expect(response.headers.get('content-type')).toMatch(/javascript/);
      await response.arrayBuffer();
    }
    const spec = await api.get('/docs/json');
    expect(spec.status).toBe(200);
    expect(spec.body.openapi).toMatch(/^3\./);
  });

  it('refuses a foreign Origin on /ws/:id and /collab with 4403 FORBIDDEN', async () => {
    const ws = await connect(node, `/ws/${uniqueDocId('foreign')}`, FOREIGN_ORIGIN);
    expect(await ws.closed()).toEqual(FORBIDDEN);
    expect(ws.received).toEqual([]);
    const collab = await connect(node, '/collab', FOREIGN_ORIGIN);
    collab.ws.send(authMessage(uniqueDocId('foreign'), 'anonymous'));
    expect(await collab.closed()).toEqual(FORBIDDEN);
    expect(collab.received).toEqual([]);
    // The literal "null" origin of sandboxed frames and file: pages is foreign too.
    expect(await (await connect(node, `/ws/${uniqueDocId('null-origin')}`, 'null')).closed()).toEqual(FORBIDDEN);
  });

  it('admits allowed origins and clients that send no Origin (not browsers)', async () => {
    const sockets = [
      await admittedYWebsocket(node, uniqueDocId('allowed'), ALLOWED_ORIGIN),
      await admittedYWebsocket(node, uniqueDocId('allowed'), 'https://other.example'),
      await admittedCollab(node, uniqueDocId('allowed'), ALLOWED_ORIGIN),
      await admittedYWebsocket(node, uniqueDocId('no-origin')),
      await admittedCollab(node, uniqueDocId('no-origin')),
    ];
    expect(sockets.every((socket) => socket.ws.readyState === WebSocket.OPEN)).toBe(true);
    closeAll(sockets);
  });
});

describe('socket connection rate per address', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode('postgres', { env: { AUTH: 'off', SOCKET_CONNECTIONS_PER_MINUTE: '4' } });
  });
  afterAll(async () => {
    await node?.close();
  });

  it('closes new sockets past the limit with 1013 RATE_LIMITED, on both routes, and leaves the admitted ones open', async () => {
    const doc = uniqueDocId('flood');
    const admitted = [
      await admittedYWebsocket(node, doc),
      await admittedCollab(node, doc),
      await admittedYWebsocket(node, doc),
      await admittedCollab(node, doc),
    ];
    const refused = [await connect(node, `/ws/${doc}`), await connect(node, '/collab')];
    for (const socket of refused) {
      expect(await socket.closed()).toEqual(RATE_LIMITED);
      expect(socket.received).toEqual([]);
    }
    expect(admitted.every((socket) => socket.ws.readyState === WebSocket.OPEN)).toBe(true);
    // REST has its own budget.
    expect((await restClient(node.url).get('/v1')).status).toBe(200);
    closeAll(admitted);
  });
});

describe('socket message rate', () => {
  let node: TestNode;
  const providers: { destroy(): void }[] = [];
  beforeAll(async () => {
    // 10 per second, bursts of 20: a stock client's handshake and a few edits stay well below.
    node = await startTestNode('postgres', {
      env: { AUTH: 'off', SOCKET_MESSAGES_PER_SECOND: '10', COLLAB_SOCKET_MESSAGES_PER_SECOND: '10' },
    });
  });
  afterAll(async () => {
    for (const provider of providers) provider.destroy();
    await node?.close();
  });

  it('reads a socket sending too fast more slowly: nothing closed, nothing dropped, others keep editing meanwhile', async () => {
    const id = uniqueDocId('chatty');
    const writer = yWebsocketClient(node.wsUrl, id);
    const reader = hocuspocusClient(node.wsUrl, id);
    providers.push(writer.provider, reader.provider);
    await Promise.all([whenSynced(writer.provider), whenSynced(reader.provider)]);
    const count = (letter: string) => (reader.text.toString().match(new RegExp(letter, 'g')) ?? []).length;

    // 100 updates at once on each route: 20 pass, the other 80 take 8 s at 10 per second.
    const flooder = await admittedYWebsocket(node, id);
    for (const update of letterUpdates('F', 100)) flooder.ws.send(body.update(update));
    const collabFlooder = await admittedCollab(node, id);
    for (const update of letterUpdates('C', 100)) collabFlooder.ws.send(addressed(id, body.update(update)));

    // The others are not held up behind them.
    for (const word of ['still ', 'editing ', 'here']) writer.text.insert(writer.text.length, word);
    await waitFor(() => reader.text.toString().includes('still editing here'), "the writer's edits at the reader");
    expect(count('F') + count('C')).toBeLessThan(200);

    await waitFor(() => count('F') === 100 && count('C') === 100, 'every flooded update at the reader', 30_000);
    expect(flooder.ws.readyState).toBe(WebSocket.OPEN);
    expect(collabFlooder.ws.readyState).toBe(WebSocket.OPEN);
    expect(writer.provider.wsconnected).toBe(true);
    expect(reader.provider.configuration.websocketProvider.status).toBe('connected');
    closeAll([flooder, collabFlooder]);
  });
});

describe('socket abuse ceiling', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode('postgres', {
      env: { AUTH: 'off', SOCKET_MESSAGES_PER_SECOND: '10', SOCKET_MAX_QUEUED_MESSAGES: '50' },
    });
  });
  afterAll(async () => {
    await node?.close();
  });

  it('closes with 1013 RATE_LIMITED a socket whose messages pile up past the ceiling though it is no longer read', async () => {
    // 200 frames in one TCP chunk: the server stops reading after the first 20, but the rest
    // of the chunk is parsed all the same, and 180 waiting messages exceed the ceiling of 50.
    const id = uniqueDocId('ceiling');
    const ws = await admittedYWebsocket(node, id);
    sendInOneWrite(ws.ws, Array.from({ length: 200 }, () => body.queryAwareness()));
    expect(await ws.closed()).toEqual(RATE_LIMITED);

    const collab = await admittedCollab(node, id);
    sendInOneWrite(collab.ws, Array.from({ length: 200 }, () => addressed(id, body.queryAwareness())));
    expect(await collab.closed()).toEqual(RATE_LIMITED);

    // Below the ceiling, the same socket is only slowed down.
    const patient = await admittedYWebsocket(node, id);
    sendInOneWrite(patient.ws, Array.from({ length: 60 }, () => body.queryAwareness()));
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(patient.ws.readyState).toBe(WebSocket.OPEN);
    closeAll([patient]);
  });
});

