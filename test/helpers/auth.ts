import { createSigner } from 'fast-jwt';
import { randomBytes } from 'node:crypto';
import { startTestNode, type TestNode } from './node.ts';
import { type RestClient, restClient } from './rest.ts';

/** The HS256 secret of test nodes with access control on. */
export const TEST_JWT_SECRET = `test-secret-${'x'.repeat(40)}`;

/** The operator's token (ADMIN_TOKEN) of test nodes with access control on. */
export const TEST_ADMIN_TOKEN = `test-admin-${'y'.repeat(40)}`;

/** A node on Postgres with AUTH=on, a known JWT secret and ADMIN_TOKEN, and a quick access re-check. */
export function startAuthNode(env: Record<string, string> = {}): Promise<TestNode> {
  return startTestNode('postgres', {
    env: { AUTH: 'on', JWT_SECRET: TEST_JWT_SECRET, ADMIN_TOKEN: TEST_ADMIN_TOKEN, ACCESS_RECHECK_MS: '200', ...env },
  });
}

export interface TestUser {
  id: string;
  email: string;
  password: string;
  accessToken: string;
  /** Their own (personal) workspace, where they are the owner. */
  workspaceId: string;
  /** REST as this user. */
  rest: RestClient;
}

/** Registers a fresh user through the API (POST /v1/auth/register) of a test node or a server process. */
export async function signUp(node: Pick<TestNode, 'url'>, label: string): Promise<TestUser> {
  const email = `${label}-${randomBytes(6).toString('hex')}@example.com`;
  const password = `pw-${randomBytes(12).toString('hex')}`;
  const registered = await restClient(node.url).post('/v1/auth/register', { email, password, name: label });
  if (registered.status !== 201) throw new Error(`register: ${registered.status} ${JSON.stringify(registered.body)}`);
  const { accessToken, user } = registered.body as { accessToken: string; user: { id: string } };
  const rest = restClient(node.url, { authorization: `Bearer ${accessToken}` });
  const me = await rest.get('/v1/me');
  const workspaceId = (me.body as { workspaces: { id: string; role: string }[] }).workspaces.find((w) => w.role === 'owner')!.id;
  return { id: user.id, email, password, accessToken, workspaceId, rest };
}

/**
 * Marks the user's email address verified, as the operator does (POST /v1/admin/users/:id/verify):
 * shares and memberships by email reach only verified addresses, and the invitations waiting
 * for this one take effect now.
 */
export async function verifyEmail(node: TestNode, user: { id: string }): Promise<void> {
  const verified = await restClient(node.url, { authorization: `Bearer ${TEST_ADMIN_TOKEN}` }).post(`/v1/admin/users/${user.id}/verify`);
  if (verified.status !== 200) throw new Error(`verify: ${verified.status} ${JSON.stringify(verified.body)}`);
}

/** REST with any bearer token (an API key, a document key, a forged JWT, ...). */
export function restAs(node: Pick<TestNode, 'url'>, token: string): RestClient {
  return restClient(node.url, { authorization: `Bearer ${token}` });
}

/** A JWT signed the way Tandem does (HS256, iss/aud tandem, 10 min), with claims and options to break it. */
export function signTestToken(
  claims: Record<string, unknown>,
  options: { key?: string; algorithm?: 'HS256' | 'HS384' | 'RS256' | 'ES256' | 'none'; expiresIn?: number; notBefore?: number } = {},
): string {
  const algorithm = options.algorithm ?? 'HS256';
  const sign = createSigner({
    key: algorithm === 'none' ? undefined : (options.key ?? TEST_JWT_SECRET),
    algorithm,
    ...(options.expiresIn !== undefined ? { expiresIn: options.expiresIn } : {}),
    ...(options.notBefore !== undefined ? { notBefore: options.notBefore } : {}),
  } as Parameters<typeof createSigner>[0]);
  // Valid for ten minutes unless the claims say otherwise; a claim set to undefined is left out.
  const payload = { iss: 'tandem', aud: 'tandem', exp: Math.floor(Date.now() / 1000) + 600, ...claims };
  for (const [name, value] of Object.entries(payload)) if (value === undefined) delete (payload as Record<string, unknown>)[name];
  return sign(payload) as unknown as string;
}
