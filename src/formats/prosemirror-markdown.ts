import MarkdownIt, { type MarkdownIt as Tokenizer, type Token } from 'markdown-it';
import { defaultMarkdownSerializer, MarkdownParser, MarkdownSerializer, MarkdownSerializerState } from 'prosemirror-markdown';
import type { Node as ProseMirrorNode, Schema } from 'prosemirror-model';
import { AppError } from '../errors.ts';

/**
 * Markdown ⇄ ProseMirror documents of the rich-text schema (prosemirror-schema.ts), with
 * prosemirror-markdown on markdown-it (CommonMark plus strikethrough). What the schema cannot
 * hold is refused with UNSUPPORTED_MARKDOWN naming it, never dropped: prosemirror-markdown
 * leaves out any node that does not fit where it stands, so the parse is checked both before
 * (constructs with no node) and after (every block the tokens opened is in the document).
 */

const TASK_MARKER = /^\[([ xX])\] /;

/**
 * GFM task items (`- [ ] todo`, `- [x] done`), which markdown-it does not know: in a bullet
 * list, each run of items that start so becomes a task list of task items with `checked`.
 * The schema keeps task items and plain items in lists of their own, so a list that mixes
 * them is split where the kind changes (it comes back as two lists with different markers).
 */
function taskLists(md: Tokenizer): void {
  md.core.ruler.after('inline', 'tandem_task_lists', (state) => {
    const tokens = state.tokens;
    // One pass that copies the tokens, splitting lists as it goes (the open bullet lists, innermost last).
    const lists: { open: Token; level: number; run: 'task' | 'plain' | null; opened: boolean }[] = [];
    const out: Token[] = [];
    const runToken = (list: (typeof lists)[number], nesting: 1 | -1, reuse?: Token) => {
      const token = reuse ?? listToken(state, list.open, nesting);
      token.type = `${list.run === 'task' ? 'task' : 'bullet'}_list_${nesting === 1 ? 'open' : 'close'}`;
      return token;
    };
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i]!;
      const list = lists.at(-1);
      if (token.type === 'bullet_list_open') {
        lists.push({ open: token, level: token.level, run: null, opened: false });
        continue; // emitted with its first item, once that item's kind is known
      }
      if (list && token.level === list.level + 1 && token.type === 'list_item_open') {
        // An item's first child is its paragraph (a paragraph_open, then its inline content).
        const inline = tokens[i + 1]?.type === 'paragraph_open' ? tokens[i + 2] : undefined;
        const marker = inline?.type === 'inline' ? TASK_MARKER.exec(inline.content) : null;
        const kind = marker ? 'task' : 'plain';
        if (list.run !== kind) {
          if (list.run !== null) out.push(runToken(list, -1));
          list.run = kind;
          out.push(runToken(list, 1, list.opened ? undefined : list.open));
          list.opened = true;
        }
        if (marker) {
          token.type = 'task_item_open';
          token.attrSet('checked', marker[1] === ' ' ? 'false' : 'true');
          // Parsed again without the marker: "[x]" could also have been read as a link to a
          // reference definition elsewhere in the document.
          inline!.content = inline!.content.slice(marker[0].length);
          inline!.children = [];
          state.md.inline.parse(inline!.content, state.md, state.env, inline!.children);
        }
      } else if (list && token.level === list.level + 1 && token.type === 'list_item_close') {
        if (list.run === 'task') token.type = 'task_item_close';
      } else if (list && token.level === list.level && token.type === 'bullet_list_close') {
        lists.pop();
        out.push(runToken(list, -1, token));
        continue;
      }
      out.push(token);
    }
    state.tokens = out;
  });
}

/** A new open or close token for a list like `like` (its level, position and markup). */
function listToken(state: { Token: new (type: string, tag: string, nesting: -1 | 0 | 1) => Token }, like: Token, nesting: 1 | -1): Token {
  const token = new state.Token(like.type, 'ul', nesting);
  token.level = like.level;
  token.markup = like.markup;
  token.map = like.map;
  token.block = true;
  return token;
}

