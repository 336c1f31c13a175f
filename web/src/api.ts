/** A refused REST call, from Tandem's problem+json answer (or a network failure: status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ApiResponse<T> {
  status: number;
  headers: Headers;
  body: T;
}

export interface RequestOptions {
  json?: unknown;
  headers?: Record<string, string>;
}

export type Api = <T = unknown>(method: string, path: string, options?: RequestOptions) => Promise<ApiResponse<T>>;

/**
 * REST under /v1 with whatever credential `bearer` gives (a document key, a user token, or
 * none). Answers 2xx and 304 resolve; everything else throws an ApiError.
 */
export function createApi(bearer: () => Promise<string | null>): Api {
  return async <T>(method: string, path: string, options: RequestOptions = {}) => {
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    const token = await bearer();
    if (token) headers.authorization = `Bearer ${token}`;
    let body: string | undefined;
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    }
    let response: Response;
    try {
      response = await fetch(`/v1${path}`, { method, headers, body, cache: 'no-store' });
    } catch (error) {
      throw new ApiError(0, undefined, `Tandem does not answer (${String(error)})`);
    }
    const type = response.headers.get('content-type') ?? '';
    const parsed = type.includes('json') ? await response.json() : await response.text();
    if (!response.ok && response.status !== 304) {
      const problem = (typeof parsed === 'object' && parsed) as { code?: string; detail?: string; title?: string } | false;
      throw new ApiError(response.status, problem ? problem.code : undefined, (problem && (problem.detail ?? problem.title)) || response.statusText);
    }
    return { status: response.status, headers: response.headers, body: parsed as T };
  };
}
