import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { AGENT_PRESENCE_MS } from '../../src/collab/agent-presence.ts';
import { hocuspocusClient, waitFor, whenSynced, yWebsocketClient } from '../helpers/clients.ts';
import { startTestNode, type TestNode, uniqueDocId } from '../helpers/node.ts';
import { TEST_REDIS_URL } from '../helpers/ports.ts';
import { restClient } from '../helpers/rest.ts';

interface AgentState {
  user?: { name: string; kind?: string; color?: string };
  cursor?: { anchor: unknown; head: unknown };
}

/** The agents a client's awareness shows, by name. */
function agentsSeenBy(awareness: { getStates(): Map<number, unknown> }): Map<string, AgentState> {
  const agents = new Map<string, AgentState>();
  for (const state of awareness.getStates().values()) {
    const { user } = state as AgentState;
    if (user?.kind === 'agent') agents.set(user.name, state as AgentState);
  }
  return agents;
}

/** Where an awareness cursor points in the client's text, as y-codemirror would place it. */
function cursorIndex(doc: Y.Doc, cursor: { anchor: unknown }): number | null {
  const position = Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromJSON(cursor.anchor), doc);
  return position?.index ?? null;
}

/**
 * Agent presence (INTERFACE.md, "Agents as collaborators"): while an agent writes over REST
 * on one node, people on the other node see it in the document's awareness, named, marked as
 * an agent, with its cursor where it wrote, and it goes away a few seconds after its last write.
 */
describe('agent presence across two nodes', () => {
  let a: TestNode;
  let b: TestNode;
  beforeAll(async () => {
    // The bus alone carries presence (the log repair never does).
    const env = { REDIS_URL: TEST_REDIS_URL, BUS_REPAIR_INTERVAL_MS: '60000' };
    [a, b] = await Promise.all([startTestNode('postgres', { env }), startTestNode('postgres', { env })]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  it('shows a writing agent, with its cursor after its text, to clients of both dialects on the other node, then lets it go', async () => {
    const id = uniqueDocId('agent-presence');
    const rest = restClient(`${a.url}/v1`);
    await rest.post('/documents', { id, content: 'Title\n\nPeople wrote this.\n' });
    const y = yWebsocketClient(b.wsUrl, id);
    const h = hocuspocusClient(b.wsUrl, id);
    try {
      await Promise.all([whenSynced(y.provider), whenSynced(h.provider)]);
      const patched = await rest.patch(`/documents/${id}`, { edits: [{ find: 'People wrote', replace: 'People and agents wrote' }] }, { 'agent-name': 'Scribe' });
      expect(patched.status).toBe(200);
      const started = Date.now();
      await waitFor(() => agentsSeenBy(y.provider.awareness).has('Scribe') && agentsSeenBy(h.provider.awareness!).has('Scribe'), 'both clients to see the agent');
      await waitFor(() => y.text.toString().includes('agents'), 'the patch to reach the client');
      const seen = agentsSeenBy(y.provider.awareness).get('Scribe')!;
      expect(seen.user).toMatchObject({ name: 'Scribe', kind: 'agent' });
      // Right after the last character the agent inserted: " and agents" or "and agents " (the
      // diff may take either space).
      const inserted = y.text.toString().indexOf(' and agents') + ' and agents'.length;
      expect([inserted, inserted + 1]).toContain(cursorIndex(y.doc, seen.cursor!));
      // A person writing over REST (no Agent-Name) is not shown as an agent.
      await rest.patch(`/documents/${id}`, { edits: [{ append: 'More.\n' }] });
      expect([...agentsSeenBy(y.provider.awareness).keys()]).toEqual(['Scribe']);

      await waitFor(() => !agentsSeenBy(y.provider.awareness).has('Scribe') && !agentsSeenBy(h.provider.awareness!).has('Scribe'), 'the agent to leave', 3 * AGENT_PRESENCE_MS);
      expect(Date.now() - started).toBeGreaterThanOrEqual(AGENT_PRESENCE_MS - 1_000);
    } finally {
      y.provider.destroy();
      h.provider.destroy();
    }
  });

  it('does not let a client pass for an agent: the kind it claims is taken out of its state', async () => {
    const id = uniqueDocId('agent-spoof');
    const impostor = yWebsocketClient(a.wsUrl, id);
    const watcher = hocuspocusClient(b.wsUrl, id);
    try {
      await Promise.all([whenSynced(impostor.provider), whenSynced(watcher.provider)]);
      impostor.provider.awareness.setLocalState({ user: { name: 'Fake agent', kind: 'agent', color: '#b45309' } });
      const seen = () => [...watcher.provider.awareness!.getStates().values()].find((state) => (state as AgentState).user?.name === 'Fake agent') as AgentState | undefined;
      await waitFor(() => seen() !== undefined, 'the impostor to be seen');
      expect(seen()!.user).toEqual({ name: 'Fake agent', color: '#b45309' });
    } finally {
      impostor.provider.destroy();
      watcher.provider.destroy();
    }
  });
});
