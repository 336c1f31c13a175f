import { AppError } from '../errors.ts';
import type { AccessStore, ApiKeyRecord, SocketTokenGrant } from './ports.ts';
import type { Principal } from './principal.ts';
import { hashSecret, tokenKindOf } from './secrets.ts';

export interface CredentialOptions {
  store: AccessStore;
  /** AUTH=off: every caller is let in as { kind: 'open' }. */
  open: boolean;
  /** Verifies a user's access token (signature, algorithm, iss, aud, exp, nbf) and returns its claims. */
  verifyJwt(token: string): { sub?: unknown; exp?: unknown };
}

export type Credentials = ReturnType<typeof createCredentials>;

const unauthorized = (detail: string) => new AppError('UNAUTHORIZED', detail);

/**
 * Turns a bearer token into a Principal, or UNAUTHORIZED. One place for every credential kind:
 * REST, both socket dialects and (later) the workers ask here.
 */
export function createCredentials(options: CredentialOptions) {
  const { store } = options;

  async function userOf(token: string): Promise<Principal> {
    let claims: { sub?: unknown; exp?: unknown };
    try {
      claims = options.verifyJwt(token);
    } catch (error) {
      // fast-jwt's messages name the failed check (expired, issuer, audience, signature, ...)
      // and never include the token.
      throw new AppError('UNAUTHORIZED', `Access token refused: ${(error as Error).message}`, { cause: error });
    }
    if (typeof claims.sub !== 'string' || claims.sub === '') throw unauthorized('Access token has no subject');
    return { kind: 'user', userId: claims.sub, expiresAt: typeof claims.exp === 'number' ? claims.exp * 1000 : null };
  }

  async function apiKeyOf(record: ApiKeyRecord | null): Promise<Principal> {
    if (!record || record.revokedAt) throw unauthorized('Unknown or revoked API key');
    return {
      kind: 'api-key',
      keyId: record.id,
      userId: record.userId,
      scopes: record.scopes,
      workspaceId: record.workspaceId,
      documentIds: record.documentIds,
    };
  }

  async function documentKeyOf(hash: string): Promise<Principal> {
    const found = await store.documentByKeyHash(hash);
    if (!found) throw unauthorized('Unknown or rotated document key');
    return { kind: 'document-key', documentId: found.documentId, permission: found.permission, keyHash: found.keyHash };
  }

  /** What a one-time socket token stood for, checked again now (the key may be gone since). */
  async function grantOf(grant: SocketTokenGrant): Promise<Principal> {
    switch (grant.credentialKind) {
      case 'user':
        return { kind: 'user', userId: grant.subject, expiresAt: grant.credentialExpiresAt?.getTime() ?? null };
      case 'api-key':
        return apiKeyOf(await store.apiKey(grant.subject));
      case 'document-key':
        return documentKeyOf(grant.credentialHash ?? '');
    }
  }

  /**
   * `socketDocument`: the document a socket opens (a one-time socket token asked for another
   * one is FORBIDDEN), or null for REST, where socket tokens are not credentials.
   */
  async function resolve(token: string | undefined, socketDocument: string | null): Promise<Principal> {
    if (options.open) return { kind: 'open' };
    if (token === undefined || token === '') {
      throw unauthorized('No credential: send "Authorization: Bearer <token>" (REST) or a token (sockets)');
    }
    switch (tokenKindOf(token)) {
      case 'jwt':
        return userOf(token);
      case 'apiKey':
        return apiKeyOf(await store.apiKeyByHash(hashSecret(token)));
      case 'documentKey':
        return documentKeyOf(hashSecret(token));
      case 'socketToken': {
        if (socketDocument === null) throw unauthorized('A socket token opens a socket once; it is not a REST credential');
        const grant = await store.consumeSocketToken(hashSecret(token));
        if (!grant) throw unauthorized('Unknown, expired or already used socket token');
        if (grant.documentId !== null && grant.documentId !== socketDocument) {
          throw new AppError('FORBIDDEN', 'This socket token was issued for another document');
        }
        return grantOf(grant);
      }
      default:
        throw unauthorized('Not a credential Tandem knows (a user token, tdm_ API key, tdk_ document key or tdw_ socket token)');
    }
  }

  return {
    forRequest: (token: string | undefined) => resolve(token, null),
    forSocket: (token: string | undefined, documentId: string) => resolve(token, documentId),
  };
}
