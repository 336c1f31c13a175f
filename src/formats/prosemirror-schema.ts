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

const isText = (value: unknown) => typeof value === 'string';
const isTextOrNone = (value: unknown) => value === null || typeof value === 'string';

/**
 * The attributes markdown writes, by node or mark, with the values it can write: an element
 * whose value is out of range does not fit the document (a heading of level 9 has no
 * markdown), and is left as it is. Other attributes (an image's width, a link's target) have
 * no markdown at all.
 */
export const MARKDOWN_ATTRIBUTES: Readonly<Record<string, Readonly<Record<string, (value: unknown) => boolean>>>> = {
  heading: { level: (value) => Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 6 },
  orderedList: { start: (value) => Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 999_999_999 },
  taskItem: { checked: (value) => typeof value === 'boolean' },
  codeBlock: { language: (value) => value === null || (typeof value === 'string' && !/[\r\n]/.test(value)) },
  image: { src: isText, alt: isTextOrNone, title: isTextOrNone },
  link: { href: isText, title: isTextOrNone },
};
