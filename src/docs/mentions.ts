import { randomUUID } from 'node:crypto';
import type { JobPublisher } from '../jobs/ports.ts';
import type { CommentStore } from '../storage/comment-repository.ts';
import type { NotificationStore } from '../storage/notification-repository.ts';

/**
 * A mention is "@" followed by a user's email address: "@ada@example.com". Emails are unique
 * and what people share, so a mention names exactly one account. The "@" must not follow a
 * letter, digit or "._+-" (a bare email address, "x@ada@example.com", is no mention); a
 * full stop right after the address ends the sentence, not the address.
 */
const MENTION = /(?<![\p{L}\p{N}._+-])@([\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+)/gu;

/** A comment notifies at most this many people; the rest of its mentions are ignored. */
export const MAX_MENTIONS = 50;

/** The lower-cased emails a comment mentions, each once, in order of appearance. */
export function parseMentions(body: string): string[] {
  const emails = new Set<string>();
  for (const match of body.matchAll(MENTION)) {
    emails.add(match[1]!.toLowerCase());
    if (emails.size === MAX_MENTIONS) break;
  }
  return [...emails];
}

/** What notifying a comment's mentions needs (workers/notify-mentions.ts wires the concrete ones). */
export interface MentionDeps {
  comments: Pick<CommentStore, 'find' | 'usersByEmail'>;
  notifications: Pick<NotificationStore, 'insertNew' | 'withDedupeKeys'>;
  /** The document, or null when it is gone; deletedAt set while it sits deleted. */
  document(id: string): Promise<{ deletedAt: Date | null } | null>;
  /** Whether the user may read the document (the authorizer decides). */
  canRead(userId: string, documentId: string): Promise<boolean>;
  jobs: JobPublisher;
}

export type MentionOutcome =
  | { kind: 'done'; notified: string[]; announced: string[] }
  /** The comment or its document is gone: trying again cannot help. */
  | { kind: 'gone'; reason: string };

/** The first characters of a comment, for the notification. */
const EXCERPT = 280;

/**
 * Stores a 'mention' notification for every user the comment mentions who may read its
 * document (not its author), and one 'mention' webhook event per user notified. Idempotent:
 * each notification has the dedupe key mention:<comment>:<user>, so a job run twice, or two
 * at once, stores it once and announces it once. A retry (attempt > 1) announces every
 * mention again, since the try before may have stored them and then failed to publish;
 * a webhook event is thus sent at least once, rarely twice.
 */
export async function notifyMentions(deps: MentionDeps, commentId: string, attempt: number): Promise<MentionOutcome> {
  const comment = await deps.comments.find(commentId);
  if (!comment) return { kind: 'gone', reason: `comment ${commentId} no longer exists` };
  const document = await deps.document(comment.documentId);
  if (!document || document.deletedAt) return { kind: 'gone', reason: `document ${comment.documentId} of comment ${commentId} is deleted` };

  const emails = parseMentions(comment.body);
  const mentioned = (await deps.comments.usersByEmail(emails)).filter((user) => user.id !== comment.authorId);
  const allowed = await Promise.all(mentioned.map((user) => deps.canRead(user.id, comment.documentId)));
  const readers = mentioned.filter((_, index) => allowed[index]);
  if (readers.length === 0) return { kind: 'done', notified: [], announced: [] };

  const threadId = comment.parentId ?? comment.id;
  const author = { id: comment.authorId, name: comment.authorName };
  const dedupeKey = (userId: string) => `mention:${comment.id}:${userId}`;
  const inserted = await deps.notifications.insertNew(
    readers.map((user) => ({
      id: randomUUID(),
      userId: user.id,
      kind: 'mention',
      documentId: comment.documentId,
      commentId: comment.id,
      payload: { threadId, author, excerpt: comment.body.slice(0, EXCERPT) },
      dedupeKey: dedupeKey(user.id),
    })),
  );
  const announce = attempt > 1 ? await deps.notifications.withDedupeKeys(readers.map((user) => dedupeKey(user.id))) : inserted;
  for (const notification of announce) {
    await deps.jobs.publish(
      'webhook-event',
      { event: 'mention', documentId: comment.documentId, data: { commentId: comment.id, threadId, userId: notification.userId, author } },
      { dedupeKey: dedupeKey(notification.userId) },
    );
  }
  return { kind: 'done', notified: inserted.map((row) => row.userId), announced: announce.map((row) => row.userId) };
}
