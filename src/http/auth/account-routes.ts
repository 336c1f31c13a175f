import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { type AccountService, normalizeEmail, type Session } from '../../access/account-service.ts';
import { ROLES } from '../../access/permissions.ts';
import type { Principal } from '../../access/principal.ts';
import { AppError } from '../../errors.ts';
import { Problem } from '../rest/schemas.ts';
import { UserView, userView } from './access-schemas.ts';

/** Surrounding spaces are allowed (the service trims); inside, one @ and no spaces. */
const Email = Type.String({ minLength: 3, maxLength: 320, pattern: '^\\s*[^\\s@]+@[^\\s@]+\\s*$' });
/** 8 at least; 256 at most, so that nobody makes the server hash megabytes. */
const Password = Type.String({ minLength: 8, maxLength: 256 });
const RefreshBody = Type.Object({ refreshToken: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false });


const SessionView = Type.Object({
  user: UserView,
  accessToken: Type.String({ description: 'A JWT: send it as "Authorization: Bearer <accessToken>"' }),
  refreshToken: Type.String({ description: 'tdr_…: trade it at POST /v1/auth/refresh for new tokens; usable once' }),
  tokenType: Type.Literal('Bearer'),
  expiresIn: Type.Integer({ description: 'Seconds the access token is valid' }),
});

const MeView = Type.Intersect([
  UserView,
  Type.Object({ workspaces: Type.Array(Type.Object({ id: Type.String(), name: Type.String(), role: Type.Enum([...ROLES]) })) }),
]);

const problems = (...statuses: number[]) => Object.fromEntries(statuses.map((status) => [status, Problem]));

const sessionView = (session: Session) => ({ ...session, user: userView(session.user), tokenType: 'Bearer' as const });

/** The account a credential speaks for: a person's token, or an API key (for the person who made it). */
function accountOf(principal: Principal): string {
  switch (principal.kind) {
    case 'user':
    case 'api-key':
      return principal.userId;
    case 'document-key':
      throw new AppError('FORBIDDEN', 'a document key belongs to no user');
    case 'open':
      throw new AppError('FORBIDDEN', 'AUTH=off: there are no accounts to speak for');
  }
}

/**
 * Registration, login, refresh and logout (public: they are how a credential is obtained),
 * and GET /me. Registered under the /v1 prefix by rest-api.ts.
 */
export function registerAccountRoutes(app: FastifyInstance, accounts: AccountService): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const publicRoute = { public: true } as const;
  // Both run scrypt: limited per address (http/password-limits.ts); a login also per account.
  const passwordRoute = { public: true, checksPassword: true } as const;
  const loginRoute = { ...passwordRoute, loginAccountOf: (request: FastifyRequest) => normalizeEmail((request.body as { email: string }).email) };

  api.post(
    '/auth/register',
    {
      config: passwordRoute,
      schema: {
        tags: ['accounts'],
        summary: 'Make an account (and its personal workspace) and log in',
        body: Type.Object(
          { email: Email, password: Password, name: Type.Optional(Type.String({ maxLength: 200 })) },
          { additionalProperties: false },
        ),
        response: { 201: SessionView, ...problems(400, 409, 429, 501) },
      },
    },
    async (request, reply) => reply.code(201).send(sessionView(await accounts.register(request.body, request.ip))),
  );

  api.post(
    '/auth/login',
    {
      config: loginRoute,
      schema: {
        tags: ['accounts'],
        summary: 'Log in with email and password',
        // No minimum length here: a short password is simply wrong, not a malformed request.
        body: Type.Object({ email: Email, password: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: false }),
        response: { 200: SessionView, ...problems(400, 401, 429, 501) },
      },
    },
    async (request) => sessionView(await accounts.login(request.body, request.ip)),
  );

  api.post(
    '/auth/refresh',
    {
      config: publicRoute,
      schema: {
        tags: ['accounts'],
        summary: 'Trade a refresh token for a new access token and a new refresh token (the old one is spent)',
        body: RefreshBody,
        response: { 200: SessionView, ...problems(400, 401, 501) },
      },
    },
    async (request) => sessionView(await accounts.refresh(request.body.refreshToken, request.ip)),
  );

  api.post(
    '/auth/logout',
    {
      config: publicRoute,
      schema: {
        tags: ['accounts'],
        summary: 'End the session of a refresh token (204 whether or not it was known)',
        body: RefreshBody,
        response: { 204: Type.Null(), ...problems(400) },
      },
    },
    async (request, reply) => {
      await accounts.logout(request.body.refreshToken, request.ip);
      return reply.code(204).send(null);
    },
  );

  api.get(
    '/me',
    {
      schema: {
        tags: ['accounts'],
        summary: 'Your account and the workspaces you belong to, with your role in each',
        response: { 200: MeView, ...problems(401, 403, 404) },
      },
    },
    async (request) => {
      const me = await accounts.me(accountOf(request.principal));
      return { ...userView(me), workspaces: me.workspaces };
    },
  );
}
