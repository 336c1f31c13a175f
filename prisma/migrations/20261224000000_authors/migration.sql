-- Authors: every update knows who wrote it (kind, id, and an agent's name), and each Yjs client
-- id seen in a document is mapped to the author who first wrote with it. The map outlives the
-- log rows compaction deletes, so blame still knows who wrote text older than the kept log.
-- author_kind was 'user' (a socket) or 'agent' (REST); rows from before this keep it, with no id.
ALTER TABLE "document_updates" ADD COLUMN "author_id" TEXT NOT NULL DEFAULT '';
ALTER TABLE "document_updates" ADD COLUMN "author_name" TEXT NOT NULL DEFAULT '';

CREATE TABLE "document_clients" (
  "document_id" TEXT NOT NULL,
  "client_id" BIGINT NOT NULL,
  "author_kind" TEXT NOT NULL,
  "author_id" TEXT NOT NULL,
  "author_name" TEXT NOT NULL DEFAULT '',
  "first_seq" INTEGER NOT NULL,
  CONSTRAINT "document_clients_pkey" PRIMARY KEY ("document_id", "client_id"),
  CONSTRAINT "document_clients_document_id_fkey" FOREIGN KEY ("document_id") REFERENCES "documents"("id") ON DELETE CASCADE ON UPDATE CASCADE
);
