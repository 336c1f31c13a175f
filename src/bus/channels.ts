/**
 * Redis channel names, built here only. The document id sits in a {hash tag}, so that on Redis
 * Cluster with sharded pub/sub (SSUBSCRIBE) each document's channel lives in one slot.
 */
export const CHANNEL_PREFIX = 'tandem:doc:';

export function documentChannel(documentId: string): string {
  return `${CHANNEL_PREFIX}{${documentId}}`;
}

export function documentIdOfChannel(channel: string): string | null {
  if (!channel.startsWith(`${CHANNEL_PREFIX}{`) || !channel.endsWith('}')) return null;
  return channel.slice(CHANNEL_PREFIX.length + 1, -1);
}
