import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp, startAuthNode, type TestUser } from '../helpers/auth.ts';
import type { TestNode } from '../helpers/node.ts';

/**
 * MCP sessions live in a node's memory (hundreds of KB each) for up to 30 idle minutes, and an
 * ordinary account can make API keys: the audit held 78 MB with 300 sessions over 10 keys.
 * Sessions are counted per user (all of their keys and tokens together) and per node, and
 * keys per user.
 */

const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'flood', version: '1' } },
};
const ping = { jsonrpc: '2.0', id: 2, method: 'ping' };
const mcpHeaders = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

async function post(node: TestNode, token: string, message: unknown, sessionId?: string): Promise<Response> {
  const response = await fetch(`${node.url}/mcp`, {
    method: 'POST',
    headers: {
      ...mcpHeaders,
      authorization: `Bearer ${token}`,
      ...(sessionId ? { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' } : {}),
    },
    body: JSON.stringify(message),
  });
  return response;
}

/** Opens a session with `token`; its id. */
async function openSession(node: TestNode, token: string): Promise<string> {
  const response = await post(node, token, initialize);
  expect(response.status).toBe(200);
  await response.text();
  return response.headers.get('mcp-session-id')!;
}

/** Whether the session still answers (200) or is gone (404 MCP_SESSION_NOT_FOUND). */
async function alive(node: TestNode, token: string, sessionId: string): Promise<boolean> {
  const response = await post(node, token, ping, sessionId);
  const text = await response.text();
  if (response.status === 404) {
    expect(JSON.parse(text)).toMatchObject({ code: 'MCP_SESSION_NOT_FOUND' });
    return false;
  }
  expect(response.status).toBe(200);
  return true;
}

async function newKey(user: TestUser, name: string) {
  return user.rest.post('/v1/api-keys', { name, scopes: ['read'] });
}

describe('MCP sessions per user and per node', () => {
  let node: TestNode;
  let mallory: TestUser;
  let alice: TestUser;

  beforeAll(async () => {
    node = await startAuthNode({ MCP_MAX_SESSIONS_PER_USER: '4', MCP_MAX_SESSIONS_PER_NODE: '6' });
    mallory = await signUp(node, 'mcp-flood');
    alice = await signUp(node, 'mcp-bystander');
  });
  afterAll(async () => {
    await node?.close();
  });

  it('a user spreading sessions over several API keys holds at most MCP_MAX_SESSIONS_PER_USER: opening more closes their least recently used', async () => {
    const keys: string[] = [];
    for (let i = 0; i < 3; i++) keys.push((await newKey(mallory, `flood ${i}`)).body.key);
    const sessions: { token: string; id: string }[] = [];
    for (let i = 0; i < 9; i++) {
      const token = keys[i % keys.length]!;
      sessions.push({ token, id: await openSession(node, token) });
    }
    const answers: boolean[] = [];
    for (const session of sessions) answers.push(await alive(node, session.token, session.id));
    expect(answers).toEqual([false, false, false, false, false, true, true, true, true]);
    for (const session of sessions.slice(5)) await fetch(`${node.url}/mcp`, { method: 'DELETE', headers: { authorization: `Bearer ${session.token}`, 'mcp-session-id': session.id } });
  });

  it('sessions opened with document links count per client address: a session per link does not get past MCP_MAX_SESSIONS_PER_USER', async () => {
    const links: string[] = [];
    for (let i = 0; i < 6; i++) links.push((await mallory.rest.post('/v1/documents', { title: `link ${i}` })).body.writeKey);
    const sessions: { token: string; id: string }[] = [];
    for (const token of links) sessions.push({ token, id: await openSession(node, token) });
    const answers: boolean[] = [];
    for (const session of sessions) answers.push(await alive(node, session.token, session.id));
    expect(answers).toEqual([false, false, true, true, true, true]);
    for (const session of sessions.slice(2)) await fetch(`${node.url}/mcp`, { method: 'DELETE', headers: { authorization: `Bearer ${session.token}`, 'mcp-session-id': session.id } });
  });

  it('a full node refuses new sessions with 503 problem+json and Retry-After, and keeps everyone\'s open ones', async () => {
    const malloryKey = (await newKey(mallory, 'full node')).body.key;
    const held: string[] = [];
    for (let i = 0; i < 4; i++) held.push(await openSession(node, malloryKey));
    const alices = [await openSession(node, alice.accessToken), await openSession(node, alice.accessToken)];

    const refused = await post(node, alice.accessToken, initialize);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await refused.json()).toMatchObject({ status: 503, code: 'MCP_SESSIONS_FULL' });
    for (const id of alices) expect(await alive(node, alice.accessToken, id)).toBe(true);

    // A user at their own limit still gets a new session (their oldest gives way): the node holds no more.
    await openSession(node, malloryKey);
    expect(await alive(node, malloryKey, held[0]!)).toBe(false);

    // Once a session ends, there is room again.
    await fetch(`${node.url}/mcp`, { method: 'DELETE', headers: { authorization: `Bearer ${alice.accessToken}`, 'mcp-session-id': alices[0]! } });
    await openSession(node, alice.accessToken);
  });
});

describe('API keys per user', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startAuthNode({ MAX_API_KEYS_PER_USER: '3' });
  });
  afterAll(async () => {
    await node?.close();
  });

  it('refuses a key past MAX_API_KEYS_PER_USER with 409 problem+json API_KEY_LIMIT; revoking one makes room', async () => {
    const user = await signUp(node, 'many-keys');
    const made = [];
    for (let i = 0; i < 3; i++) {
      const created = await newKey(user, `key ${i}`);
      expect(created.status).toBe(201);
      made.push(created.body);
    }
    const refused = await newKey(user, 'one too many');
    expect(refused.status).toBe(409);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(refused.body).toMatchObject({ status: 409, code: 'API_KEY_LIMIT' });
    expect(refused.body.detail).toMatch(/3 active API keys/);
    expect((await user.rest.get('/v1/api-keys')).body.apiKeys).toHaveLength(3);

    // Another user is not affected.
    expect((await newKey(await signUp(node, 'other-keys'), 'mine')).status).toBe(201);

    expect((await user.rest.delete(`/v1/api-keys/${made[0].id}`)).status).toBe(204);
    expect((await newKey(user, 'after revoking')).status).toBe(201);
  });

  it('concurrent requests cannot go past the limit', async () => {
    const user = await signUp(node, 'racing-keys');
    const statuses = await Promise.all(Array.from({ length: 8 }, (_, i) => newKey(user, `race ${i}`).then((answer) => answer.status)));
    expect(statuses.filter((status) => status === 201)).toHaveLength(3);
    expect(statuses.filter((status) => status === 409)).toHaveLength(5);
    expect((await user.rest.get('/v1/api-keys')).body.apiKeys).toHaveLength(3);
  });
});
