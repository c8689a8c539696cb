// The operator API from the page: JSON over fetch with the session cookie; every failure an
// ApiError carrying the API's own {error: {code, message}}.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Calls `method path` with an optional JSON body; resolves to the JSON answer (or text). */
export async function api(method, path, body, { fetch: f = globalThis.fetch } = {}) {
  const init = { method, credentials: 'same-origin', headers: {} };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await f(path, init);
  } catch (e) {
    throw new ApiError(0, 'network', 'fleetd cannot be reached: ' + e.message);
  }
  const type = response.headers.get('Content-Type') || '';
  const answer = type.includes('json') ? await response.json().catch(() => null) : await response.text();
  if (!response.ok) {
    const error = answer && answer.error;
    throw new ApiError(response.status, error ? error.code : 'http_' + response.status,
      error ? error.message : `${method} ${path}: HTTP ${response.status}`);
  }
  return answer;
}

/** A query string of the set values of `params` ("?a=1&b=x"), or "". */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? '?' + s : '';
}
