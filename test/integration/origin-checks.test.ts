import { request as httpRequest } from 'node:http';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp, startAuthNode } from '../helpers/auth.ts';
import { startTestNode, type TestNode, uniqueDocId } from '../helpers/node.ts';
import { authMessage, body, isAuthenticated } from '../helpers/raw-socket.ts';

/**
 * A page on any site can make a browser call a node: cross-site requests with that site's
 * Origin, and DNS rebinding (the attacker's name resolves to 127.0.0.1, so the requests are
 * "same-origin" for the browser and carry the attacker's name in Host). /mcp must check the
 * Origin (the MCP specification asks it of Streamable HTTP servers); with AUTH=off, where no
 * credential stands in the way, every request and socket is checked, Host included.
 */

const EVIL = 'http://evil.example';
const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'page', version: '1' } },
};
const mcpHeaders = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

interface Answer {
  status: number;
  type: string;
  body: any;
}

/** An HTTP request with headers fetch will not send as given (Host). */
function send(node: TestNode, method: string, path: string, headers: Record<string, string>, payload?: unknown): Promise<Answer> {
  const url = new URL(node.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        const type = String(res.headers['content-type'] ?? '');
        let parsed: unknown = text;
        if (type.includes('json')) parsed = JSON.parse(text);
        resolve({ status: res.statusCode ?? 0, type, body: parsed });
      });
      // An SSE answer (an MCP initialize may answer so) ends with the response.
    });
    req.on('error', reject);
    req.end(payload === undefined ? undefined : JSON.stringify(payload));
  });
}

const ownOrigin = (node: TestNode) => new URL(node.url).origin;
/** What a browser sends after DNS rebinding: the attacker's name, the node's port. */
const reboundHost = (node: TestNode) => `evil.example:${new URL(node.url).port}`;

function expectRefused(answer: Answer): void {
  expect(answer.status).toBe(403);
  expect(answer.type).toMatch(/^application\/problem\+json/);
  expect(answer.body).toMatchObject({ status: 403, code: 'FORBIDDEN' });
}

/** How a socket with these headers ends: admitted (the room answered) or closed with a code. */
async function socketOutcome(node: TestNode, dialect: 'y-websocket' | 'hocuspocus', headers: { origin?: string; host?: string }) {
  const documentId = uniqueDocId(`origin-${dialect}`);
  const path = dialect === 'y-websocket' ? `/ws/${documentId}` : '/collab';
  const ws = new WebSocket(`${node.wsUrl}${path}`, {
    ...(headers.origin ? { origin: headers.origin } : {}),
    ...(headers.host ? { headers: { host: headers.host } } : {}),
  });
  ws.on('error', () => undefined);
  return new Promise<'admitted' | { code: number; reason: string }>((resolve) => {
    ws.on('open', () => {
      if (dialect === 'y-websocket') ws.send(body.syncStep1(Y.encodeStateVector(new Y.Doc())));
      else ws.send(authMessage(documentId, ''));
    });
    ws.on('message', (data, isBinary) => {
      const message = new Uint8Array(data as Buffer);
      if (isBinary && (dialect === 'y-websocket' || isAuthenticated(documentId)(message))) {
        resolve('admitted');
        ws.terminate();
      }
    });
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
}

describe('Origin and Host with AUTH=off (local experiments)', () => {
  let node: TestNode;
  let documentId: string;
  beforeAll(async () => {
    node = await startTestNode('postgres');
    documentId = uniqueDocId('origin-rest');
    expect((await send(node, 'POST', '/v1/documents', { 'content-type': 'application/json' }, { id: documentId, content: 'secret' })).status).toBe(201);
  });
  afterAll(async () => {
    await node?.close();
  });

  it('REST: a page on another site is refused 403, reading and writing; the node\'s own pages and non-browser clients are not', async () => {
    expectRefused(await send(node, 'GET', `/v1/documents/${documentId}`, { origin: EVIL }));
    expectRefused(await send(node, 'PUT', `/v1/documents/${documentId}`, { origin: EVIL, 'content-type': 'application/json' }, { content: 'owned' }));
    expect((await send(node, 'GET', `/v1/documents/${documentId}`, {})).body.content).toBe('secret');
    expect((await send(node, 'GET', `/v1/documents/${documentId}`, { origin: ownOrigin(node) })).status).toBe(200);
    expect((await send(node, 'GET', `/v1/documents/${documentId}`, { origin: `http://localhost:${new URL(node.url).port}`, host: `localhost:${new URL(node.url).port}` })).status).toBe(200);
  });

  it('REST: DNS rebinding (a foreign name in Host) is refused 403, with or without an Origin', async () => {
    expectRefused(await send(node, 'GET', `/v1/documents/${documentId}`, { host: reboundHost(node) }));
    expectRefused(await send(node, 'GET', `/v1/documents/${documentId}`, { host: reboundHost(node), origin: `http://${reboundHost(node)}` }));
  });

  for (const dialect of ['y-websocket', 'hocuspocus'] as const) {
    it(`${dialect} sockets: a foreign Origin or Host is closed 4403 FORBIDDEN; the own origin and no Origin are admitted`, async () => {
      expect(await socketOutcome(node, dialect, { origin: EVIL })).toEqual({ code: 4403, reason: 'FORBIDDEN' });
      expect(await socketOutcome(node, dialect, { host: reboundHost(node), origin: `http://${reboundHost(node)}` })).toEqual({ code: 4403, reason: 'FORBIDDEN' });
      expect(await socketOutcome(node, dialect, { origin: ownOrigin(node) })).toBe('admitted');
      expect(await socketOutcome(node, dialect, {})).toBe('admitted');
    });
  }

  it('/mcp: a foreign Origin or Host is refused 403 problem+json before any session; a client without Origin gets one', async () => {
    expectRefused(await send(node, 'POST', '/mcp', { ...mcpHeaders, origin: EVIL }, initialize));
    expectRefused(await send(node, 'POST', '/mcp', { ...mcpHeaders, host: reboundHost(node) }, initialize));
    expect((await send(node, 'POST', '/mcp', mcpHeaders, initialize)).status).toBe(200);
    expect((await send(node, 'POST', '/mcp', { ...mcpHeaders, origin: ownOrigin(node) }, initialize)).status).toBe(200);
  });

  it('/mcp: a session answers only on the Host it was opened on (the MCP SDK\'s own check)', async () => {
    const port = new URL(node.url).port;
    const opened = await new Promise<string>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/mcp', headers: mcpHeaders }, (res) => {
        res.resume();
        resolve(String(res.headers['mcp-session-id']));
      });
      req.on('error', reject);
      req.end(JSON.stringify(initialize));
    });
    const inSession = { ...mcpHeaders, 'mcp-session-id': opened, 'mcp-protocol-version': '2025-06-18' };
    const ping = { jsonrpc: '2.0', id: 2, method: 'ping' };
    expect((await send(node, 'POST', '/mcp', inSession, ping)).status).toBe(200);
    const elsewhere = await send(node, 'POST', '/mcp', { ...inSession, host: `localhost:${port}` }, ping);
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.body).toMatchObject({ error: { message: expect.stringMatching(/Invalid Host/) } });
  });
});