/**
 * A line break inside a paragraph stays a line break: prosemirror-markdown would make it a
 * space, so that every wrapped paragraph an agent wrote would come back joined into one line.
 * The editor shows it as a break, as the markdown source does.
 */
function softBreaksAsText(md: Tokenizer): void {
  md.core.ruler.push('tandem_soft_breaks', (state) => {
    state.tokens.forEach((token, index) => {
      // A heading is one line in markdown (a setext heading's lines are joined by spaces).
      const inHeading = state.tokens[index - 1]?.type === 'heading_open';
      for (const child of token.children ?? []) {
        if (child.type !== 'softbreak') continue;
        child.type = 'text';
        child.content = inHeading ? ' ' : '\n';
      }
    });
  });
}

/** Token types with no node in the schema, and how a person would name them. */
const UNSUPPORTED_TOKENS: Record<string, string> = {
  table_open: 'a table',
  html_block: 'an HTML block',
  html_inline: 'inline HTML',
};

function unsupported(construct: string, line?: number): never {
  const where = line === undefined ? '' : ` (line ${line + 1})`;
  throw new AppError('UNSUPPORTED_MARKDOWN', `A rich-text document cannot hold ${construct}${where}; write it another way or use a markdown document`);
}

/** How deep markdown-it nests blocks before it stops reading them (its CommonMark preset: 20). */
const MAX_NESTING = 50;

/** Marks an inline token may be inside of, by the token that opens them. */
const OUTER_MARKS: Record<string, string> = { strong_open: 'bold', em_open: 'italic', s_open: 'strikethrough', link_open: 'a link' };

/**
 * Inline content the schema would change: Tiptap's code mark carries no other mark (bold or a
 * link around `code` would be dropped), and the fragment keeps no marks on images (a badge
 * `[![alt](src)](href)` would lose its link).
 */
function checkInline(tokens: readonly Token[], line: number | undefined): void {
  const open: string[] = [];
  for (const token of tokens) {
    if (OUTER_MARKS[token.type]) open.push(OUTER_MARKS[token.type]!);
    else if (token.type.endsWith('_close') && OUTER_MARKS[token.type.replace('_close', '_open')]) open.pop();
    else if (open.length > 0 && token.type === 'code_inline') unsupported(`code inside ${open.at(-1)} (rich text keeps no other mark on code)`, line);
    else if (open.length > 0 && token.type === 'image') unsupported(`an image inside ${open.at(-1)} (rich text keeps no marks on images)`, line);
  }
}

/** What the schema has no node for, nests deeper than markdown-it reads, or holds only in some places (list items start with a paragraph). */
function checkTokens(tokens: readonly Token[]): void {
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    const name = UNSUPPORTED_TOKENS[token.type];
    if (name) unsupported(name, token.map?.[0]);
    // markdown-it leaves out what is nested deeper than it reads, without a word.
    if (token.level >= MAX_NESTING - 2) unsupported(`blocks nested more than ${MAX_NESTING - 3} deep`, token.map?.[0]);
    if (token.children) checkTokens(token.children);
    if (token.type === 'inline') checkInline(token.children ?? [], token.map?.[0]);
    if ((token.type === 'list_item_open' || token.type === 'task_item_open') && tokens[i + 1]?.type !== 'paragraph_open' && tokens[i + 1]?.type !== token.type.replace('_open', '_close')) {
      unsupported(`a list item that starts with something other than text (${tokens[i + 1]?.type.replace(/_open$/, '')})`, token.map?.[0]);
    }
  }
}

/** The node each block token opens (or is), to check that the parse kept them all. */
const BLOCK_NODES: Record<string, string> = {
  paragraph_open: 'paragraph',
  heading_open: 'heading',
  blockquote_open: 'blockquote',
  bullet_list_open: 'bulletList',
  ordered_list_open: 'orderedList',
  list_item_open: 'listItem',
  task_list_open: 'taskList',
  task_item_open: 'taskItem',
  fence: 'codeBlock',
  code_block: 'codeBlock',
  hr: 'horizontalRule',
};

