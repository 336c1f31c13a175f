-- Suggestions: a change proposed against a base version, stored without touching the document
-- until someone with write access accepts it (src/docs/suggestions.ts). "change" is the
-- TextChange as JSON ({ edits } or { diff }); "markdown" the document as it would read once
-- accepted, worked out when it was made. status: open | accepting | accepted | rejected;
-- "accepting" is an accept under way since claimed_at (a claim older than about 30 s is one
-- whose node died, and another accept may take it over).
CREATE TABLE "suggestions" (
  "id" TEXT NOT NULL,
  "document_id" TEXT NOT NULL,
  "base" INTEGER NOT NULL,
  "status" TEXT NOT NULL DEFAULT 'open',
  "change" JSONB NOT NULL,
  "author_kind" TEXT NOT NULL,
  "author_id" TEXT NOT NULL,
  "author_name" TEXT NOT NULL DEFAULT '',
  "markdown" TEXT NOT NULL,
  "idempotency_key" TEXT,
  "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "decided_at" TIMESTAMPTZ(3),
  "decided_by_kind" TEXT,
  "decided_by" TEXT,
  "decided_by_name" TEXT,
  "version" INTEGER,
  "claimed_at" TIMESTAMPTZ(3),
  CONSTRAINT "suggestions_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "suggestions_document_id_fkey" FOREIGN KEY ("document_id") REFERENCES "documents"("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- Listing newest first (all, or of one status) and counting the open ones of a document.
CREATE INDEX "suggestions_document_id_created_at_idx" ON "suggestions"("document_id", "created_at");
CREATE INDEX "suggestions_document_id_status_created_at_idx" ON "suggestions"("document_id", "status", "created_at");
-- A create retried with its Idempotency-Key finds the first one.
CREATE UNIQUE INDEX "suggestions_document_id_idempotency_key_key" ON "suggestions"("document_id", "idempotency_key");
