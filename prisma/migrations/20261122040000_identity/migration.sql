-- Identity and access: users and their sessions, workspaces with roles, per-document shares,
-- API keys, document keys, one-time socket tokens, an audit log, and the access epoch that
-- tells every node to re-check its live sockets.
-- Every secret (password, refresh token, key, socket token) is stored as a hash only.

CREATE TABLE "users" (
    "id" TEXT NOT NULL,
    -- lower-cased on the way in, so that one address is one account
    "email" TEXT NOT NULL,
    "name" TEXT NOT NULL DEFAULT '',
    -- scrypt, in the self-describing form src/access/passwords.ts writes
    "password_hash" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "users_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "users_email_key" ON "users" ("email");

-- Refresh tokens rotate: each use marks the row used and issues a sibling in the same family;
-- a used row presented again means the token leaked, and the whole family is revoked.
CREATE TABLE "refresh_tokens" (
    "token_hash" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "family_id" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "used_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "refresh_tokens_pkey" PRIMARY KEY ("token_hash")
);
CREATE INDEX "refresh_tokens_family_id_idx" ON "refresh_tokens" ("family_id");
ALTER TABLE "refresh_tokens" ADD CONSTRAINT "refresh_tokens_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "workspaces" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "workspaces_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "workspace_members" (
    "workspace_id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "workspace_members_pkey" PRIMARY KEY ("workspace_id", "user_id"),
    CONSTRAINT "workspace_members_role_check" CHECK ("role" IN ('owner', 'admin', 'member', 'guest'))
);
CREATE INDEX "workspace_members_user_id_idx" ON "workspace_members" ("user_id");
ALTER TABLE "workspace_members" ADD CONSTRAINT "workspace_members_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "workspace_members" ADD CONSTRAINT "workspace_members_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- A document belongs to a workspace (null: made with AUTH=off, or before access control), and
-- has a read key and a write key (sha-256 of the tdk_ token: they are long random strings, so
-- a fast hash is enough and lets a key be found by its hash).
ALTER TABLE "documents" ADD COLUMN "workspace_id" TEXT;
ALTER TABLE "documents" ADD COLUMN "read_key_hash" TEXT;
ALTER TABLE "documents" ADD COLUMN "write_key_hash" TEXT;
CREATE INDEX "documents_workspace_id_idx" ON "documents" ("workspace_id");
CREATE UNIQUE INDEX "documents_read_key_hash_key" ON "documents" ("read_key_hash");
CREATE UNIQUE INDEX "documents_write_key_hash_key" ON "documents" ("write_key_hash");
ALTER TABLE "documents" ADD CONSTRAINT "documents_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE SET NULL ON UPDATE CASCADE;

CREATE TABLE "document_shares" (
    "document_id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "permission" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "document_shares_pkey" PRIMARY KEY ("document_id", "user_id"),
    CONSTRAINT "document_shares_permission_check" CHECK ("permission" IN ('read', 'write'))
);
CREATE INDEX "document_shares_user_id_idx" ON "document_shares" ("user_id");
ALTER TABLE "document_shares" ADD CONSTRAINT "document_shares_document_id_fkey" FOREIGN KEY ("document_id") REFERENCES "documents"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "document_shares" ADD CONSTRAINT "document_shares_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- API keys act for the user who made them, within their scopes and limits.
CREATE TABLE "api_keys" (
    "id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "name" TEXT NOT NULL DEFAULT '',
    "key_hash" TEXT NOT NULL,
    -- the first characters of the key, so a person can tell keys apart in a list
    "prefix" TEXT NOT NULL,
    "scopes" TEXT[] NOT NULL,
    "workspace_id" TEXT,
    -- empty: not limited to particular documents
    "document_ids" TEXT[] NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revoked_at" TIMESTAMPTZ(3),
    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "api_keys_key_hash_key" ON "api_keys" ("key_hash");
CREATE INDEX "api_keys_user_id_idx" ON "api_keys" ("user_id");
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- One-time socket tokens: single use, 60 s. They stand for the credential that asked for them
-- (its kind, and the user, API key or document it names; for a document key also the key's
-- hash, so that rotating the key voids them), re-checked when the token is used.
CREATE TABLE "socket_tokens" (
    "token_hash" TEXT NOT NULL,
    "credential_kind" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "credential_hash" TEXT,
    "document_id" TEXT,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "used_at" TIMESTAMPTZ(3),
    CONSTRAINT "socket_tokens_pkey" PRIMARY KEY ("token_hash")
);

CREATE TABLE "audit_events" (
    "id" BIGSERIAL NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "kind" TEXT NOT NULL,
    "actor" TEXT,
    "target" TEXT,
    "ip" TEXT,
    "details" JSONB,
    CONSTRAINT "audit_events_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "audit_events_at_idx" ON "audit_events" ("at");

-- Bumped by every change that can take access away (revoked key, rotated document key,
-- removed share or member, lowered role). Each node polls it and re-checks its live sockets.
CREATE TABLE "access_epoch" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "value" BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT "access_epoch_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "access_epoch_single_row" CHECK ("id" = 1)
);
INSERT INTO "access_epoch" ("id", "value") VALUES (1, 0);
