// A recording reverse proxy: a client (git, curl…) is pointed at it instead of a server, and
// every exchange it relays is recorded as the client saw it, so that a test knows exactly what
// a real client did — how many requests, which ones, their statuses and body bytes both ways —
// without guessing how the client behaves.
//
//   const rec = await startRecorder(gw.url);   // then use rec.url as the client's server
//   … run the client …
//   rec.exchanges  // [{ method, target, auth, status, bytesIn, bytesOut, aborted }]
//   await rec.close();
//
// Requests go to `target` with the same method, request-target and headers (Host set to the
// target's, hop-by-hop headers dropped); answers come back with the same status and headers.
// bytesIn / bytesOut are body bytes after transfer decoding (chunked) and before any content
// decoding: what a gateway counts as a body. `auth` is the scheme of the Authorization header
// the client sent ('basic', 'bearer'), or null. An exchange is recorded when its answer has
// been handed to the client in full (or the client went away: aborted).
import http from 'node:http';

const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'expect', 'host']);

function forwardable(headers) {
  const out = {};
  for (const [k, v] of Object.entries(headers)) if (!HOP.has(k.toLowerCase())) out[k] = v;
  return out;
}

export async function startRecorder(target) {
  const to = new URL(target);
  const agent = new http.Agent({ keepAlive: true });
  const exchanges = [];
  const server = http.createServer((req, res) => {
    const x = {
      method: req.method, target: req.url,
      auth: req.headers.authorization ? req.headers.authorization.split(' ')[0].toLowerCase() : null,
      status: null, bytesIn: 0, bytesOut: 0, aborted: false,
    };
    let done = false;
    const record = (aborted) => {
      if (done) return;
      done = true;
      x.aborted = aborted;
      exchanges.push(x);
    };
    const up = http.request({
      host: to.hostname, port: to.port, method: req.method, path: req.url, agent,
      headers: { ...forwardable(req.headers), host: to.host },
    }, (ur) => {
      x.status = ur.statusCode;
      res.writeHead(ur.statusCode, forwardable(ur.headers));
      ur.on('data', (c) => { x.bytesOut += c.length; });
      ur.pipe(res);
      ur.on('aborted', () => { record(true); res.destroy(); });
    });
    up.on('error', () => { record(true); res.destroy(); });
    req.on('data', (c) => { x.bytesIn += c.length; });
    req.pipe(up);
    res.on('finish', () => record(false));
    res.on('close', () => record(!res.writableFinished));
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    exchanges,
    close: () => new Promise((resolve) => {
      agent.destroy();
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
