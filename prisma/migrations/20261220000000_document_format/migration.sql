-- Rich-text documents: 'markdown' (the content is the Y.Text "content", as every document
-- until now) or 'prosemirror' (the Y.XmlFragment "default" that Tiptap edits).
ALTER TABLE "documents" ADD COLUMN "format" TEXT NOT NULL DEFAULT 'markdown';
