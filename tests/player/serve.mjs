// A small HTTP server on loopback (ephemeral port) for the player test:
//   /                      the test page (player.html)
//   /hls.js                hls.js from node_modules
//   /<name>/<file>         files of the folder mounted as <name> (HLS output)
// Playlists and segments are sent uncached, with the MIME types RFC 8216 §4
// names, as an origin for live HLS would.
import http from 'node:http';
import fs from 'node:fs/promises';
import path from 'node:path';

const types = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.m3u8': 'application/vnd.apple.mpegurl',
  '.ts': 'video/mp2t',
};

// filter(file, body), when given, may replace a file's bytes (fault injection).
export async function startServer({ page, hlsjs, filter }) {
  const mounts = new Map();
  const server = http.createServer(async (req, res) => {
    const file = resolve(new URL(req.url, 'http://x').pathname);
    if (!file) return reply(res, 404);
    try {
      let body = await fs.readFile(file);
      if (filter) body = filter(file, body);
      res.writeHead(200, {
        'Content-Type': types[path.extname(file)] ?? 'application/octet-stream',
        'Cache-Control': 'no-store',
      });
      res.end(body);
    } catch {
      reply(res, 404);
    }
  });

  function resolve(pathname) {
    if (pathname === '/') return page;
    if (pathname === '/hls.js') return hlsjs;
    const m = /^\/([A-Za-z0-9_-]+)\/([A-Za-z0-9_.-]+)$/.exec(pathname);
    if (!m || m[2].startsWith('.') || !mounts.has(m[1])) return null;
    return path.join(mounts.get(m[1]), m[2]);
  }

  await new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', ok);
  });
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    mount(name, dir) { mounts.set(name, dir); },
    close() {
      server.closeAllConnections();
      return new Promise((ok) => server.close(ok));
    },
  };
}

function reply(res, status) {
  res.writeHead(status, { 'Content-Type': 'text/plain' });
  res.end(`${status}\n`);
}