/** What checkedTokens leaves in the markdown-it environment: how many of each block the tokens open. */
interface CheckedEnv {
  blocks?: Map<string, number>;
}

/** Refuses what the schema cannot hold (checkTokens) and counts the blocks, once the tokens are final. */
function checkedTokens(md: Tokenizer): void {
  md.core.ruler.push('tandem_checks', (state) => {
    checkTokens(state.tokens);
    (state.env as CheckedEnv).blocks = countTokens(state.tokens);
  });
}

function countTokens(tokens: readonly Token[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const token of tokens) {
    const node = BLOCK_NODES[token.type];
    if (node) counts.set(node, (counts.get(node) ?? 0) + 1);
  }
  return counts;
}

function countNodes(doc: ProseMirrorNode): Map<string, number> {
  const counts = new Map<string, number>();
  doc.descendants((node) => {
    counts.set(node.type.name, (counts.get(node.type.name) ?? 0) + 1);
  });
  return counts;
}

/** An image's alt text: its label without markup, as markdown-it renders it into `alt`. */
function plainText(tokens: readonly { type: string; content: string; children: unknown }[]): string {
  return tokens.map((token) => (token.type === 'image' ? plainText((token.children ?? []) as typeof tokens) : token.content)).join('');
}

type SerializerOptions = ConstructorParameters<typeof MarkdownSerializer>[2];
/** prosemirror-markdown exports the state class but types its constructor as internal. */
const SerializerState = MarkdownSerializerState as unknown as new (
  nodes: MarkdownSerializer['nodes'],
  marks: MarkdownSerializer['marks'],
  options: SerializerOptions & { tightLists?: boolean },
) => MarkdownSerializerState;

/** How much of the output the serializer sees: it never looks back more than two characters. */
const VISIBLE_TAIL = 256;

/**
 * prosemirror-markdown appends to one string, `out`, and looks at its last character after
 * every block; reading a character of a string built by appending makes V8 flatten (copy) all
 * of it, so serializing took time quadratic in the document's size (800 KB: 10 s, measured;
 * MAX_DOCUMENT_BYTES is 8 MiB). Here `out` shows the serializer only the end of what was
 * written, and what scrolls out of it is kept in pieces that are joined once, at the end.
 */
function chunkedOutput(state: MarkdownSerializerState): { text(): string; length(): number } {
  const pieces: string[] = [];
  let scrolled = 0;
  let tail = '';
  Object.defineProperty(state, 'out', {
    get: () => tail,
    // Whatever the serializer sets is the tail it was shown, appended to or with its end changed.
    set: (value: string) => {
      tail = value;
      if (tail.length > 2 * VISIBLE_TAIL) {
        const piece = tail.slice(0, tail.length - VISIBLE_TAIL);
        pieces.push(piece);
        scrolled += piece.length;
        tail = tail.slice(tail.length - VISIBLE_TAIL);
      }
    },
  });
  return { text: () => pieces.join('') + tail, length: () => scrolled + tail.length };
}

/** Lists whose markers are alike: a bullet list and a task list in a row would merge too. */
const LIST_MARKERS: Record<string, string> = { bulletList: 'bullet', taskList: 'bullet', orderedList: 'ordered' };

/**
 * A document's markdown, and where each of its nodes is in it: from just after the node
 * before it ends (a node's range starts with the blank line or list marker that separates it)
 * to where the node itself ends. A node that writes nothing (an empty paragraph) has an empty range.
 */
export interface Rendered {
  text: string;
  ranges: Map<ProseMirrorNode, readonly [start: number, end: number]>;
}

export interface RichTextMarkdown {
  /**
   * The document the markdown describes, and its own rendering (what `serialize` writes for
   * it, which a document read back reads as); UNSUPPORTED_MARKDOWN when the schema cannot
   * hold all of it.
   */
  parse(markdown: string): { doc: ProseMirrorNode; rendered: Rendered };
  serialize(doc: ProseMirrorNode): Rendered;
}

