import type { FastifyBaseLogger } from 'fastify';

/**
 * Updates of a document as they are committed, on any node (main.ts adapts the update bus:
 * every committed update is published there with its seq, by whichever node committed it,
 * and reaches this node's subscribers too). Best effort, like the bus: a lost message means
 * a notification that is not sent, never a wrong read.
 */
export interface DocumentChanges {
  /** Resolves once watching; the function it gives stops watching. */
  watch(documentId: string, changed: (version: number) => void): Promise<() => Promise<void>>;
}

/** How often at most one session hears about one document. */
export const NOTIFY_EVERY_MS = 200;

export interface SubscriptionOptions {
  changes: DocumentChanges;
  /** Sends notifications/resources/updated for the document. */
  notify(documentId: string): Promise<void>;
  /** Asked before each notification: the session's credential may have lost access meanwhile. */
  mayStillRead(documentId: string): Promise<boolean>;
  logger: FastifyBaseLogger;
}

export type Subscriptions = ReturnType<typeof createSubscriptions>;

interface Watch {
  stop: Promise<() => Promise<void>>;
  timer: NodeJS.Timeout | null;
}

/**
 * One MCP session's resource subscriptions. A burst of keystrokes becomes one notification
 * per NOTIFY_EVERY_MS: the first update starts the window and the notification goes out at
 * its end, so a client hears of a change at most that late and never more often.
 */
export function createSubscriptions(options: SubscriptionOptions) {
  const { changes, logger } = options;
  const watches = new Map<string, Watch>();

  async function fire(documentId: string): Promise<void> {
    try {
      if (!(await options.mayStillRead(documentId))) {
        logger.debug({ documentId }, 'MCP subscription ended: the session may no longer read the document');
        await remove(documentId);
        return;
      }
      await options.notify(documentId);
    } catch (error) {
      // The client went away or the session closed meanwhile: nobody to tell.
      logger.debug({ err: error, documentId }, 'could not send an MCP resource notification');
    }
  }

  function changed(documentId: string): void {
    const watch = watches.get(documentId);
    if (!watch || watch.timer) return;
    watch.timer = setTimeout(() => {
      watch.timer = null;
      void fire(documentId);
    }, NOTIFY_EVERY_MS);
  }

  async function remove(documentId: string): Promise<void> {
    const watch = watches.get(documentId);
    if (!watch) return;
    watches.delete(documentId);
    if (watch.timer) clearTimeout(watch.timer);
    await (await watch.stop)();
  }

  return {
    async add(documentId: string): Promise<void> {
      if (watches.has(documentId)) return;
      const watch: Watch = { stop: changes.watch(documentId, () => changed(documentId)), timer: null };
      watches.set(documentId, watch);
      try {
        await watch.stop;
      } catch (error) {
        watches.delete(documentId);
        throw error;
      }
    },
    remove,
    get size(): number {
      return watches.size;
    },
    async close(): Promise<void> {
      await Promise.all([...watches.keys()].map((documentId) => remove(documentId)));
    },
  };
}
