import Type from 'typebox';

/** TypeBox schemas of the comment and notification routes. */

export const CommentParams = Type.Object({
  id: Type.String({ description: 'Document id' }),
  commentId: Type.String({ minLength: 1, maxLength: 200 }),
});

const Offset = (description: string) => Type.Integer({ minimum: 0, description });

export const AnchorBody = Type.Union(
  [
    Type.Object(
      {
        from: Offset('First anchored character (UTF-16 offset into the current content)'),
        to: Offset('One past the last anchored character; greater than `from`'),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      { quote: Type.String({ minLength: 1, maxLength: 10_000, description: 'The exact text to anchor to (its first occurrence)' }) },
      { additionalProperties: false },
    ),
  ],
  { description: 'The text the thread is about, as it is now; it follows the words through later edits' },
);

export const CreateCommentBody = Type.Object(
  {
    body: Type.String({ minLength: 1, maxLength: 10_000, pattern: '\\S', description: 'The comment; "@<email>" mentions a user' }),
    anchor: Type.Optional(AnchorBody),
    parentId: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Reply to this thread (replies have no anchor)' })),
  },
  { additionalProperties: false },
);

export const CommentsQuery = Type.Object({
  resolved: Type.Optional(Type.Boolean({ description: 'Only resolved threads (true) or only open ones (false)' })),
});

const ResolvedAnchor = Type.Object({
  from: Type.Integer(),
  to: Type.Integer(),
  text: Type.String({ description: 'The anchored text now' }),
});

const CommentFields = {
  id: Type.String(),
  documentId: Type.String(),
  threadId: Type.String({ description: 'The thread: its own id for a thread, its thread\'s for a reply' }),
  parentId: Type.Union([Type.String(), Type.Null()]),
  author: Type.Object({ id: Type.Union([Type.String(), Type.Null()], { description: 'The user; null for a document key' }), name: Type.String() }),
  body: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  resolvedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  quote: Type.String({ description: 'The anchored text when the thread was started' }),
  anchor: Type.Union([ResolvedAnchor, Type.Null()], {
    description: 'Where the anchored text is in the current version; null when not anchored or detached',
  }),
  detached: Type.Boolean({ description: 'The anchored text has been deleted' }),
};

export const CommentView = Type.Object(CommentFields);

export const ThreadView = Type.Object({ ...CommentFields, replies: Type.Array(CommentView) });

export const CommentList = Type.Object({
  version: Type.Integer({ description: 'The document version the anchors were resolved against' }),
  threads: Type.Array(ThreadView),
});

export const NotificationParams = Type.Object({ notificationId: Type.String({ minLength: 1, maxLength: 200 }) });

export const NotificationsQuery = Type.Object({
  unread: Type.Optional(Type.Boolean({ description: 'Only unread ones' })),
  cursor: Type.Optional(Type.String()),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
});

export const NotificationView = Type.Object({
  id: Type.String(),
  kind: Type.String({ description: "'mention' (a comment names you) or 'document.expiring'" }),
  documentId: Type.Union([Type.String(), Type.Null()]),
  commentId: Type.Union([Type.String(), Type.Null()]),
  data: Type.Record(Type.String(), Type.Unknown(), { description: 'mention: threadId, author, excerpt; document.expiring: expiresAt' }),
  readAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
});

export const NotificationList = Type.Object({
  notifications: Type.Array(NotificationView),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
  unreadCount: Type.Integer(),
});
