-- A one-time socket token minted with a user's access token carries that token's expiry: the
-- socket it opens is closed (4401) when the access token would have expired.
ALTER TABLE "socket_tokens" ADD COLUMN "credential_expires_at" TIMESTAMPTZ(3);
