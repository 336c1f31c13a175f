import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type from 'typebox';
import type { EmailVerification } from '../../access/email-verification.ts';
import { hashSecret, sameHash } from '../../access/secrets.ts';
import { AppError } from '../../errors.ts';
import { Problem } from '../rest/schemas.ts';
import { UserView, userView } from './access-schemas.ts';

const problems = (...statuses: number[]) => Object.fromEntries(statuses.map((status) => [status, Problem]));
const UserParams = Type.Object({ userId: Type.String({ minLength: 1, maxLength: 128 }) });

/**
 * The operator's check for /v1/admin/*: `Authorization: Bearer <ADMIN_TOKEN>`, compared as
 * hashes (equal length, so in constant time). A preValidation hook, after the rate limiter
 * (a route-level onRequest hook): wrong guesses count against the caller's address.
 */
function requireOperator(adminToken: string | null) {
  return async (request: FastifyRequest): Promise<void> => {
    if (adminToken === null) throw new AppError('FORBIDDEN', 'Operator routes are off: set ADMIN_TOKEN to use them');
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
    if (bearer === undefined || !sameHash(hashSecret(bearer), hashSecret(adminToken))) {
      throw new AppError('UNAUTHORIZED', 'Operator routes need Authorization: Bearer <ADMIN_TOKEN>');
    }
  };
}

/**
 * Email verification: the account holder redeems a token (POST /auth/verify-email); the
 * operator finds users by address, vouches for an address, or gets a token to deliver to it
 * (Tandem sends no mail). Operator routes are not user routes: no user credential opens them.
 */
export function registerVerificationRoutes(app: FastifyInstance, deps: { verification: EmailVerification; adminToken: string | null }): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const { verification } = deps;
  // public: no user credential is asked for (requireCredential skips them); the operator check is their own.
  const operatorRoute = { config: { public: true }, preValidation: requireOperator(deps.adminToken) } as const;

  api.post(
    '/auth/verify-email',
    {
      config: { public: true },
      schema: {
        tags: ['accounts'],
        summary: 'Verify your email address with the tdv_ token delivered to it; invitations waiting for the address take effect',
        body: Type.Object({ token: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ user: UserView }), ...problems(400) },
      },
    },
    async (request) => ({ user: userView(await verification.verifyWithToken(request.body.token, request.ip)) }),
  );

  api.get(
    '/admin/users',
    {
      ...operatorRoute,
      schema: {
        tags: ['operators'],
        summary: 'The account of an email address, if any (ADMIN_TOKEN)',
        querystring: Type.Object({ email: Type.String({ minLength: 3, maxLength: 320 }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ users: Type.Array(UserView) }), ...problems(400, 401, 403) },
      },
    },
    async (request) => {
      const user = await verification.userByEmail(request.query.email);
      return { users: user ? [userView(user)] : [] };
    },
  );

  api.post(
    '/admin/users/:userId/verify',
    {
      ...operatorRoute,
      schema: {
        tags: ['operators'],
        summary: "Mark a user's email address verified (ADMIN_TOKEN); invitations waiting for it take effect",
        params: UserParams,
        response: { 200: UserView, ...problems(401, 403, 404) },
      },
    },
    async (request) => userView(await verification.verifyByOperator(request.params.userId, request.ip)),
  );

  api.post(
    '/admin/users/:userId/verification-token',
    {
      ...operatorRoute,
      schema: {
        tags: ['operators'],
        summary:
          "A single-use tdv_ token (7 days) proving control of the user's address (ADMIN_TOKEN): deliver it to that address; earlier tokens stop working",
        params: UserParams,
        response: { 201: Type.Object({ token: Type.String(), expiresIn: Type.Integer() }), ...problems(401, 403, 404) },
      },
    },
    async (request, reply) => reply.code(201).send(await verification.issueToken(request.params.userId, request.ip)),
  );
}
