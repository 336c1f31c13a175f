import { markdownFormat } from './markdown-format.ts';
import type { ContentFormat, DocumentFormat } from './ports.ts';

let prosemirror: Promise<ContentFormat> | undefined;

/**
 * The format of a document. Rich text loads Tiptap's schema, ProseMirror and y-prosemirror on
 * first use, so that a node that serves only markdown documents never holds them.
 */
export function contentFormat(name: DocumentFormat): Promise<ContentFormat> {
  if (name === 'markdown') return Promise.resolve(markdownFormat);
  prosemirror ??= import('./prosemirror-format.ts').then((module) => module.prosemirrorFormat);
  return prosemirror;
}
