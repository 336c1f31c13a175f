import DOMPurify from 'dompurify';
import MarkdownIt from 'markdown-it';
import type * as Y from 'yjs';

// Raw HTML in a document is shown as text; DOMPurify is the second line, for whatever the
// renderer or a future plugin lets through.
const renderer = new MarkdownIt({ html: false, linkify: true, typographer: true });

DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  // Links in a document lead away from the editor: a new tab, and no window.opener for it.
  if (node.tagName === 'A') {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer');
  }
});

export function renderMarkdown(markdown: string): string {
  return DOMPurify.sanitize(renderer.render(markdown));
}

/** Keeps `element` showing the rendered text, at most once per frame however fast it changes. */
export function attachPreview(text: Y.Text, element: HTMLElement): void {
  let scheduled = false;
  const render = () => {
    scheduled = false;
    element.innerHTML = renderMarkdown(text.toString());
  };
  text.observe(() => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(render);
  });
  render();
}
