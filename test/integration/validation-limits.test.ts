import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restAs, signUp, startAuthNode, type TestUser } from '../helpers/auth.ts';
import { mcpClient } from '../helpers/mcp.ts';
import { type TestNode, uniqueDocId } from '../helpers/node.ts';
import { type RestResponse, restClient } from '../helpers/rest.ts';

/**
 * Issue 16, finding 7: a 400 listed every problem the validator found, and the validator
 * looked for all of them, so a small request bought a large answer: 20,000 empty edits made a
 * 22 MB 400 of 180,000 problems; an unauthenticated register with 5,000 unknown properties
 * turned 49 KB into 510 KB. INTERFACE.md: a 400 lists at most 50 problems.
 */
describe('validation answers stay small', () => {
  let node: TestNode;
  let owner: TestUser;

  beforeAll(async () => {
    node = await startAuthNode();
    owner = await signUp(node, 'validation-owner');
  });
  afterAll(async () => {
    await node?.close();
  });

  const size = (response: RestResponse) => JSON.stringify(response.body).length;

  function expectShortValidationProblem(response: RestResponse, found: number) {
    expect(response.status, JSON.stringify(response.body).slice(0, 300)).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.body.code).toBe('VALIDATION_FAILED');
    expect(response.body.details).toHaveLength(50);
    for (const problem of response.body.details) expect(problem).toEqual({ path: expect.any(String), message: expect.any(String) });
    // The detail says how many there were in all, and lists only the first ones.
    expect(response.body.detail).toContain(`${found} problems`);
    expect(response.body.detail.length).toBeLessThan(5000);
  }

  it('a PATCH of 1,000 empty edits from a write link gets 50 of its problems, not 9,000', async () => {
    const id = uniqueDocId('validation');
    const created = await owner.rest.post('/v1/documents', { id, content: 'text' });
    const link = restAs(node, created.body.writeKey);
    const request = { edits: Array.from({ length: 1000 }, () => ({})) };
    const response = await link.patch(`/v1/documents/${id}`, request);
    expectShortValidationProblem(response, 1000 * 9);
    // However many problems, the answer is a few kilobytes (it listed all 9,000, twice: in details and in detail).
    expect(size(response)).toBeLessThan(16_000);
    expect((await link.get(`/v1/documents/${id}`)).body).toMatchObject({ content: 'text', version: 1 });
  });

  it('a PATCH of 20,000 empty edits is a short 413 TOO_MANY_EDITS, answered before any of them is validated', async () => {
    const id = uniqueDocId('validation-many');
    const created = await owner.rest.post('/v1/documents', { id, content: 'text' });
    const response = await restAs(node, created.body.writeKey).patch(`/v1/documents/${id}`, { edits: Array.from({ length: 20_000 }, () => ({})) });
    expect(response.status).toBe(413);
    expect(response.body).toMatchObject({ code: 'TOO_MANY_EDITS', details: { edits: 20_000, maxEdits: 1000 } });
    expect(size(response)).toBeLessThan(1000);
  });

  it('an unauthenticated register with 5,000 unknown properties gets 50 problems, an answer far smaller than the request', async () => {
    const request: Record<string, unknown> = { email: 'not-an-address', password: 'x' };
    for (let i = 0; i < 5000; i++) request[`extra${i}`] = i;
    const response = await restClient(node.url).post('/v1/auth/register', request);
    expectShortValidationProblem(response, 5002);
    expect(size(response)).toBeLessThan(JSON.stringify(request).length / 4);
  });

  it('MCP: a patch_document with 9,000 empty edits gets a short error (it was 269 KB)', async () => {
    const key = await owner.rest.post('/v1/api-keys', { name: 'agent', scopes: ['read', 'write'] });
    const agent = await mcpClient(node, key.body.key);
    try {
      const id = uniqueDocId('validation-mcp');
      await owner.rest.post('/v1/documents', { id, content: 'text' });
      const result = await agent.callTool({ name: 'patch_document', arguments: { document_id: id, edits: Array.from({ length: 9_000 }, () => ({})) } });
      expect(result.isError).toBe(true);
      expect(JSON.stringify(result.content)).toMatch(/1000/);
      expect(JSON.stringify(result).length).toBeLessThan(2_000);
    } finally {
      await agent.close();
    }
  });

  it('a request with a few problems still hears of every one', async () => {
    const response = await restClient(node.url).post('/v1/auth/register', { email: 'not-an-address', password: 'x', extra: true });
    expect(response.status).toBe(400);
    expect(response.body.details.map((problem: { path: string }) => problem.path).sort()).toEqual(['', '/email', '/password']);
    expect(response.body.detail).not.toMatch(/problems/);
  });
});
