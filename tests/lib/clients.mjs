// Real Hub clients pointed at a URL of a test's choosing (the Hub fixture, or hubgate).

/**
 * @huggingface/transformers' AutoTokenizer for `model`, its files fetched from `baseUrl` in the
 * Hub's layout ({model}/resolve/{revision}/...) with `Authorization: Bearer <token>` on every
 * request, and nothing read from or written to a local cache.
 */
export async function loadTokenizer(baseUrl, token, model) {
  const { env, AutoTokenizer } = await import('@huggingface/transformers');
  env.remoteHost = `${baseUrl}/`;
  env.remotePathTemplate = '{model}/resolve/{revision}/';
  env.allowLocalModels = false;
  env.useFSCache = false;
  const baseFetch = env.fetch;
  env.fetch = (url, init = {}) => {
    const headers = new Headers(init.headers);
    headers.set('Authorization', `Bearer ${token}`);
    return baseFetch(url, { ...init, headers });
  };
  return AutoTokenizer.from_pretrained(model);
}

const LFS_MEDIA = 'application/vnd.git-lfs+json';

/**
 * POSTs `batch` (the request body: operation, objects, ...) to the LFS batch endpoint of `repo`
 * at `baseUrl`, with git-lfs's media types and `headers` (credentials, ...) over them: resolves
 * the fetch Response.
 */
export function lfsBatch(baseUrl, repo, headers, batch) {
  return fetch(`${baseUrl}/${repo}.git/info/lfs/objects/batch`, {
    method: 'POST',
    headers: { Accept: LFS_MEDIA, 'Content-Type': LFS_MEDIA, ...headers },
    body: JSON.stringify(batch),
  });
}
