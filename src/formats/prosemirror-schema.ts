import { getSchema } from '@tiptap/core';
import Image from '@tiptap/extension-image';
import { TaskItem, TaskList } from '@tiptap/extension-list';
import StarterKit from '@tiptap/starter-kit';
import type { Schema } from 'prosemirror-model';

/**
 * The extensions whose schema rich-text documents use (INTERFACE.md, "Rich-text documents"):
 * Tiptap's StarterKit with images and task lists, the same list the web editor runs
 * (web/src/editor/tiptap.ts imports it), so that the server and the editor agree on every
 * node, mark and attribute.
 * - Underline is left out: markdown has no way to write it.
 * - Images are inline, as in markdown (`![alt](src)` sits in a paragraph); Tiptap's default
 *   block image could not hold a paragraph with an image in it.
 */
export const RICH_TEXT_EXTENSIONS = [
  // undoRedo: Tiptap's own history would undo other people's changes; the web editor takes
  // Collaboration's undo, which undoes only this person's. (Neither changes the schema.)
  StarterKit.configure({ underline: false, undoRedo: false }),
  Image.configure({ inline: true }),
  TaskList,
  TaskItem.configure({ nested: true }),
];

/** The Y.XmlFragment Tiptap's Collaboration extension (and y-prosemirror) keep the document in. */
export const FRAGMENT = 'default';

export function richTextSchema(): Schema {
  return getSchema(RICH_TEXT_EXTENSIONS);
}
