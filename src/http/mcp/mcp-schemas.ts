import * as z from 'zod/v4';
import type { TextChange } from '../../docs/text-change.ts';
import { MAX_EDITS, type TextEdit as Edit } from '../../docs/text-edits.ts';
import { AppError } from '../../errors.ts';

/**
 * Input schemas of the MCP tools (zod, as the SDK takes them; it publishes them as JSON
 * Schema). The same shapes as the REST bodies in ../rest/schemas.ts, with snake_case names
 * as MCP tools usually have, and descriptions written for the model that calls them.
 */

export const DocumentId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._-]+$/)
  .describe('The document id, as list_documents, search_documents or create_document give it (1-128 characters of A-Z a-z 0-9 . _ -)');

export const BaseVersion = z
  .number()
  .int()
  .min(0)
  .describe(
    'The version you read (read_document or read_version gave it). Your change is made against the text of that version and ' +
      'merged with everything written since, so nobody else\'s edits are lost. Leave it out only to apply the change to the text as it is now.',
  );

export const IdempotencyKey = z
  .string()
  .min(1)
  .max(255)
  .describe('Optional: any unique string. Retrying a call with the same key applies the change once and returns the first answer.');

const Heading = z.string().min(1).max(1000).describe('A heading as written in the markdown, e.g. "## Tasks" (that level) or "Tasks" (any level)');

export const TextEdit = z.union([
  z
    .strictObject({
      find: z.string().min(1).describe('Exact text that occurs in the document (once, unless `all`)'),
      replace: z.string().describe('What replaces it'),
      all: z.boolean().optional().describe('Replace every occurrence instead of requiring exactly one'),
    })
    .describe('Replace one exact occurrence of `find`'),
  z.strictObject({ append: z.string().describe('Text added at the very end of the document') }),
  z.strictObject({ prepend: z.string().describe('Text added at the very start of the document') }),
  z
    .strictObject({ heading: Heading, append: z.string().describe('Text added as the last lines of that section') })
    .describe('Add to the end of a section (before the next heading of the same or a higher level)'),
  z
    .strictObject({ heading: Heading, replace: z.string().describe("The section's new body (the heading line stays)") })
    .describe("Replace a section's body"),
]);

export const Limit = (max: number, fallback: number) =>
  z.number().int().min(1).max(max).optional().describe(`How many at most (1-${max}, default ${fallback})`);

export const Cursor = z.string().max(1000).optional().describe('The nextCursor of the previous page; leave out for the first page');

/** What patch_document and suggest_edit take: the change, against a version, once. */
export const ChangeInputs = {
  document_id: DocumentId,
  base_version: BaseVersion.optional(),
  // The length is checked before the items: 9,000 bad edits are one problem, not 9,000 in the answer.
  edits: z.array(TextEdit).min(1).max(MAX_EDITS).optional().describe(`The edits, in order (give this or diff; at most ${MAX_EDITS})`),
  diff: z.string().min(1).optional().describe('A unified diff of the markdown (give this or edits)'),
  idempotency_key: IdempotencyKey.optional(),
};

/** The change those inputs give: exactly one of edits and diff. */
export function changeOfInputs(edits: unknown[] | undefined, diff: string | undefined): Exclude<TextChange, { content: string }> {
  if ((edits === undefined) === (diff === undefined)) {
    throw new AppError('VALIDATION_FAILED', 'Give either edits or diff, not both and not neither', {
      details: [{ path: '/edits', message: 'exactly one of edits and diff is required' }],
    });
  }
  return diff !== undefined ? { diff } : { edits: edits as Edit[] };
}
