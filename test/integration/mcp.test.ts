import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type CallToolResult, ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restAs, signUp, startAuthNode, type TestUser } from '../helpers/auth.ts';
import { waitFor, whenSynced, yWebsocketClient } from '../helpers/clients.ts';
import { type TestNode, uniqueDocId } from '../helpers/node.ts';

/** The SDK's own client over Streamable HTTP, with `token` as its Bearer credential. */
async function mcpClient(node: TestNode, token: string): Promise<Client> {
  const client = new Client({ name: 'tandem-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${node.url}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  return client;
}

async function call(client: Client, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}

/** A successful tool call's structured answer. */
async function ok<T = any>(client: Client, name: string, args: Record<string, unknown>): Promise<T> {
  const result = await call(client, name, args);
  if (result.isError) throw new Error(`${name} failed: ${JSON.stringify(result.content)}`);
  return result.structuredContent as T;
}

const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};
const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

const textOf = (result: CallToolResult) => (result.content[0] as { type: 'text'; text: string }).text;

describe('MCP endpoint (/mcp)', () => {
  let node: TestNode;
  let owner: TestUser;
  let apiKey: string;
  let agent: Client;
  const opened: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    node = await startAuthNode();
    owner = await signUp(node, 'mcp-owner');
    const created = await owner.rest.post('/v1/api-keys', { name: 'mcp agent', scopes: ['read', 'write'] });
    expect(created.status).toBe(201);
    apiKey = created.body.key;
    agent = await mcpClient(node, apiKey);
    opened.push(agent);
  });
  afterAll(async () => {
    for (const client of opened) await client.close().catch(() => undefined);
    await node?.close();
  });

  it('lists the tools, with input schemas', async () => {
    const { tools } = await agent.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual([
      'add_comment',
      'append_to_section',
      'create_document',
      'list_documents',
      'list_versions',
      'patch_document',
      'read_document',
      'read_version',
      'search_documents',
      'suggest_edit',
    ]);
    const patch = tools.find((tool) => tool.name === 'patch_document')!;
    expect(patch.description).toContain('base_version');
    expect(Object.keys(patch.inputSchema.properties ?? {})).toEqual(expect.arrayContaining(['document_id', 'base_version', 'edits', 'diff']));
    expect(patch.inputSchema.required).toEqual(['document_id']);
  });

  it('creates, reads and patches a document with a base version while a y-websocket client types; both edits survive', async () => {
    const id = uniqueDocId('mcp-merge');
    const created = await ok(agent, 'create_document', { id, title: 'Plan', content: '# Plan\n\n## Tasks\n\n- write\n' });
    expect(created).toMatchObject({ id, title: 'Plan', version: 1, uri: `tandem://documents/${id}` });
    expect(created.writeKey).toMatch(/^tdk_/);

    const read = await ok(agent, 'read_document', { document_id: id });
    expect(read).toMatchObject({ id, version: 1, content: '# Plan\n\n## Tasks\n\n- write\n' });
    const base = read.version as number;

    // A person types at the end of the document, before and during the agent's patch.
    const browser = yWebsocketClient(node.wsUrl, id, { token: apiKey });
    opened.push({ close: async () => browser.provider.destroy() });
    await whenSynced(browser.provider);
    const typed = 'typed in the browser';
    browser.text.insert(browser.text.length, '\nnotes: ');
    await waitFor(async () => (await ok(agent, 'read_document', { document_id: id })).version > base, 'the typing to be committed');
    let typing = 0;
    const typist = setInterval(() => {
      if (typing < typed.length) browser.text.insert(browser.text.length, typed[typing++]!);
    }, 5);
    const patched = await ok(agent, 'patch_document', {
      document_id: id,
      base_version: base,
      edits: [{ find: '- write', replace: '- write the intro' }, { heading: '## Tasks', append: '- review' }],
    });
    await waitFor(() => typing === typed.length, 'the typing to finish');
    clearInterval(typist);
    expect(patched).toMatchObject({ id, changed: true });
    expect(patched.version).toBeGreaterThan(base);

    const expected = `# Plan\n\n## Tasks\n\n- write the intro\n- review\n\nnotes: ${typed}`;
    await waitFor(() => browser.text.toString() === expected, "the agent's patch in the browser");
    await waitFor(async () => (await ok(agent, 'read_document', { document_id: id })).content === expected, 'both edits on the server');
    const versions = await ok(agent, 'list_versions', { document_id: id });
    // The browser types with the API key; the session writes as the agent its MCP client names.
    const authors = versions.versions.map((entry: { author: { kind: string; name: string } }) => `${entry.author.kind}:${entry.author.name}`);
    expect(new Set(authors)).toEqual(new Set(["key:mcp-owner's API key", 'agent:tandem-test']));
    expect(await ok(agent, 'read_version', { document_id: id, version: 1 })).toMatchObject({ version: 1, content: '# Plan\n\n## Tasks\n\n- write\n' });
    browser.provider.destroy();
  });

  it('creates a rich-text document, patches it as markdown, and names what it cannot hold', async () => {
    const id = uniqueDocId('mcp-rich');
    const created = await ok(agent, 'create_document', { id, format: 'prosemirror', content: '# Notes\n\n- [ ] first task' });
    expect(created).toMatchObject({ id, format: 'prosemirror', version: 1 });
    await ok(agent, 'patch_document', { document_id: id, base_version: 1, edits: [{ append: '\n- [x] done task' }] });
    expect(await ok(agent, 'read_document', { document_id: id })).toMatchObject({ format: 'prosemirror', content: '# Notes\n\n- [ ] first task\n- [x] done task' });
    const refused = await call(agent, 'patch_document', { document_id: id, edits: [{ append: '\n\n<details>html</details>' }] });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toContain('UNSUPPORTED_MARKDOWN');
    expect(textOf(refused)).toContain('an HTML block');
  });

  it('a diff against an old version merges too; a find that is not there is an EDIT_CONFLICT tool error', async () => {
    const id = uniqueDocId('mcp-conflict');
    await ok(agent, 'create_document', { id, content: 'one\ntwo\nthree\n' });
    const diff = '--- a\n+++ b\n@@ -1,3 +1,3 @@\n one\n-two\n+TWO\n three\n';
    expect(await ok(agent, 'patch_document', { document_id: id, base_version: 1, diff })).toMatchObject({ changed: true, version: 2 });

    const conflict = await call(agent, 'patch_document', { document_id: id, base_version: 2, edits: [{ find: 'not in the text', replace: 'x' }] });
    expect(conflict.isError).toBe(true);
    expect(textOf(conflict)).toMatch(/^EDIT_CONFLICT: /);
    expect(conflict.structuredContent).toMatchObject({ code: 'EDIT_CONFLICT', status: 409, details: { edit: 0, reason: 'not_found' } });
    const read = await call(agent, 'read_document', { document_id: id });
    expect(read.structuredContent).toMatchObject({ version: 2, content: 'one\nTWO\nthree\n' });
    expect(read.content[1]).toEqual({ type: 'text', text: 'one\nTWO\nthree\n' }); // the markdown as written, for the model

    const both = await call(agent, 'patch_document', { document_id: id, diff, edits: [{ append: 'x' }] });
    expect(both.structuredContent).toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
  });

  it('append_to_section, add_comment and list_documents', async () => {
    const id = uniqueDocId('mcp-section');
    await ok(agent, 'create_document', { id, content: '# Notes\n\n## Open questions\n\n- who?\n\n## Done\n' });
    expect(await ok(agent, 'append_to_section', { document_id: id, heading: '## Open questions', text: '- when?' })).toMatchObject({ changed: true });
    expect((await ok(agent, 'read_document', { document_id: id })).content).toBe('# Notes\n\n## Open questions\n\n- who?\n- when?\n\n## Done\n');

    const comment = await ok(agent, 'add_comment', { document_id: id, body: 'Is this settled?', quote: '- when?' });
    expect(comment).toMatchObject({ documentId: id, body: 'Is this settled?', quote: '- when?', anchor: { text: '- when?' } });
    const threads = await owner.rest.get(`/v1/documents/${id}/comments`);
    expect(threads.body.threads.map((thread: { id: string }) => thread.id)).toEqual([comment.id]);
    const missing = await call(agent, 'add_comment', { document_id: id, body: 'x', quote: 'not in the text' });
    expect(missing.structuredContent).toMatchObject({ code: 'ANCHOR_NOT_FOUND', status: 409 });

    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { documents: { id: string }[]; nextCursor: string | null } = await ok(agent, 'list_documents', { limit: 2, ...(cursor ? { cursor } : {}) });
      ids.push(...page.documents.map((document) => document.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(ids).toContain(id);
  });

  it('search_documents finds text in the documents the key can read, and only those', async () => {
    const word = `zebra${Date.now().toString(36)}`;
    const mine = uniqueDocId('mcp-search');
    await ok(agent, 'create_document', { id: mine, content: `# Animals\n\nA ${word.toUpperCase()} crossed.\n` });
    const other = await signUp(node, 'mcp-stranger');
    const theirs = uniqueDocId('mcp-search-theirs');
    expect((await other.rest.post('/v1/documents', { id: theirs, content: `${word} here too` })).status).toBe(201);

    const found = await ok(agent, 'search_documents', { query: word });
    expect(found.results).toEqual([
      expect.objectContaining({ id: mine, uri: `tandem://documents/${mine}`, matches: [{ line: 3, text: `A ${word.toUpperCase()} crossed.` }] }),
    ]);
    const stranger = await mcpClient(node, other.accessToken);
    opened.push(stranger);
    expect((await ok(stranger, 'search_documents', { query: word })).results.map((hit: { id: string }) => hit.id)).toEqual([theirs]);
  });

  it('a read key reads but gets a FORBIDDEN tool error on writes', async () => {
    const id = uniqueDocId('mcp-read-key');
    const { readKey } = await ok(agent, 'create_document', { id, content: 'hello\n' });
    const reader = await mcpClient(node, readKey);
    opened.push(reader);
    expect((await ok(reader, 'read_document', { document_id: id })).content).toBe('hello\n');
    for (const [tool, args] of [
      ['patch_document', { document_id: id, edits: [{ append: 'no' }] }],
      ['append_to_section', { document_id: id, heading: 'x', text: 'no' }],
      ['add_comment', { document_id: id, body: 'no' }],
      ['create_document', {}],
    ] as const) {
      const refused = await call(reader, tool, args);
      expect(refused.isError, tool).toBe(true);
      expect(textOf(refused), tool).toMatch(/^FORBIDDEN: /);
      expect(refused.structuredContent, tool).toMatchObject({ code: 'FORBIDDEN', status: 403 });
    }
    expect((await restAs(node, readKey).get(`/v1/documents/${id}`)).body.content).toBe('hello\n');
  });

  it('a bad key is refused with 401 when connecting; a session answers only its own credential', async () => {
    await expect(mcpClient(node, 'tdm_not-a-real-key')).rejects.toMatchObject({ code: 401 });
    await expect(mcpClient(node, 'tdk_not-a-real-key')).rejects.toMatchObject({ code: 401 });

    const refused = await fetch(`${node.url}/mcp`, { method: 'POST', headers, body: JSON.stringify(initialize) });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await refused.json()).toMatchObject({ code: 'UNAUTHORIZED' });

    const sessionId = (agent.transport as StreamableHTTPClientTransport).sessionId!;
    const ping = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' });
    const other = await signUp(node, 'mcp-hijacker');
    const hijack = await fetch(`${node.url}/mcp`, {
      method: 'POST',
      headers: { ...headers, authorization: `Bearer ${other.accessToken}`, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' },
      body: ping,
    });
    expect(hijack.status).toBe(403);
    const unknown = await fetch(`${node.url}/mcp`, {
      method: 'POST',
      headers: { ...headers, authorization: `Bearer ${apiKey}`, 'mcp-session-id': 'no-such-session', 'mcp-protocol-version': '2025-06-18' },
      body: ping,
    });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ code: 'MCP_SESSION_NOT_FOUND' });

    // DELETE ends a session: its id is unknown afterwards, and the client has to initialize again.
    const leaving = await mcpClient(node, apiKey);
    const transport = leaving.transport as StreamableHTTPClientTransport;
    const ended = transport.sessionId!;
    await transport.terminateSession();
    await leaving.close();
    const after = await fetch(`${node.url}/mcp`, {
      method: 'POST',
      headers: { ...headers, authorization: `Bearer ${apiKey}`, 'mcp-session-id': ended, 'mcp-protocol-version': '2025-06-18' },
      body: ping,
    });
    expect(after.status).toBe(404);
    expect((await (await fetch(`${node.url}/v1`)).json()).capabilities).toMatchObject({ mcp: '/mcp' });
  });

  it('documents are resources; a subscribed one gets an update notification when a browser client edits it', async () => {
    const id = uniqueDocId('mcp-resource');
    const uri = `tandem://documents/${id}`;
    await ok(agent, 'create_document', { id, content: 'watched\n' });
    const read = await agent.readResource({ uri });
    expect(read.contents).toEqual([expect.objectContaining({ uri, mimeType: 'text/markdown', text: 'watched\n' })]);
    const { resources } = await agent.listResources();
    expect(resources.map((resource) => resource.uri)).toContain(uri);

    const watcher = await mcpClient(node, apiKey);
    opened.push(watcher);
    const updated: string[] = [];
    watcher.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => {
      updated.push(notification.params.uri);
    });
    await watcher.subscribeResource({ uri });

    const browser = yWebsocketClient(node.wsUrl, id, { token: apiKey });
    opened.push({ close: async () => browser.provider.destroy() });
    await whenSynced(browser.provider);
    // The client opens its notification stream (GET /mcp) on its own after initializing; until
    // it is open a notification has nowhere to go, so keep typing until one arrives.
    await waitFor(() => {
      browser.text.insert(browser.text.length, '.');
      return updated.includes(uri);
    }, 'notifications/resources/updated');
    expect((await watcher.readResource({ uri })).contents[0]).toMatchObject({ uri, text: expect.stringMatching(/^watched\n\.+$/) });

    // A change over REST is a change too (on a second document, which no browser edits).
    const second = uniqueDocId('mcp-resource-rest');
    await ok(agent, 'create_document', { id: second, content: 'also watched\n' });
    await watcher.subscribeResource({ uri: `tandem://documents/${second}` });
    expect((await owner.rest.patch(`/v1/documents/${second}`, { edits: [{ append: 'over REST\n' }] })).status).toBe(200);
    await waitFor(() => updated.includes(`tandem://documents/${second}`), 'the notification of the REST change');

    // After unsubscribing: no more notifications. A control session, subscribed to the same
    // document, must hear of the next edit; then the watcher, still subscribed to the second
    // document, must hear of a later change to that one. Its notifications come in order on one
    // stream, so one about the first document sent for the edit would have arrived before it.
    const secondUri = `tandem://documents/${second}`;
    const count = (list: string[], which: string) => list.filter((seen) => seen === which).length;
    const control = await mcpClient(node, apiKey);
    opened.push(control);
    const controlSaw: string[] = [];
    control.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => {
      controlSaw.push(notification.params.uri);
    });
    await control.subscribeResource({ uri });
    await control.subscribeResource({ uri: secondUri });
    // Its notification stream opens on its own after initializing: change the second document
    // until it hears of it (nobody has edited the first since the watcher's notices above).
    await waitFor(async () => {
      expect((await owner.rest.patch(`/v1/documents/${second}`, { edits: [{ append: '.' }] })).status).toBe(200);
      return controlSaw.includes(secondUri);
    }, "the control session's notification stream");

    await watcher.unsubscribeResource({ uri });
    const watcherSawFirst = count(updated, uri);
    const controlSawFirst = count(controlSaw, uri);
    browser.text.insert(0, 'later ');
    await waitFor(() => count(controlSaw, uri) > controlSawFirst, 'the control session to hear of the later edit');
    const watcherSawSecond = count(updated, secondUri);
    expect((await owner.rest.patch(`/v1/documents/${second}`, { edits: [{ append: 'once more\n' }] })).status).toBe(200);
    await waitFor(() => count(updated, secondUri) > watcherSawSecond, 'the watcher to hear of the second document again');
    expect(count(updated, uri)).toBe(watcherSawFirst);
    browser.provider.destroy();

    const refused = await agent.readResource({ uri: 'tandem://documents/no-such-document-here' }).catch((error: Error) => error);
    expect(String(refused)).toContain('DOC_NOT_FOUND');
  });
});

