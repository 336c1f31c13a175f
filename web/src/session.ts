import { ApiError, createApi } from './api.ts';

/**
 * A signed-in person's tokens, kept in localStorage so that every tab of this origin shares
 * them. Tandem has no cookie sessions: REST and socket tokens take Bearer credentials.
 */
export interface Session {
  user: { id: string; email: string; name: string };
  accessToken: string;
  /** ms since the epoch */
  accessExpiresAt: number;
  refreshToken: string;
}

interface SessionAnswer {
  user: Session['user'];
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

const STORAGE_KEY = 'tandem.session';
/** Refresh this long before the access token expires, so no request carries a dying token. */
const REFRESH_MARGIN_MS = 60_000;

const anonymous = createApi(async () => null);

export function currentSession(): Session | null {
  const raw = localStorage.getItem(STORAGE_KEY);
  if (!raw) return null;
  try {
    return JSON.parse(raw) as Session;
  } catch {
    localStorage.removeItem(STORAGE_KEY);
    return null;
  }
}

function store(answer: SessionAnswer): Session {
  const session: Session = {
    user: answer.user,
    accessToken: answer.accessToken,
    accessExpiresAt: Date.now() + answer.expiresIn * 1000,
    refreshToken: answer.refreshToken,
  };
  localStorage.setItem(STORAGE_KEY, JSON.stringify(session));
  return session;
}

export async function signIn(email: string, password: string): Promise<Session> {
  return store((await anonymous<SessionAnswer>('POST', '/auth/login', { json: { email, password } })).body);
}

export async function register(email: string, password: string, name: string): Promise<Session> {
  const json = name ? { email, password, name } : { email, password };
  return store((await anonymous<SessionAnswer>('POST', '/auth/register', { json })).body);
}

export async function signOut(): Promise<void> {
  const session = currentSession();
  localStorage.removeItem(STORAGE_KEY);
  if (session) await anonymous('POST', '/auth/logout', { json: { refreshToken: session.refreshToken } }).catch(() => undefined);
}

/**
 * A valid access token of the signed-in person, refreshed when close to expiry; null when
 * nobody is signed in or the session ended. A refresh token works once and reusing it revokes
 * the whole chain, so tabs take turns (Web Locks) and each first looks whether another tab
 * has refreshed already.
 */
export async function sessionToken(): Promise<string | null> {
  const fresh = (session: Session | null) => session !== null && session.accessExpiresAt - Date.now() > REFRESH_MARGIN_MS;
  const before = currentSession();
  if (!before) return null;
  if (fresh(before)) return before.accessToken;
  const refresh = async (): Promise<string | null> => {
    const now = currentSession();
    if (!now) return null;
    if (fresh(now)) return now.accessToken;
    try {
      const answer = await anonymous<SessionAnswer>('POST', '/auth/refresh', { json: { refreshToken: now.refreshToken } });
      return store(answer.body).accessToken;
    } catch (error) {
      // Refused (expired, revoked): signed out. Unreachable: keep the session for later.
      if (error instanceof ApiError && error.status === 401) localStorage.removeItem(STORAGE_KEY);
      return null;
    }
  };
  return navigator.locks ? navigator.locks.request('tandem.session.refresh', refresh) : refresh();
}
