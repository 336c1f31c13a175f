import { randomBytes } from 'node:crypto';
import { AppError } from '../errors.ts';
import type { AccountStore, RefreshTokenRecord, UserRecord } from './account-ports.ts';
import type { PasswordHasher } from './passwords.ts';
import type { Role } from './permissions.ts';
import type { AuditLog } from './ports.ts';
import { hashSecret, newSecret, SECRET_PREFIX } from './secrets.ts';

export type { AccountStore } from './account-ports.ts';

/** A refresh token is good for this long after it is issued (each refresh issues a new one). */
export const REFRESH_TOKEN_TTL_MS = 30 * 24 * 60 * 60 * 1000;

export interface AccountServiceDeps {
  store: AccountStore;
  audit: AuditLog;
  passwords: PasswordHasher;
  /** A user access token (JWT) for this user id. */
  signAccessToken(userId: string): string;
  /** False when this node only verifies tokens from another issuer: then nobody logs in here. */
  canSign: boolean;
  /** Seconds an access token lives (reported to clients as expiresIn). */
  accessTokenTtlSeconds: number;
  refreshTtlMs?: number | undefined;
}

export interface Session {
  user: UserRecord;
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

export type AccountService = ReturnType<typeof createAccountService>;

const newId = () => randomBytes(12).toString('base64url');

/** One address, one account, however it is typed. */
export const normalizeEmail = (email: string) => email.trim().toLowerCase();

/** Wrong email and wrong password get the same answer: the API does not tell which addresses have accounts. */
const badLogin = () => new AppError('UNAUTHORIZED', 'Wrong email or password');
const badRefresh = (detail: string) => new AppError('UNAUTHORIZED', detail);

/**
 * User accounts: registration (with a personal workspace), password login, rotating refresh
 * tokens with reuse detection, logout, and "who am I". Secrets are kept only as hashes and
 * never reach the audit log.
 */
export function createAccountService(deps: AccountServiceDeps) {
  const { store, audit, passwords } = deps;
  const refreshTtlMs = deps.refreshTtlMs ?? REFRESH_TOKEN_TTL_MS;

  function requireSigning(): void {
    if (!deps.canSign) throw new AppError('LOGIN_UNAVAILABLE');
  }

  const refreshTokenFor = (userId: string, familyId: string) => {
    const token = newSecret('refreshToken');
    return { token, row: { tokenHash: hashSecret(token), userId, familyId, expiresAt: new Date(Date.now() + refreshTtlMs) } };
  };

  function session(user: UserRecord, refreshToken: string): Session {
    return { user, accessToken: deps.signAccessToken(user.id), refreshToken, expiresIn: deps.accessTokenTtlSeconds };
  }

  /** A new session: a new refresh-token family. */
  async function startSession(user: UserRecord): Promise<Session> {
    const { token, row } = refreshTokenFor(user.id, newId());
    await store.saveRefreshToken(row);
    return session(user, token);
  }

  /** The stored row of a presented refresh token; anything that is not one of ours is simply unknown. */
  async function findRefreshToken(refreshToken: string): Promise<RefreshTokenRecord | null> {
    if (!refreshToken.startsWith(SECRET_PREFIX.refreshToken)) return null;
    return store.refreshToken(hashSecret(refreshToken));
  }

  /**
   * A spent token presented again means two parties hold the family (a leak, or a replay):
   * the whole family is revoked, so the thief's and the owner's sessions both end and the
   * owner logs in again.
   */
  async function reused(record: RefreshTokenRecord, ip: string | undefined): Promise<never> {
    const revoked = await store.revokeRefreshFamily(record.familyId);
    audit.record({
      kind: 'refresh_token.reused',
      actor: `user:${record.userId}`,
      ip,
      details: { familyId: record.familyId, state: record.revokedAt ? 'revoked' : 'used', revoked },
    });
    throw badRefresh('This refresh token was already used or revoked; every session it belonged to has ended, log in again');
  }

  return {
    async register(input: { email: string; password: string; name?: string | undefined }, ip?: string): Promise<Session> {
      requireSigning();
      const email = normalizeEmail(input.email);
      const name = input.name?.trim() ?? '';
      const user = await store.createUser(
        { id: newId(), email, name, passwordHash: await passwords.hash(input.password) },
        // Never named after the email: guests of the workspace see its name.
        { id: newId(), name: name ? `${name}'s workspace` : 'Personal workspace' },
      );
      if (!user) throw new AppError('EMAIL_TAKEN');
      audit.record({ kind: 'user.registered', actor: `user:${user.id}`, ip });
      return startSession(user);
    },

    async login(input: { email: string; password: string }, ip?: string): Promise<Session> {
      requireSigning();
      const found = await store.userByEmail(normalizeEmail(input.email));
      if (!found) {
        await passwords.dummyVerify(input.password);
        audit.record({ kind: 'user.login_failed', ip, details: { reason: 'unknown email' } });
        throw badLogin();
      }
      const { passwordHash, ...user } = found;
      const checked = await passwords.verify(input.password, passwordHash);
      if (!checked.ok) {
        audit.record({ kind: 'user.login_failed', actor: `user:${user.id}`, ip, details: { reason: 'wrong password' } });
        throw badLogin();
      }
      // Stored at an older cost: the plain password is at hand only now, so upgrade it now.
      if (checked.stale) await store.replacePasswordHash(user.id, passwordHash, await passwords.hash(input.password));
      audit.record({ kind: 'user.login', actor: `user:${user.id}`, ip });
      return startSession(user);
    },

    /** A new access token and a new refresh token of the same family; the presented one is spent. */
    async refresh(refreshToken: string, ip?: string): Promise<Session> {
      requireSigning();
      const record = await findRefreshToken(refreshToken);
      if (!record) throw badRefresh('Unknown refresh token');
      if (record.usedAt || record.revokedAt) return reused(record, ip);
      if (record.expiresAt.getTime() <= Date.now()) throw badRefresh('Refresh token expired; log in again');

      const next = refreshTokenFor(record.userId, record.familyId);
      // Conditional on the token still being unused: of two refreshes racing with one token,
      // one rotates and the other is a reuse like any other.
      if (!(await store.rotateRefreshToken(record.tokenHash, next.row))) {
        const now = await store.refreshToken(record.tokenHash);
        if (now && now.expiresAt.getTime() <= Date.now() && !now.usedAt && !now.revokedAt) {
          throw badRefresh('Refresh token expired; log in again');
        }
        return reused(now ?? record, ip);
      }
      const user = await store.user(record.userId);
      // Deleting a user deletes their tokens too; this is only the race with that delete.
      if (!user) throw badRefresh('The account of this refresh token no longer exists');
      return session(user, next.token);
    },

    /** Ends the session (the whole family); unknown tokens are accepted silently, so logout reveals nothing. */
    async logout(refreshToken: string, ip?: string): Promise<void> {
      const record = await findRefreshToken(refreshToken);
      if (!record) return;
      await store.revokeRefreshFamily(record.familyId);
      audit.record({ kind: 'user.logout', actor: `user:${record.userId}`, ip });
    },

    async me(userId: string): Promise<UserRecord & { workspaces: { id: string; name: string; role: Role }[] }> {
      const [user, workspaces] = await Promise.all([store.user(userId), store.workspacesOf(userId)]);
      if (!user) throw new AppError('USER_NOT_FOUND', 'The account of this credential no longer exists');
      return { ...user, workspaces };
    },
  };
}
