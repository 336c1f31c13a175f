import { randomUUID } from 'node:crypto';
import * as Y from 'yjs';
import { AppError } from '../errors.ts';
import type { JobPublisher } from '../jobs/ports.ts';
import type { CommentRecord, CommentStore } from '../storage/comment-repository.ts';
import { type AnchorRequest, createAnchor, rangeOf, type ResolvedAnchor, resolveAnchor } from './comment-anchors.ts';
import type { DocumentService } from './document-service.ts';
import { parseMentions } from './mentions.ts';
import { contentFormat } from '../formats/formats.ts';

/** Who writes a comment: a user (their own token or their API key), or someone without an account. */
export interface CommentAuthor {
  userId: string | null;
  /** The name shown when there is no user (a document key, AUTH=off). */
  label: string;
}

export interface CommentView {
  id: string;
  documentId: string;
  /** The thread's id: its own for a thread, its thread's for a reply. */
  threadId: string;
  parentId: string | null;
  author: { id: string | null; name: string };
  body: string;
  createdAt: Date;
  /** Thread fields (null, '' and false on replies). */
  resolvedAt: Date | null;
  quote: string;
  /** Where the anchored text is now; null when the thread has no anchor or it is detached. */
  anchor: ResolvedAnchor | null;
  /** The anchored text was deleted: `quote` is what it said. */
  detached: boolean;
}

export interface ThreadView extends CommentView {
  replies: CommentView[];
}

export interface NewCommentInput {
  body: string;
  anchor?: AnchorRequest | undefined;
  parentId?: string | undefined;
}

export interface CommentService {
  /** The document's threads, oldest first, with their anchors resolved against the current version. */
  list(documentId: string, options: { resolved?: boolean | undefined }): Promise<{ version: number; threads: ThreadView[] }>;
  /** A new thread (anchored to the current text, or to the whole document) or a reply to one. */
  create(documentId: string, input: NewCommentInput, author: CommentAuthor): Promise<CommentView>;
  /** Resolves or reopens the thread `commentId` belongs to. */
  setResolved(documentId: string, commentId: string, resolved: boolean): Promise<ThreadView>;
  /** Deletes a comment (a thread with its replies): its author's or a document admin's to delete. */
  remove(documentId: string, commentId: string, actor: { userId: string | null; isAdmin: boolean }): Promise<void>;
}

interface CommentDeps {
  store: CommentStore;
  documents: Pick<DocumentService, 'describe' | 'yjsState'>;
  jobs: JobPublisher;
  logger: { warn(object: object, message: string): void };
}

/** The current Yjs state of a document, for making and resolving anchors. */
async function currentDoc(documents: CommentDeps['documents'], documentId: string) {
  const { update, version, format } = await documents.yjsState(documentId);
  const doc = new Y.Doc();
  Y.applyUpdate(doc, update);
  const map = (await contentFormat(format)).textMap(doc);
  return { doc, map, content: map.markdown, version };
}

type Current = Awaited<ReturnType<typeof currentDoc>>;

function viewOf(comment: CommentRecord, current: Current | null): CommentView {
  const thread = comment.parentId === null;
  const anchored = thread && comment.anchorStart !== null && comment.anchorEnd !== null;
  const anchor =
    anchored && current ? resolveAnchor(current.doc, current.map, { start: comment.anchorStart!, end: comment.anchorEnd! }) : null;
  return {
    id: comment.id,
    documentId: comment.documentId,
    threadId: comment.parentId ?? comment.id,
    parentId: comment.parentId,
    author: { id: comment.authorId, name: comment.authorName },
    body: comment.body,
    createdAt: comment.createdAt,
    resolvedAt: thread ? comment.resolvedAt : null,
    quote: thread ? comment.quote : '',
    anchor,
    detached: anchored && anchor === null,
  };
}

