// The Manager API as the page calls it: the key from this tab's sessionStorage as a bearer
// token, JSON in and out, the API's error shape turned into an ApiFailure.

export const KEY = 'aura-manager-api-key';

export class ApiFailure extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code;
  }
}

const storedKey = () => sessionStorage.getItem(KEY);

/**
 * `call(method, path, body?, key?)`: the answer's JSON, or an ApiFailure. A 401 for the stored
 * key calls `onUnauthorized` (the page asks for a key again).
 */
export function createApi({ onUnauthorized }) {
  async function send(method, path, body, key) {
    const res = await fetch(path, {
      method,
      headers: { authorization: `Bearer ${key ?? ''}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    if (res.status === 401 && key === storedKey()) onUnauthorized();
    return res;
  }
  return {
    async call(method, path, body, key = storedKey()) {
      const res = await send(method, path, body, key);
      const json = await res.json().catch(() => null);
      if (!res.ok) throw new ApiFailure(res.status, json);
      return json;
    },
    /**
     * A file the API answers with (a workspace archive), saved under `filename`. The key goes in
     * a header, never in a URL, so the browser cannot follow a plain link: the page fetches the
     * file and hands it to the browser as a download.
     */
    async download(path, filename) {
      const res = await send('GET', path, undefined, storedKey());
      if (!res.ok) throw new ApiFailure(res.status, await res.json().catch(() => null));
      const url = URL.createObjectURL(await res.blob());
      const a = document.createElement('a');
      a.href = url;
      a.download = filename;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    },
  };
}