describe('ALLOWED_HOSTS and ALLOWED_ORIGINS with AUTH=off', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode('postgres', { env: { ALLOWED_HOSTS: 'tandem.test', ALLOWED_ORIGINS: 'https://app.example' } });
  });
  afterAll(async () => {
    await node?.close();
  });

  it('admits a listed host name (any port) and a listed origin', async () => {
    const port = new URL(node.url).port;
    expect((await send(node, 'GET', '/v1', { host: `tandem.test:${port}`, origin: `http://tandem.test:${port}` })).status).toBe(200);
    expect((await send(node, 'GET', '/v1', { origin: 'https://app.example' })).status).toBe(200);
    expect(await socketOutcome(node, 'hocuspocus', { host: `tandem.test:${port}` })).toBe('admitted');
    expectRefused(await send(node, 'GET', '/v1', { host: `other.test:${port}` }));
  });
});

describe('/mcp Origin with AUTH=on', () => {
  let node: TestNode;
  let apiKey: string;
  beforeAll(async () => {
    node = await startAuthNode({ ALLOWED_ORIGINS: 'https://agents.example' });
    const owner = await signUp(node, 'mcp-origin');
    apiKey = (await owner.rest.post('/v1/api-keys', { name: 'agent', scopes: ['read'] })).body.key;
  });
  afterAll(async () => {
    await node?.close();
  });

  it('refuses a foreign Origin even with a valid credential; admits a listed origin, the own origin and no Origin', async () => {
    const auth = { ...mcpHeaders, authorization: `Bearer ${apiKey}` };
    expectRefused(await send(node, 'POST', '/mcp', { ...auth, origin: EVIL }, initialize));
    expect((await send(node, 'POST', '/mcp', { ...auth, origin: 'https://agents.example' }, initialize)).status).toBe(200);
    expect((await send(node, 'POST', '/mcp', { ...auth, origin: ownOrigin(node) }, initialize)).status).toBe(200);
    expect((await send(node, 'POST', '/mcp', auth, initialize)).status).toBe(200);
  });

  it('checks Host on /mcp when the node listens on loopback: a rebound name is refused', async () => {
    expectRefused(await send(node, 'POST', '/mcp', { ...mcpHeaders, authorization: `Bearer ${apiKey}`, host: reboundHost(node) }, initialize));
  });
});
