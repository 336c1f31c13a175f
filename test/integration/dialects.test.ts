import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hocuspocusClient, waitFor, whenSynced, yWebsocketClient } from '../helpers/clients.ts';
import { startTestNode, type TestNode, uniqueDocId } from '../helpers/node.ts';

describe('y-websocket and Hocuspocus clients on one document', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode('postgres');
  });
  afterAll(async () => {
    await node.close();
  });

  it('converge on edits from both sides and see each other\'s awareness', async () => {
    const id = uniqueDocId('dialects');
    const y = yWebsocketClient(node.wsUrl, id);
    const h = hocuspocusClient(node.wsUrl, id);
    await Promise.all([whenSynced(y.provider), whenSynced(h.provider)]);

    y.text.insert(0, 'hello from y-websocket. ');
    h.text.insert(0, 'hello from hocuspocus. ');
    const both = (s: string) => s.includes('hello from y-websocket. ') && s.includes('hello from hocuspocus. ');
    await waitFor(() => both(y.text.toString()) && both(h.text.toString()), 'both edits on both clients');
    expect(y.text.toString()).toBe(h.text.toString());

    y.provider.awareness.setLocalStateField('user', { name: 'Ada (y-websocket)' });
    h.provider.setAwarenessField('user', { name: 'Grace (hocuspocus)' });
    const names = (states: Map<number, Record<string, unknown>>) =>
      [...states.values()].map((state) => (state.user as { name?: string } | undefined)?.name);
    await waitFor(
      () =>
        names(y.provider.awareness.getStates()).includes('Grace (hocuspocus)') &&
        names(h.provider.awareness!.getStates()).includes('Ada (y-websocket)'),
      'awareness on both sides',
    );

    y.provider.destroy();
    h.provider.destroy();
  });
});
