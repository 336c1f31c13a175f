import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider';
import * as Y from 'yjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/clients.ts';
import { startTestNode, type TestNode, uniqueDocId } from '../helpers/node.ts';

/**
 * One stock Hocuspocus socket carrying many documents (a sidebar of open notes, an app that
 * syncs a whole workspace). On every (re)connect the provider authenticates all of them at
 * once; Hocuspocus's default of 100 documents waiting for authentication closed such a socket
 * with 1013 on every try, so it never synced again.
 */
describe('one /collab socket with many documents', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode('postgres');
  });
  afterAll(async () => {
    await node?.close();
  });

  it('syncs 250 documents attached at once, and all of them again after the socket reconnects', { timeout: 90_000 }, async () => {
    const socket = new HocuspocusProviderWebsocket({ url: `${node.wsUrl}/collab` });
    const closes: number[] = [];
    socket.on('disconnect', ({ event }: { event: CloseEvent }) => closes.push(event.code));
    const providers = Array.from({ length: 250 }, (_, n) => {
      const doc = new Y.Doc();
      doc.getText('content').insert(0, `note ${n}`);
      const provider = new HocuspocusProvider({ websocketProvider: socket, name: uniqueDocId(`many-${n}`), document: doc, token: 'anonymous' });
      provider.attach();
      return provider;
    });
    try {
      await waitFor(() => providers.every((provider) => provider.synced && provider.unsyncedChanges === 0), 'all 250 documents synced and stored', 60_000);
      expect(closes).toEqual([]);

      socket.disconnect();
      await waitFor(() => providers.every((provider) => !provider.synced), 'the documents to notice the disconnect');
      const typedOffline = providers[249]!;
      typedOffline.document.getText('content').insert(0, 'offline ');
      await socket.connect();
      await waitFor(() => providers.every((provider) => provider.synced && provider.unsyncedChanges === 0), 'all 250 synced again', 60_000);
      expect(closes.filter((code) => code !== 1000 && code !== 1005)).toEqual([]);
      const stored = await fetch(`${node.url}/v1/documents/${typedOffline.configuration.name}`, { headers: { accept: 'text/markdown' } });
      expect(await stored.text()).toBe('offline note 249');
    } finally {
      for (const provider of providers) provider.destroy();
      socket.destroy();
    }
  });
});
