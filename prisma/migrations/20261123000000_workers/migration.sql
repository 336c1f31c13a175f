-- Background work (issue 7): expiry of abandoned documents, threaded comments anchored to
-- text, notifications (mentions, expiry warnings), and webhooks with their deliveries.

-- Expiry: a workspace may keep documents longer (or shorter) than EXPIRE_AFTER_DAYS, and a
-- document remembers when its owners were warned, so the warning goes out once per idle spell.
ALTER TABLE "workspaces" ADD COLUMN "expire_after_days" INTEGER;
ALTER TABLE "documents" ADD COLUMN "expiry_warned_at" TIMESTAMPTZ(3);
-- The expiry sweep walks live documents by last change, and purges deleted ones by deletion time.
CREATE INDEX "documents_live_updated_at_idx" ON "documents" ("updated_at") WHERE "deleted_at" IS NULL;
CREATE INDEX "documents_deleted_at_idx" ON "documents" ("deleted_at") WHERE "deleted_at" IS NOT NULL;
-- Compaction trims the log by age: the raw log is kept for a while after it is written.
CREATE INDEX "document_updates_created_at_idx" ON "document_updates" ("document_id", "created_at");
-- The expiry job also purges spent credentials.
CREATE INDEX "refresh_tokens_expires_at_idx" ON "refresh_tokens" ("expires_at");
CREATE INDEX "socket_tokens_expires_at_idx" ON "socket_tokens" ("expires_at");

-- Comments: a thread is its first comment (anchored to a range of the text by two Yjs relative
-- positions, so the anchor follows the words through edits) and its replies (parent_id).
CREATE TABLE "comments" (
    "id" TEXT NOT NULL,
    "document_id" TEXT NOT NULL,
    "parent_id" TEXT,
    -- the user who wrote it (null for an agent's key), and the name shown for it
    "author_id" TEXT,
    "author_name" TEXT NOT NULL DEFAULT '',
    "body" TEXT NOT NULL,
    "anchor_start" BYTEA,
    "anchor_end" BYTEA,
    -- the anchored text when the thread was started
    "quote" TEXT NOT NULL DEFAULT '',
    "resolved_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "comments_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "comments_document_id_fkey" FOREIGN KEY ("document_id") REFERENCES "documents" ("id") ON DELETE CASCADE,
    CONSTRAINT "comments_parent_id_fkey" FOREIGN KEY ("parent_id") REFERENCES "comments" ("id") ON DELETE CASCADE
);
CREATE INDEX "comments_document_id_created_at_idx" ON "comments" ("document_id", "created_at");
CREATE INDEX "comments_parent_id_idx" ON "comments" ("parent_id");

-- Notifications for a user: kind 'mention' or 'document.expiring'. dedupe_key makes the job that
-- creates them idempotent (a retried job inserts nothing twice).
CREATE TABLE "notifications" (
    "id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "document_id" TEXT,
    "comment_id" TEXT,
    "payload" JSONB NOT NULL DEFAULT '{}',
    "dedupe_key" TEXT NOT NULL,
    "read_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "notifications_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "notifications_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE CASCADE
);
CREATE UNIQUE INDEX "notifications_dedupe_key_key" ON "notifications" ("dedupe_key");
CREATE INDEX "notifications_user_id_created_at_idx" ON "notifications" ("user_id", "created_at");

-- Webhooks of a workspace. The secret signs deliveries, so it is kept as given (shown once,
-- never returned again). After too many failures in a row the hook is disabled.
CREATE TABLE "webhooks" (
    "id" TEXT NOT NULL,
    "workspace_id" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "events" TEXT[] NOT NULL,
    "secret" TEXT NOT NULL,
    "consecutive_failures" INTEGER NOT NULL DEFAULT 0,
    "disabled_at" TIMESTAMPTZ(3),
    "last_status" INTEGER,
    "last_error" TEXT,
    "last_delivery_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "webhooks_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "webhooks_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces" ("id") ON DELETE CASCADE
);
CREATE INDEX "webhooks_workspace_id_idx" ON "webhooks" ("workspace_id");

-- One row per event per hook: status pending → delivered | failed, with the last answer.
CREATE TABLE "webhook_deliveries" (
    "id" TEXT NOT NULL,
    "webhook_id" TEXT NOT NULL,
    "event" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_status" INTEGER,
    "last_error" TEXT,
    "delivered_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "webhook_deliveries_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "webhook_deliveries_webhook_id_fkey" FOREIGN KEY ("webhook_id") REFERENCES "webhooks" ("id") ON DELETE CASCADE
);
CREATE INDEX "webhook_deliveries_webhook_id_created_at_idx" ON "webhook_deliveries" ("webhook_id", "created_at");
