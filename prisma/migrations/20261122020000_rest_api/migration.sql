-- The agents' REST API: who wrote each update, idempotent writes, named versions, and a
-- commit-ordered change clock for the change feed (GET /v1/sync).

-- Who wrote an update: 'user' (a WebSocket client) or 'agent' (REST).
ALTER TABLE "document_updates" ADD COLUMN "author_kind" TEXT NOT NULL DEFAULT 'user';
-- A write's Idempotency-Key commits with the update itself, so "applied once" survives a crash.
ALTER TABLE "document_updates" ADD COLUMN "idempotency_key" TEXT;
CREATE INDEX "document_updates_idempotency_key_idx" ON "document_updates" ("document_id", "idempotency_key")
    WHERE "idempotency_key" IS NOT NULL;

-- change_seq: the change clock's value when the document last changed (content, creation,
-- deletion). The clock is one row that every changing transaction bumps just before it
-- commits; the row lock makes clock order equal commit order, so a feed reader that has seen
-- clock value c never later meets a change with a smaller value.
ALTER TABLE "documents" ADD COLUMN "change_seq" BIGINT NOT NULL DEFAULT 0;
ALTER TABLE "documents" ADD COLUMN "create_idempotency_key" TEXT;
CREATE UNIQUE INDEX "documents_create_idempotency_key_key" ON "documents" ("create_idempotency_key");
CREATE INDEX "documents_change_seq_id_idx" ON "documents" ("change_seq", "id");

CREATE TABLE "change_clock" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "value" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "change_clock_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "change_clock_single_row" CHECK ("id" = 1)
);
INSERT INTO "change_clock" ("id", "value") VALUES (1, 0);

-- Named versions: a name for an op-log seq (compaction keeps what they need).
CREATE TABLE "document_versions" (
    "document_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "document_versions_pkey" PRIMARY KEY ("document_id", "name")
);
ALTER TABLE "document_versions" ADD CONSTRAINT "document_versions_document_id_fkey" FOREIGN KEY ("document_id") REFERENCES "documents"("id") ON DELETE CASCADE ON UPDATE CASCADE;
