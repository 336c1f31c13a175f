import type { Role } from './permissions.ts';

/** A user as the API shows them (never the password hash). */
export interface UserRecord {
  id: string;
  email: string;
  name: string;
  createdAt: Date;
  /** When they showed they control `email`; null: never (shares and memberships by email wait). */
  emailVerifiedAt: Date | null;
}

export interface RefreshTokenRecord {
  tokenHash: string;
  userId: string;
  familyId: string;
  expiresAt: Date;
  usedAt: Date | null;
  revokedAt: Date | null;
}

export interface NewRefreshToken {
  tokenHash: string;
  userId: string;
  familyId: string;
  expiresAt: Date;
}

/** Users and their sessions (storage/account-repository.ts). */
export interface AccountStore {
  /**
   * The user and their personal workspace (they its owner), in one transaction; null when
   * the email already has an account (nothing is written then).
   */
  createUser(
    user: { id: string; email: string; name: string; passwordHash: string },
    workspace: { id: string; name: string },
  ): Promise<UserRecord | null>;
  /** By the lower-cased email, with the password hash to check against. */
  userByEmail(email: string): Promise<(UserRecord & { passwordHash: string }) | null>;
  /**
   * Stores `next` as the user's password hash if `previous` is still the stored one (a
   * password changed meanwhile is not overwritten); whether it did.
   */
  replacePasswordHash(userId: string, previous: string, next: string): Promise<boolean>;
  user(id: string): Promise<UserRecord | null>;
  workspacesOf(userId: string): Promise<{ id: string; name: string; role: Role }[]>;

  saveRefreshToken(token: NewRefreshToken): Promise<void>;
  refreshToken(tokenHash: string): Promise<RefreshTokenRecord | null>;
  /**
   * Marks `tokenHash` used and stores `next` in its place, atomically: false (and nothing
   * stored) when the token is already used, revoked or expired, e.g. because a concurrent
   * refresh with the same token got there first.
   */
  rotateRefreshToken(tokenHash: string, next: NewRefreshToken): Promise<boolean>;
  /** Revokes every token of the family, those being issued right now included; how many it revoked. */
  revokeRefreshFamily(familyId: string): Promise<number>;
}

/** Email verification (storage/verification-repository.ts). */
export interface VerificationStore {
  /** Stores a token for the user's current address, in place of any earlier one of theirs. */
  saveVerificationToken(token: { tokenHash: string; userId: string; email: string; expiresAt: Date }): Promise<void>;
  /** Deletes and returns an unexpired token (atomic: of two uses, one gets it); null otherwise. */
  consumeVerificationToken(tokenHash: string): Promise<{ userId: string; email: string } | null>;
  /**
   * Marks `email` verified if it is still the user's address and, in the same transaction,
   * turns the invitations waiting for it into memberships and shares (existing ones are kept
   * as they are). Null when there is no such user with that address.
   */
  verifyEmail(userId: string, email: string): Promise<{ user: UserRecord; memberships: number; shares: number } | null>;
}
