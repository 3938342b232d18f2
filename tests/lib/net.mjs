// Small network helpers. Everything the harness opens listens on 127.0.0.1 only.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

/** A TCP port that was free on 127.0.0.1 a moment ago (bind to 0, read it, close). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * One HTTP(S) request with no connection reuse; resolves { status, headers, body (string) }.
 * Rejects on network errors and after `timeoutMs`. `insecure` skips TLS certificate checks.
 */
export function httpRequest(url, { method = 'GET', headers = {}, body, timeoutMs = 5000, insecure = false } = {}) {
  return new Promise((resolve, reject) => {
    const mod = String(url).startsWith('https:') ? https : http;
    const extra = insecure ? { rejectUnauthorized: false } : {};
    const req = mod.request(url, { method, headers, agent: false, timeout: timeoutMs, ...extra }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms: ${method} ${url}`)));
    req.on('error', reject);
    req.end(body);
  });
}
