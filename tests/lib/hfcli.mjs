// huggingface_hub's `hf auth login` on the wire (utils/_oauth_device.py, v1.20 to v1.28), for
// tests: the Python client cannot be installed here, so its requests are replayed as it sends
// them — a form with the default client_id only, its user agent, httpx's trace header, no
// Authorization.
import assert from 'node:assert/strict';

// constants.py: HF_DEVICE_CODE_OAUTH_CLIENT_ID's default
export const HF_CLIENT_ID = '26be6b09-91c5-47da-9861-d2d2bb7a7e36';
export const CLI_UA = 'huggingface_hub/1.28.0; python/3.12.7; torch/N/A; session_id/0f4c2b7e9d1a4c5e8b3f6a2d1c0e9f8a';
export const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

export const cliPost = (gw, p, fields) => fetch(`${gw.url}${p}`, {
  method: 'POST',
  headers: {
    'content-type': 'application/x-www-form-urlencoded', 'user-agent': CLI_UA,
    'x-amzn-trace-id': 'Root=1-6751a2b3-0123456789abcdef01234567', accept: '*/*',
  },
  body: new URLSearchParams(fields).toString(),
});

// POST /oauth/device: { device_code, user_code, verification_uri, verification_uri_complete,
// expires_in, interval }
export async function requestDeviceCode(gw) {
  const r = await cliPost(gw, '/oauth/device', { client_id: HF_CLIENT_ID });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('cache-control'), 'no-store');
  return r.json();
}

// One poll: { status, body }
export async function pollToken(gw, deviceCode, clientId = HF_CLIENT_ID) {
  const r = await cliPost(gw, '/oauth/token', { grant_type: DEVICE_GRANT, device_code: deviceCode, client_id: clientId });
  return { status: r.status, body: await r.json() };
}

// The refresh_token grant: { status, body }
export async function refreshToken(gw, refresh) {
  const r = await cliPost(gw, '/oauth/token', { grant_type: 'refresh_token', refresh_token: refresh, client_id: HF_CLIENT_ID });
  return { status: r.status, body: await r.json() };
}
