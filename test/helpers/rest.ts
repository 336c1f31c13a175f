/** A small fetch wrapper for the REST API: JSON in, status + headers + parsed body out. */
export interface RestResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** `defaultHeaders` go on every request (e.g. an Authorization header); a call's own headers win. */
export function restClient(baseUrl: string, defaultHeaders: Record<string, string> = {}) {
  async function call<T = any>(
    method: string,
    path: string,
    options: { json?: unknown; body?: string | Uint8Array; type?: string; headers?: Record<string, string> } = {},
  ): Promise<RestResponse<T>> {
    const headers: Record<string, string> = { ...defaultHeaders, ...options.headers };
    let body: string | Uint8Array | undefined = options.body;
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    } else if (options.type) {
      headers['content-type'] = options.type;
    }
    const response = await fetch(`${baseUrl}${path}`, { method, headers, body: body as BodyInit | undefined });
    const type = response.headers.get('content-type') ?? '';
    const parsed = response.status === 204 || response.status === 304
      ? ''
      : type.includes('json')
      ? await response.json()
      : type.includes('octet-stream')
        ? new Uint8Array(await response.arrayBuffer())
        : await response.text();
    return { status: response.status, headers: response.headers, body: parsed as T };
  }
  return {
    call,
    get: <T = any>(path: string, headers?: Record<string, string>) => call<T>('GET', path, headers ? { headers } : {}),
    post: <T = any>(path: string, json?: unknown, headers?: Record<string, string>) =>
      call<T>('POST', path, { ...(json !== undefined ? { json } : {}), ...(headers ? { headers } : {}) }),
    patch: <T = any>(path: string, json: unknown, headers?: Record<string, string>) => call<T>('PATCH', path, { json, ...(headers ? { headers } : {}) }),
    put: <T = any>(path: string, json: unknown, headers?: Record<string, string>) => call<T>('PUT', path, { json, ...(headers ? { headers } : {}) }),
    delete: (path: string) => call('DELETE', path),
  };
}

export type RestClient = ReturnType<typeof restClient>;
