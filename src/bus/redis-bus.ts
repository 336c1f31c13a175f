import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { BusMessage, UpdateBus } from '../collab/ports.ts';
import { documentChannel, documentIdOfChannel } from './channels.ts';
import { decodeBusMessage, encodeBusMessage } from './messages.ts';

/**
 * The bus across nodes: Redis pub/sub, one channel per document. Two connections, since a
 * subscribed connection can do nothing else. Publishing never waits for Redis (no offline
 * queue): what is lost while Redis is away is repaired from the op log by the receivers,
 * which are told when the subscriber connection comes back.
 */
export function createRedisBus(url: string, logger: Logger): UpdateBus & { close(): Promise<void> } {
  const publisher = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectionName: 'tandem-bus-pub', enableAutoPipelining: true });
  // The subscriber queues its SUBSCRIBEs while disconnected. It re-subscribes on reconnect
  // itself, not through ioredis's autoResubscribe: that one's SUBSCRIBE has no rejection
  // handler (redis/ioredis#2187), so a close while it waits was an unhandled rejection.
  const subscriber = new Redis(url, { connectionName: 'tandem-bus-sub', maxRetriesPerRequest: null, autoResubscribe: false });
  /** Per document: its handlers, and the SUBSCRIBE every later subscriber must also wait for. */
  const channels = new Map<string, { handlers: Set<(message: BusMessage) => void>; subscribed: Promise<unknown> }>();
  const reconnectListeners: (() => void)[] = [];
  let everReady = false;
  let warnedDown = false;

  for (const [name, connection] of [['publisher', publisher], ['subscriber', subscriber]] as const) {
    connection.on('error', (error) => {
      if (!warnedDown) logger.warn({ err: error, connection: name }, 'Redis (update bus) does not answer; updates between nodes come from the op log until it is back');
      warnedDown = true;
    });
  }
  // Also on the first 'ready': rooms loaded while Redis was still away have to catch up too.
  // The rooms read the log only once their channels are subscribed again, so that an update
  // committed elsewhere is either in what they read or in a message they receive.
  subscriber.on('ready', () => {
    if (everReady) logger.info('Redis (update bus) is back; catching up from the op log');
    everReady = true;
    warnedDown = false;
    const names = [...channels.keys()].map(documentChannel);
    (names.length > 0 ? subscriber.subscribe(...names) : Promise.resolve()).then(
      () => {
        for (const listener of reconnectListeners) listener();
      },
      // The connection went away again (or is closing): the next 'ready' does it all again.
      (error: unknown) => logger.debug({ err: error }, 're-subscribing failed'),
    );
  });
  subscriber.on('messageBuffer', (channel: Buffer, payload: Buffer) => {
    const documentId = documentIdOfChannel(channel.toString());
    const message = documentId === null ? null : decodeBusMessage(new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength));
    if (!documentId || !message) return;
    for (const handler of channels.get(documentId)?.handlers ?? []) handler(message);
  });

  return {
    distributed: true,
    async subscribe(documentId, handler) {
      let entry = channels.get(documentId);
      if (!entry) {
        entry = { handlers: new Set(), subscribed: subscriber.subscribe(documentChannel(documentId)) };
        channels.set(documentId, entry);
      }
      const current = entry;
      current.handlers.add(handler);
      // While Redis is away the SUBSCRIBE waits in ioredis's queue; a room must not wait with
      // it (its local clients would see nothing). It loads now and catches up on 'ready'.
      if (subscriber.status === 'ready') await current.subscribed;
      else current.subscribed.catch((error: unknown) => logger.debug({ err: error, documentId }, 'subscribe failed'));
      return async () => {
        current.handlers.delete(handler);
        if (current.handlers.size > 0 || channels.get(documentId) !== current) return;
        channels.delete(documentId);
        // Not awaited: while Redis is away it would wait for its return, and an unload (or a
        // shutdown) must not. A stray message for an unloaded document is ignored.
        subscriber.unsubscribe(documentChannel(documentId)).catch((error: unknown) => {
          logger.debug({ err: error, documentId }, 'unsubscribe failed');
        });
      };
    },
    publish(documentId, message) {
      publisher.publish(documentChannel(documentId), Buffer.from(encodeBusMessage(message))).catch((error: unknown) => {
        logger.debug({ err: error, documentId }, 'publish failed; other nodes will repair from the op log');
      });
    },
    onReconnect(listener) {
      reconnectListeners.push(listener);
    },
    async close() {
      channels.clear();
      // quit() would wait in the offline queue for a Redis that is away: then just drop it.
      await Promise.all(
        [publisher, subscriber].map((connection) =>
          connection.status === 'ready' ? connection.quit().catch(() => connection.disconnect()) : connection.disconnect(),
        ),
      );
    },
  };
}