export function richTextMarkdown(schema: Schema): RichTextMarkdown {
  // CommonMark with strikethrough (~~), which the schema has a mark for; tables and HTML are
  // recognised only to be refused.
  const tokenizer = MarkdownIt('commonmark', { html: true, ...({ maxNesting: MAX_NESTING } as object) }).enable(['strikethrough', 'table']).use(taskLists).use(softBreaksAsText).use(checkedTokens);
  const parser = new MarkdownParser(schema, tokenizer, {
    blockquote: { block: 'blockquote' },
    paragraph: { block: 'paragraph' },
    list_item: { block: 'listItem' },
    bullet_list: { block: 'bulletList' },
    // markdown-it leaves `start` out when it is 1; a list may start at 0.
    ordered_list: { block: 'orderedList', getAttrs: (token) => ({ start: token.attrGet('start') === null ? 1 : Number(token.attrGet('start')) }) },
    task_list: { block: 'taskList' },
    task_item: { block: 'taskItem', getAttrs: (token) => ({ checked: token.attrGet('checked') === 'true' }) },
    heading: { block: 'heading', getAttrs: (token) => ({ level: Number(token.tag.slice(1)) }) },
    code_block: { block: 'codeBlock', noCloseToken: true },
    fence: { block: 'codeBlock', getAttrs: (token) => ({ language: token.info.trim() || null }), noCloseToken: true },
    hr: { node: 'horizontalRule' },
    image: {
      node: 'image',
      getAttrs: (token) => ({ src: token.attrGet('src'), title: token.attrGet('title') || null, alt: plainText(token.children ?? []) || null }),
    },
    hardbreak: { node: 'hardBreak' },
    em: { mark: 'italic' },
    strong: { mark: 'bold' },
    s: { mark: 'strike' },
    link: { mark: 'link', getAttrs: (token) => ({ href: token.attrGet('href'), title: token.attrGet('title') || null }) },
    code_inline: { mark: 'code', noCloseToken: true },
  });

  /** Where the nodes of the document being serialized start and end in the output (Rendered.ranges). */
  let recording: { output: { length(): number }; ranges: Rendered['ranges'] } | null = null;
  type NodeSerializer = MarkdownSerializer['nodes'][string];
  const recorded = (write: NodeSerializer): NodeSerializer => (state, node, parent, index) => {
    const start = recording!.output.length();
    write(state, node, parent, index);
    recording!.ranges.set(node, [start, recording!.output.length()]);
  };
  const nodes = defaultMarkdownSerializer.nodes;
  // Two lists in a row are one list in CommonMark unless their markers differ: every other one
  // of a run of lists of a kind takes the other marker.
  const kindOf = (node: ProseMirrorNode) => LIST_MARKERS[node.type.name] ?? node.type.name;
  const alternate = (state: MarkdownSerializerState, node: ProseMirrorNode, parent: ProseMirrorNode, index: number) => {
    let run = 0;
    while (index - run > 0 && kindOf(parent.child(index - run - 1)) === kindOf(node)) run += 1;
    // One blank line before it, as between any two blocks (renderList would write two after a
    // list of the same type, which CommonMark does not need once the markers differ).
    if (run > 0) state.write();
    return run % 2 === 1;
  };
  const bullets = (state: MarkdownSerializerState, node: ProseMirrorNode, parent: ProseMirrorNode, index: number) => {
    const bullet = alternate(state, node, parent, index) ? '* ' : '- ';
    state.renderList(node, '  ', () => bullet);
  };
  const serializer = new MarkdownSerializer(
    Object.fromEntries(Object.entries({
      blockquote: nodes.blockquote!,
      paragraph: nodes.paragraph!,
      heading: (state, node) => {
        state.write(`${'#'.repeat(node.attrs.level as number)} `);
        state.renderInline(node, false);
        // A run of # at the end would read as the heading's closing sequence. (`out`, the text
        // so far, is not in prosemirror-markdown's typings, but is what every node writes to;
        // touched only when needed, since reading it flattens the whole output string.)
        if (node.textContent.endsWith('#')) {
          const written = state as unknown as { out: string };
          written.out = written.out.replace(/(#+)$/, '\\$1');
        }
        state.closeBlock(node);
      },
      horizontalRule: (state, node) => {
        state.write('---');
        state.closeBlock(node);
      },
      codeBlock: (state, node) => {
        // A fence longer than any run of backticks in the code.
        const language = (node.attrs.language as string | null) ?? '';
        // A backtick fence cannot carry backticks in its info string; a tilde fence can.
        const mark = language.includes('`') ? '~' : '`';
        const runs = node.textContent.match(mark === '`' ? /`{3,}/g : /~{3,}/g) ?? [];
        const fence = mark.repeat(Math.max(3, ...runs.map((run) => run.length + 1)));
        state.write(`${fence}${language}\n`);
        if (node.textContent) {
          state.text(node.textContent, false);
          // A newline of its own, even after code that ends with one (a blank last line).
          state.write('\n');
        }
        state.write(fence);
        state.closeBlock(node);
      },
      bulletList: bullets,
      orderedList: (state, node, parent, index) => {
        const start = (node.attrs.start as number | null) ?? 1;
        const width = String(start + node.childCount - 1).length;
        const delimiter = alternate(state, node, parent, index) ? ')' : '.';
        state.renderList(node, ' '.repeat(width + 2), (item) => `${String(start + item).padStart(width)}${delimiter} `);
      },
      listItem: nodes.list_item!,
      taskList: bullets,
      taskItem: (state, node) => {
        state.write(node.attrs.checked ? '[x] ' : '[ ] ');
        state.renderContent(node);
      },
      image: nodes.image!,
      hardBreak: nodes.hard_break!,
      text: nodes.text!,
    } satisfies MarkdownSerializer['nodes']).map(([name, write]) => [name, name === 'text' ? write : recorded(write)])),
    {
      italic: { open: '*', close: '*', mixable: true, expelEnclosingWhitespace: true },
      bold: { open: '**', close: '**', mixable: true, expelEnclosingWhitespace: true },
      strike: { open: '~~', close: '~~', mixable: true, expelEnclosingWhitespace: true },
      link: defaultMarkdownSerializer.marks.link!,
      code: defaultMarkdownSerializer.marks.code!,
    },
    // What would start an entity (&amp;) or an HTML tag (<b>) in text: escaped, so that it reads back as text.
    { escapeExtraCharacters: /&(?=#?\w+;)|<(?=[A-Za-z/!?])/g },
  );
  // Lists come out tight (no blank line between items): the schema does not keep which a list was.
  const serialize = (doc: ProseMirrorNode): Rendered => {
    // MarkdownSerializer.serialize, but with the output kept in pieces (chunkedOutput).
    const state = new SerializerState(serializer.nodes, serializer.marks, { ...serializer.options, tightLists: true });
    const output = chunkedOutput(state);
    const ranges: Rendered['ranges'] = new Map();
    recording = { output, ranges };
    try {
      state.renderContent(doc);
    } finally {
      recording = null;
    }
    return { text: output.text(), ranges };
  };

  return {
    parse(markdown) {
      // The tokens are checked as they are made (checkedTokens), so the text is tokenized once.
      const env: CheckedEnv = {};
      const doc = parser.parse(markdown, env);
      const nodeCounts = countNodes(doc);
      for (const [node, count] of env.blocks!) {
        // createAndFill may add an empty paragraph (an empty list item), never fewer nodes.
        if ((nodeCounts.get(node) ?? 0) < count) unsupported(`a ${node} where the document's schema has no place for it`);
      }
      // What is accepted reads back as it was written: markup the serializer cannot write back
      // (rare overlaps of emphasis and code, characters that stand for line breaks) is refused
      // rather than changed the next time an agent reads and writes the document.
      const rendered = serialize(doc);
      // Markdown written as it renders reads back as itself: only other markdown is parsed again.
      if (rendered.text !== markdown && !parser.parse(rendered.text).eq(doc)) unsupported('markup that would not read back the same once rendered (overlapping emphasis, or a character reference standing for a line break or tab)');
      return { doc, rendered };
    },
    serialize,
  };
}
