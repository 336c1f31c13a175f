import Type, { type Static } from 'typebox';
import { MAX_EDITS, requireEditCount } from '../../docs/text-edits.ts';
import { DOCUMENT_FORMATS } from '../../formats/ports.ts';

const Format = Type.Union(
  [Type.Literal(DOCUMENT_FORMATS[0]), Type.Literal(DOCUMENT_FORMATS[1])],
  { description: "markdown: a Y.Text 'content' (CodeMirror); prosemirror: a Y.XmlFragment 'default' (Tiptap). Read and written as markdown either way" },
);

/** TypeBox schemas shared by the REST routes; the OpenAPI document is generated from them. */

export const DocumentIdParams = Type.Object({
  id: Type.String({ description: 'Document id: 1-128 characters of A-Z a-z 0-9 . _ -' }),
});

export const VersionParams = Type.Object({
  id: Type.String(),
  version: Type.Integer({ minimum: 0, description: 'An op-log seq' }),
});

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
    code: Type.String(),
    requestId: Type.String(),
    details: Type.Optional(Type.Unknown()),
  },
  { description: 'application/problem+json (RFC 9457)' },
);

export const DocumentMeta = Type.Object({
  id: Type.String(),
  title: Type.String(),
  format: Format,
  version: Type.Integer({ description: 'The op-log seq of the last update the document contains' }),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

export const CreatedDocument = Type.Intersect([
  DocumentMeta,
  Type.Object({
    links: Type.Object({ self: Type.String(), markdown: Type.String(), websocket: Type.String() }),
    readKey: Type.Union([Type.String(), Type.Null()], {
      description: 'tdk_ key that reads the document (REST and sockets); shown only on creation (null when a retried create is replayed)',
    }),
    writeKey: Type.Union([Type.String(), Type.Null()], {
      description: 'tdk_ key that reads and writes the document; shown only on creation (null when replayed)',
    }),
  }),
]);

export const DocumentWithContent = Type.Intersect([DocumentMeta, Type.Object({ content: Type.String() })]);

export const WriteResult = Type.Object({
  id: Type.String(),
  version: Type.Integer({ description: 'The version holding the change (the current one if it changed nothing)' }),
  changed: Type.Boolean(),
});

const Text = (description: string) => Type.String({ description });
/** One line of markdown: it is parsed as markdown for every edit that names it, so it is kept short. */
const Heading = Type.String({ maxLength: 1000, description: 'e.g. "## Tasks"' });

export const TextEdit = Type.Union([
  Type.Object(
    { find: Type.String({ minLength: 1 }), replace: Type.String(), all: Type.Optional(Type.Boolean()) },
    { additionalProperties: false, description: 'Replace the one occurrence of `find` (every one with `all`)' },
  ),
  Type.Object({ append: Text('Added at the end of the document') }, { additionalProperties: false }),
  Type.Object({ prepend: Text('Added at the start of the document') }, { additionalProperties: false }),
  Type.Object(
    { heading: Heading, append: Text('Added at the end of that section') },
    { additionalProperties: false },
  ),
  Type.Object(
    { heading: Heading, replace: Text("The section's new body") },
    { additionalProperties: false },
  ),
]);

const Base = Type.Optional(
  Type.Integer({ minimum: 0, description: 'The version the change was made against (or the Base-Version header)' }),
);

export const PatchBody = Type.Object(
  // More than MAX_EDITS is answered 413 TOO_MANY_EDITS before this schema runs (document-routes.ts); maxItems documents it.
  { base: Base, edits: Type.Array(TextEdit, { minItems: 1, maxItems: MAX_EDITS }) },
  { additionalProperties: false },
);

/** What PATCH (and a suggestion) takes: JSON edits, or a unified diff as text. */
export const PatchBodies = {
  content: {
    'application/json': { schema: PatchBody },
    'text/x-diff': { schema: Type.String({ description: 'A unified diff of one file' }) },
    'text/plain': { schema: Type.String({ description: 'A unified diff of one file' }) },
  },
};

/** A PATCH body as the handler has it: the change, and the base the JSON gave. */
export function changeOfPatchBody(body: unknown): { change: { diff: string } | { edits: Static<typeof PatchBody>['edits'] }; base: number | undefined } {
  const patch = body as string | Static<typeof PatchBody>;
  return typeof patch === 'string' ? { change: { diff: patch }, base: undefined } : { change: { edits: patch.edits }, base: patch.base };
}

/**
 * Counts the edits before the schema runs: validating (and reporting on) 20,000 edits is work
 * the answer, 413 TOO_MANY_EDITS, does not need.
 */
export async function editsCountedFirst(request: { body: unknown }): Promise<void> {
  const edits = (request.body as { edits?: unknown } | null)?.edits;
  if (Array.isArray(edits)) requireEditCount(edits.length);
}

export const PutBody = Type.Object({ content: Type.String(), base: Base }, { additionalProperties: false });

export const CreateBody = Type.Object(
  {
    id: Type.Optional(Type.String({ description: 'Chosen by the client; generated when absent' })),
    title: Type.Optional(Type.String({ maxLength: 200 })),
    content: Type.Optional(Type.String({ description: 'Initial markdown' })),
    format: Type.Optional(Format),
    workspaceId: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: "The workspace it belongs to; default: the caller's own" })),
  },
  { additionalProperties: false },
);

export const WriteHeaders = Type.Object({
  'base-version': Type.Optional(Type.String({ pattern: '^\\d{1,9}$', description: 'The version the change was made against' })),
  'if-match': Type.Optional(Type.String({ description: 'Strict: "<version>"; 412 when the document moved' })),
  'idempotency-key': Type.Optional(
    Type.String({ minLength: 1, maxLength: 255, description: 'A retried request with the same key applies once' }),
  ),
});

export const PageQuery = Type.Object({
  cursor: Type.Optional(Type.String()),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
});

/** Who wrote something (docs/authors.ts). */
export const Author = Type.Object(
  {
    kind: Type.Union([Type.Literal('user'), Type.Literal('agent'), Type.Literal('link'), Type.Literal('key')]),
    id: Type.String({ description: 'user:<id>, key:<id>, link:<document id>, or agent:<name>@<the credential\'s id>; what revert takes' }),
    name: Type.String(),
  },
  { description: 'Who wrote it' },
);