describe('MCP limits and shutdown', () => {
  const LIMIT = 6;
  let node: TestNode;
  beforeAll(async () => {
    node = await startAuthNode({ RATE_LIMIT_PER_MINUTE: String(LIMIT) });
  });
  afterAll(async () => {
    await node?.close();
  });

  it('the per-credential rate limit counts /mcp requests', async () => {
    const user = await signUp(node, 'mcp-limited'); // GET /v1/me used one request of the budget
    const post = () =>
      fetch(`${node.url}/mcp`, { method: 'POST', headers: { ...headers, authorization: `Bearer ${user.accessToken}` }, body: JSON.stringify(initialize) });
    const statuses: number[] = [];
    for (let attempt = 0; attempt < LIMIT; attempt++) {
      const response = await post();
      if (attempt === 0) expect(response.headers.get('x-ratelimit-limit')).toBe(String(LIMIT));
      statuses.push(response.status);
      if (response.status === 429) expect(await response.json()).toMatchObject({ code: 'RATE_LIMITED' });
      else await response.text();
    }
    expect(statuses).toEqual([...Array(LIMIT - 1).fill(200), 429]);
  });

  it('closing the node ends open sessions, notification streams included', async () => {
    const user = await signUp(node, 'mcp-shutdown');
    const auth = { authorization: `Bearer ${user.accessToken}` };
    const opened = await fetch(`${node.url}/mcp`, { method: 'POST', headers: { ...headers, ...auth }, body: JSON.stringify(initialize) });
    expect(opened.status).toBe(200);
    await opened.text();
    const session = { ...auth, 'mcp-session-id': opened.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-06-18' };
    const initialized = await fetch(`${node.url}/mcp`, {
      method: 'POST',
      headers: { ...headers, ...session },
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
    });
    expect(initialized.status).toBe(202);
    const stream = await fetch(`${node.url}/mcp`, { headers: { accept: 'text/event-stream', ...session } });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toContain('text/event-stream');

    // The notification stream is open; closing the node must end it rather than wait for it.
    const reader = stream.body!.getReader();
    const ended = (async () => {
      for (;;) {
        const { done } = await reader.read().catch(() => ({ done: true }));
        if (done) return true;
      }
    })();
    await node.close();
    expect(await ended).toBe(true);
    node = undefined as unknown as TestNode;
  });
});
