import { AppError } from '../errors.ts';
import type { AccountStore, UserRecord, VerificationStore } from './account-ports.ts';
import type { AuditLog } from './ports.ts';
import { normalizeEmail } from './account-service.ts';
import { hashSecret, newSecret, SECRET_PREFIX } from './secrets.ts';

/** A verification token is good for this long after it is issued. */
export const VERIFICATION_TOKEN_TTL_SECONDS = 7 * 24 * 60 * 60;

export type EmailVerification = ReturnType<typeof createEmailVerification>;

interface EmailVerificationDeps {
  store: VerificationStore;
  accounts: Pick<AccountStore, 'user' | 'userByEmail'>;
  audit: AuditLog;
}

/**
 * Proving control of an email address. Tandem sends no mail: the operator (ADMIN_TOKEN) either
 * vouches for an address, or gets a single-use tdv_ token to deliver to the address by a
 * channel of their own (their mail system, a support reply), which its owner redeems at
 * POST /v1/auth/verify-email. The token is shown only in that operator's answer, never logged,
 * and never to the account holder: an account holder who could get one for their own account
 * could "verify" any address they registered. Verifying turns the invitations waiting for the
 * address into memberships and shares.
 */
export function createEmailVerification({ store, accounts, audit }: EmailVerificationDeps) {
  async function verified(userId: string, email: string, how: 'token' | 'operator', ip: string): Promise<UserRecord | null> {
    const result = await store.verifyEmail(userId, email);
    if (!result) return null;
    audit.record({
      kind: 'email.verified',
      actor: how === 'operator' ? 'admin' : `user:${userId}`,
      target: `user:${userId}`,
      ip,
      details: { how, memberships: result.memberships, shares: result.shares },
    });
    return result.user;
  }

  return {
    /** For the operator, who knows an address and needs its account's id. */
    async userByEmail(email: string): Promise<UserRecord | null> {
      const found = await accounts.userByEmail(normalizeEmail(email));
      if (!found) return null;
      const { passwordHash: _passwordHash, ...user } = found;
      return user;
    },

    async issueToken(userId: string, ip: string): Promise<{ token: string; expiresIn: number }> {
      const user = await accounts.user(userId);
      if (!user) throw new AppError('USER_NOT_FOUND');
      const token = newSecret('emailVerification');
      await store.saveVerificationToken({
        tokenHash: hashSecret(token),
        userId,
        email: user.email,
        expiresAt: new Date(Date.now() + VERIFICATION_TOKEN_TTL_SECONDS * 1000),
      });
      audit.record({ kind: 'email.verification_issued', actor: 'admin', target: `user:${userId}`, ip });
      return { token, expiresIn: VERIFICATION_TOKEN_TTL_SECONDS };
    },

    /** Redeems a token (once); VERIFICATION_TOKEN_INVALID for anything else, used and expired ones included. */
    async verifyWithToken(token: string, ip: string): Promise<UserRecord> {
      const found = token.startsWith(SECRET_PREFIX.emailVerification) ? await store.consumeVerificationToken(hashSecret(token)) : null;
      // The address changed since the token was issued (or the user is gone): it proves nothing now.
      const user = found ? await verified(found.userId, found.email, 'token', ip) : null;
      if (!user) throw new AppError('VERIFICATION_TOKEN_INVALID');
      return user;
    },

    /** The operator vouches for the user's current address. */
    async verifyByOperator(userId: string, ip: string): Promise<UserRecord> {
      const user = await accounts.user(userId);
      const done = user ? await verified(userId, user.email, 'operator', ip) : null;
      if (!done) throw new AppError('USER_NOT_FOUND');
      return done;
    },
  };
}
