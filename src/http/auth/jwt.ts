import fastifyJwt from '@fastify/jwt';
import type { FastifyInstance } from 'fastify';
import { createPublicKey } from 'node:crypto';
import type { JwtConfig } from '../../config.ts';

/**
 * User access tokens through @fastify/jwt. The accepted algorithm is fixed by the configured
 * key (HS256 for a secret, RS256 or ES256 for a public key), never taken from the token, so
 * `alg: none` and algorithm confusion fail; issuer, audience, expiry and not-before are
 * checked, and `sub`, `exp`, `iss` and `aud` are required (RFC 8725): fast-jwt checks
 * allowedIss/allowedAud only when the claim is present, so without `requiredClaims` a token
 * signed with the same secret for another purpose (no iss, no aud) would pass as ours. Tokens live `accessTokenTtlSeconds` (@fastify/jwt
 * takes `expiresIn` in seconds).
 */
export async function registerJwt(app: FastifyInstance, config: JwtConfig): Promise<void> {
  const algorithm = config.kind === 'secret' ? 'HS256' : publicKeyAlgorithm(config.publicKey);
  const secret =
    config.kind === 'secret'
      ? config.secret
      : { public: config.publicKey, ...(config.privateKey ? { private: config.privateKey } : {}) };
  await app.register(fastifyJwt, {
    secret,
    sign: { algorithm, iss: config.issuer, aud: config.audience, expiresIn: config.accessTokenTtlSeconds },
    verify: {
      algorithms: [algorithm],
      allowedIss: config.issuer,
      allowedAud: config.audience,
      requiredClaims: ['sub', 'exp', 'iss', 'aud'],
    },
  });
}

/** Whether this node can issue tokens (it can always verify them). */
export function canSignTokens(config: JwtConfig): boolean {
  return config.kind === 'secret' || config.privateKey !== undefined;
}

function publicKeyAlgorithm(pem: string): 'RS256' | 'ES256' {
  const type = createPublicKey(pem).asymmetricKeyType;
  if (type === 'rsa') return 'RS256';
  if (type === 'ec') return 'ES256';
  throw new Error(`JWT_PUBLIC_KEY: a ${type} key; use an RSA (RS256) or P-256 EC (ES256) key`);
}