export function createCommentService({ store, documents, jobs, logger }: CommentDeps): CommentService {
  /** The comment, when it is on this document (an id from another document is no such comment here). */
  async function findOn(documentId: string, commentId: string): Promise<CommentRecord> {
    const comment = await store.find(commentId);
    if (!comment || comment.documentId !== documentId) {
      throw new AppError('COMMENT_NOT_FOUND', `Document ${documentId} has no comment ${commentId}`);
    }
    return comment;
  }

  async function nameOf(author: CommentAuthor): Promise<string> {
    if (author.userId === null) return author.label;
    const user = await store.user(author.userId);
    // Not the email: whoever may read the document (a read link included) reads the comments.
    return user?.name || 'Unnamed user';
  }

  /**
   * The comment is stored whatever happens here: a queue that does not answer costs its
   * notifications and events (logged), not the comment, so a client never retries into a duplicate.
   */
  async function announce(comment: CommentRecord): Promise<void> {
    const threadId = comment.parentId ?? comment.id;
    const work: [string, Promise<void>][] = [
      [
        'comment.created',
        jobs.publish('webhook-event', {
          event: 'comment.created',
          documentId: comment.documentId,
          data: { commentId: comment.id, threadId, author: { id: comment.authorId, name: comment.authorName } },
        }),
      ],
    ];
    if (parseMentions(comment.body).length > 0) work.push(['notify-mentions', jobs.publish('notify-mentions', { commentId: comment.id })]);
    const results = await Promise.allSettled(work.map(([, promise]) => promise));
    results.forEach((result, index) => {
      if (result.status === 'rejected') {
        logger.warn({ err: result.reason, job: work[index]![0], commentId: comment.id }, 'could not enqueue background work for a comment');
      }
    });
  }

  async function threadView(thread: CommentRecord, current: Current): Promise<ThreadView> {
    const replies = await store.replies(thread.id);
    return { ...viewOf(thread, current), replies: replies.map((reply) => viewOf(reply, current)) };
  }

  return {
    async list(documentId, { resolved }) {
      const current = await currentDoc(documents, documentId);
      try {
        const comments = await store.ofDocument(documentId);
        const threads = comments
          .filter((comment) => comment.parentId === null)
          .filter((thread) => resolved === undefined || (thread.resolvedAt !== null) === resolved);
        const repliesOf = new Map<string, CommentView[]>();
        for (const comment of comments) {
          if (comment.parentId === null) continue;
          repliesOf.set(comment.parentId, [...(repliesOf.get(comment.parentId) ?? []), viewOf(comment, null)]);
        }
        return {
          version: current.version,
          threads: threads.map((thread) => ({ ...viewOf(thread, current), replies: repliesOf.get(thread.id) ?? [] })),
        };
      } finally {
        current.doc.destroy();
      }
    },

    async create(documentId, input, author) {
      if (input.anchor !== undefined && input.parentId !== undefined) {
        throw new AppError('VALIDATION_FAILED', 'A reply has no anchor: give either parentId or anchor', {
          details: [{ path: '/anchor', message: 'must be absent when parentId is given' }],
        });
      }
      const base = { id: randomUUID(), documentId, authorId: author.userId, authorName: await nameOf(author), body: input.body };
      let comment: CommentRecord;
      let view: CommentView;
      if (input.parentId !== undefined) {
        const parent = await findOn(documentId, input.parentId);
        await documents.describe(documentId); // a deleted document takes no new comments
        // Threads are one level deep: a reply to a reply joins the same thread.
        comment = await store.create({ ...base, parentId: parent.parentId ?? parent.id, anchorStart: null, anchorEnd: null, quote: '' });
        view = viewOf(comment, null);
      } else {
        const current = await currentDoc(documents, documentId);
        try {
          const range = input.anchor === undefined ? null : rangeOf(current.content, input.anchor);
          const anchor = range && createAnchor(current.map, range);
          comment = await store.create({
            ...base,
            parentId: null,
            anchorStart: anchor?.start ?? null,
            anchorEnd: anchor?.end ?? null,
            quote: range ? current.content.slice(range.from, range.to) : '',
          });
          view = viewOf(comment, current);
        } finally {
          current.doc.destroy();
        }
      }
      await announce(comment);
      return view;
    },

    async setResolved(documentId, commentId, resolved) {
      const comment = await findOn(documentId, commentId);
      const current = await currentDoc(documents, documentId);
      try {
        const thread = await store.setResolved(comment.parentId ?? comment.id, resolved);
        if (!thread) throw new AppError('COMMENT_NOT_FOUND', `Document ${documentId} has no comment ${commentId}`);
        return await threadView(thread, current);
      } finally {
        current.doc.destroy();
      }
    },

    async remove(documentId, commentId, actor) {
      const comment = await findOn(documentId, commentId);
      await documents.describe(documentId);
      const isAuthor = comment.authorId !== null && comment.authorId === actor.userId;
      if (!isAuthor && !actor.isAdmin) {
        throw new AppError('FORBIDDEN', 'Only its author or an administrator of the document may delete a comment');
      }
      if (!(await store.remove(comment.id))) throw new AppError('COMMENT_NOT_FOUND', `Document ${documentId} has no comment ${commentId}`);
    },
  };
}
