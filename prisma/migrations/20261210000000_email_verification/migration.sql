-- An email address is someone's only once they have shown they control it. Until then, shares
-- and memberships by email wait as invitations, which take effect when the address is
-- verified (a token delivered to it, or an operator vouching for it). Accounts made before
-- this migration start unverified: their addresses were never checked.
ALTER TABLE "users" ADD COLUMN "email_verified_at" TIMESTAMPTZ(3);

-- Single use (deleted when used), for the address the user had when it was issued.
CREATE TABLE "email_verification_tokens" (
    "token_hash" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "email_verification_tokens_pkey" PRIMARY KEY ("token_hash")
);
CREATE INDEX "email_verification_tokens_user_id_idx" ON "email_verification_tokens" ("user_id");
ALTER TABLE "email_verification_tokens" ADD CONSTRAINT "email_verification_tokens_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Emails are stored lower-cased, as users.email is.
CREATE TABLE "workspace_invitations" (
    "workspace_id" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "invited_by" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "workspace_invitations_pkey" PRIMARY KEY ("workspace_id", "email"),
    CONSTRAINT "workspace_invitations_role_check" CHECK ("role" IN ('owner', 'admin', 'member', 'guest'))
);
CREATE INDEX "workspace_invitations_email_idx" ON "workspace_invitations" ("email");
ALTER TABLE "workspace_invitations" ADD CONSTRAINT "workspace_invitations_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "workspace_invitations" ADD CONSTRAINT "workspace_invitations_invited_by_fkey" FOREIGN KEY ("invited_by") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

CREATE TABLE "share_invitations" (
    "document_id" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "permission" TEXT NOT NULL,
    "invited_by" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "share_invitations_pkey" PRIMARY KEY ("document_id", "email"),
    CONSTRAINT "share_invitations_permission_check" CHECK ("permission" IN ('read', 'write'))
);
CREATE INDEX "share_invitations_email_idx" ON "share_invitations" ("email");
ALTER TABLE "share_invitations" ADD CONSTRAINT "share_invitations_document_id_fkey" FOREIGN KEY ("document_id") REFERENCES "documents"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "share_invitations" ADD CONSTRAINT "share_invitations_invited_by_fkey" FOREIGN KEY ("invited_by") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;
