// Real player against the launcher: hls.js in headless Chromium plays what
// `nagare serve` makes from a live publisher.
//
// The test starts `nagare serve` on a free loopback port with a temporary
// data folder, creates a channel over HTTP (CreateChannel) with two
// renditions, 640x480@30 800 kb/s and 320x240@15 300 kb/s, MP3 64 kb/s and
// 1 s segments, and publishes to its RTP ports with `nagare publish-test`.
// Once the multivariant playlist is served, four cases run, in this order,
// each one TAP line:
//   1. nagare's own watch page (/watch/<playback_id>, which loads
//      /static/hls.min.js) plays: from the moment currentTime first moves
//      (within 20 s of loading), the page reads the <video> element every
//      100 ms for 8 s; currentTime must advance during at least 6 s of that
//      wall time and never stand still for 2 s or more. The page's hls.js
//      instance must see exactly the two renditions (width and height), the
//      quality <select> must offer them, and the decoded picture must be the
//      size of one of them.
//   2. The index page (/) lists the channel as live, and its thumbnail
//      <img> loads a 320x180 picture within 8 s (the file is checked to be
//      a JPEG over HTTP as well).
//   3. CORS: the playlist_url that CreateChannel answered is played by
//      hls.js in player.html, served by serve.mjs from another origin (same
//      host, another port): currentTime advances during at least 3.5 s of a
//      5 s window and hls.js raises no fatal error.
//   4. DeleteChannel: the watch page, still playing, gets EXT-X-ENDLIST and
//      its <video> fires 'ended' within 25 s.
//   5. AES-128: a second channel (320x240@15, a new key every 4 segments)
//      with encrypt_key_uri on a key server this test runs and its
//      event_webhook_url on the same server, which keeps the keys
//      key.created delivers and serves them by id (with CORS). hls.js in
//      player.html plays the channel's playlist_url as in case 3, fetching
//      its keys from that key server, and raises no fatal error.
// The whole test takes about 40 s. Without chromium or node_modules (or,
// when NAGARE_BIN is not set, build/launcher/nagare) every case says SKIP
// and why.
//
// Environment:
//   NAGARE_BIN        the nagare binary (meson passes it; default
//                     build/launcher/nagare next to this source tree)
//   NAGARE_CHROMIUM   browser (default /usr/bin/chromium)
//   NAGARE_PLAYER_KEEP=1  keep the data folder and the serve log, and say where
import http from 'node:http';

import {
  collect, chromiumOptions, createChannel, describe, firstLine, judgeWindow, nagareBin,
  rpc, runTest, sleep, startPlayerOrigin, startProcess, startedNote, waitForPlayback,
} from './serve_harness.mjs';

const renditions = [
  { width: 640, height: 480, fps: 30, bps: 800000 },
  { width: 320, height: 240, fps: 15, bps: 300000 },
];

// serve_harness.mjs holds the rest: 10 s for nagare serve to start, 20 s
// for playback to start, 2 s the longest stand-still, samples every 100 ms.
const limits = {
  multivariantMs: 30000,    // from the publisher's start to a served index.m3u8
  watchWindowMs: 8000,      // the watch page's playback is judged over this wall time
  watchAdvancingMs: 6000,   // currentTime must advance during this much of it
  corsWindowMs: 5000,
  corsAdvancingMs: 3500,
  thumbnailMs: 8000,        // the index page's thumbnail has loaded
  endedMs: 25000,           // from DeleteChannel to the watch page's 'ended'
};

const cases = [
  'the watch page (hls.js from /static/hls.min.js) plays both renditions of a live channel from nagare serve',
  'the index page lists the live channel with a 320x180 JPEG thumbnail',
  'hls.js plays the channel\'s playlist_url from another origin (CORS)',
  'after DeleteChannel the watch page\'s player reaches the end (EXT-X-ENDLIST, \'ended\')',
  'hls.js plays an AES-128 channel with keys from the customer\'s key server, delivered by the event webhook',
];

// A throw means no further case can be judged (no channel, no playlist, no
// browser).
async function main({ serve, results, userDataDir, logOnFailure }) {
  const channel = await createChannel(serve.url, renditions);
  const publisher = startProcess('publisher', nagareBin,
    ['publish-test', String(channel.rtp.video_port), String(channel.rtp.audio_port), '--seconds', '120']);
  logOnFailure('publish-test', publisher, 5);
  let context = null;
  let origin = null;
  try {
    const t0 = Date.now();
    await waitForMultivariant(channel.playlist_url, publisher);
    results[0].notes.push(`multivariant playlist served ${((Date.now() - t0) / 1000).toFixed(1)} s`
                          + ' after the publisher started');

    const { chromium } = await import('playwright-core');
    context = await chromium.launchPersistentContext(userDataDir, chromiumOptions());
    origin = await startPlayerOrigin();

    const watch = await context.newPage();
    const watchErrors = [];
    watch.on('pageerror', (e) => watchErrors.push(firstLine(e)));
    // The index page is cheap (one JPEG every 2 s): it is checked while the
    // watch page's playback is being sampled.
    await Promise.all([
      collect(results[0], () => checkWatch(watch, channel)),
      collect(results[1], () => checkIndex(context, serve.url, channel)),
    ]);
    await collect(results[2], () => checkCors(context, origin, channel));
    await collect(results[3], () => checkEnd(watch, serve.url, channel));
    if (watchErrors.length) results[0].problems.push(`error in the watch page: ${watchErrors.join('; ')}`);
    await publisher.stop('SIGINT', 5000);
    await collect(results[4], () => checkEncrypted(context, origin, serve.url, logOnFailure));
  } finally {
    await context?.close().catch(() => {});
    await origin?.close();
    await publisher.stop('SIGINT', 5000);
  }
}

// --- case 1: the watch page ------------------------------------------

async function checkWatch(page, channel) {
  await page.goto(channel.watch_url);
  // Installed once, before anything ends: case 4 reads it.
  await page.evaluate(() => {
    window.probe = { endedAt: null, endlist: false, eos: false, hooked: null };
    document.getElementById('video').addEventListener('ended', () => {
      window.probe.endedAt ??= performance.now();
    });
  });
  const start = await waitForPlayback(page);
  if (start.ms === null) throw new Error(`watch page: playback did not start: ${start.why}`);
  const { problems, note } = await judgeWindow(page, limits.watchWindowMs, limits.watchAdvancingMs);
  const notes = [startedNote(start), note];

  // The page keeps its hls.js instance in a top-level `let hls`.
  const seen = await page.evaluate(() => ({
    levels: hls ? hls.levels.map((l) => ({ width: l.width, height: l.height, bitrate: l.bitrate })) : null,
    options: [...document.getElementById('level').options].map((o) => o.textContent),
    status: document.getElementById('status').textContent,
    width: document.getElementById('video').videoWidth,
    height: document.getElementById('video').videoHeight,
  }));
  notes.push(`hls.js levels: ${JSON.stringify(seen.levels)}; quality options: ${JSON.stringify(seen.options)};`
             + ` status: "${seen.status}"`);
  const wanted = renditions.map((v) => `${v.width}x${v.height}`).sort();
  const got = (seen.levels ?? []).map((l) => `${l.width}x${l.height}`).sort();
  if (JSON.stringify(got) !== JSON.stringify(wanted)) {
    problems.push(`hls.js sees levels ${JSON.stringify(got)}, wanted ${JSON.stringify(wanted)}`);
  }
  // "auto" and one option per rendition, named by height.
  const heights = renditions.map((v) => `${v.height}p`);
  if (seen.options.length !== renditions.length + 1
      || !heights.every((h) => seen.options.some((o) => o.startsWith(`${h} `)))) {
    problems.push(`the quality <select> offers ${JSON.stringify(seen.options)}, wanted auto and ${heights.join(', ')}`);
  }
  const size = `${seen.width}x${seen.height}`;
  notes.push(`decoded picture: ${size}`);
  if (!wanted.includes(size)) problems.push(`the decoded picture is ${size}, not one of ${wanted.join(', ')}`);
  return { problems, notes };
}

// --- case 2: the index page ------------------------------------------

async function checkIndex(context, base, channel) {
  const playbackId = playbackIdOf(channel);
  const page = await context.newPage();
  try {
    await page.goto(`${base}/`);
    const began = Date.now();
    let seen = null;
    // The page sets each thumbnail's src at once and again every 2 s.
    while (Date.now() - began < limits.thumbnailMs) {
      seen = await page.evaluate((pid) => {
        const a = document.querySelector(`a[href="/watch/${pid}"]`);
        const img = a?.querySelector('img');
        return a && {
          text: a.textContent,
          src: img?.getAttribute('src') ?? null,
          complete: img?.complete ?? false,
          width: img?.naturalWidth ?? 0,
          height: img?.naturalHeight ?? 0,
        };
      }, playbackId).catch(() => null);  // the page reloads itself every 10 s
      if (seen?.complete && seen.width > 0) break;
      await sleep(100);
    }
    const problems = [];
    const notes = [`index entry: ${JSON.stringify(seen)}, after ${((Date.now() - began) / 1000).toFixed(1)} s`];
    if (!seen) {
      problems.push(`the index page has no link to /watch/${playbackId}`);
    } else {
      if (!/\blive\b/.test(seen.text)) problems.push(`the channel is listed as "${seen.text}", not live`);
      if (!seen.src?.startsWith(`/hls/${playbackId}/thumbnail.jpg`)) {
        problems.push(`the thumbnail <img> loads ${seen.src}, not /hls/${playbackId}/thumbnail.jpg`);
      }
      if (seen.width !== 320 || seen.height !== 180) {
        problems.push(`the thumbnail is ${seen.width}x${seen.height} (complete: ${seen.complete})`
                      + ` ${limits.thumbnailMs / 1000} s after loading the page, wanted 320x180`);
      }
    }
    // What the browser decoded is a picture; that it is a JPEG the bytes say.
    const res = await fetch(`${base}/hls/${playbackId}/thumbnail.jpg`);
    const body = Buffer.from(await res.arrayBuffer());
    const type = res.headers.get('content-type');
    notes.push(`thumbnail.jpg over HTTP: ${res.status}, ${type}, ${body.length} bytes`);
    if (res.status !== 200 || type !== 'image/jpeg' || body.subarray(0, 3).toString('hex') !== 'ffd8ff'
        || body.subarray(-2).toString('hex') !== 'ffd9') {
      problems.push(`thumbnail.jpg is not a JPEG served as image/jpeg: ${res.status}, ${type},`
                    + ` starts ${body.subarray(0, 4).toString('hex')}, ends ${body.subarray(-2).toString('hex')}`);
    }
    return { problems, notes };
  } finally {
    await page.close().catch(() => {});
  }
}

// --- case 3: the playlist URL from another origin --------------------

async function checkCors(context, origin, channel) {
  const page = await context.newPage();
  try {
    const problems = [];
    const notes = [];
    const from = new URL(origin.origin).origin;
    const to = new URL(channel.playlist_url).origin;
    notes.push(`page from ${from}, playlist from ${to}`);
    if (from === to) problems.push('the page and the playlist have the same origin: CORS is not tested');
    await page.goto(`${origin.origin}/?src=${encodeURIComponent(channel.playlist_url)}`);
    const start = await waitForPlayback(page, true);
    const rep = await page.evaluate(() => window.report);
    const errors = rep.errors.map((e) => `${e.fatal ? 'fatal ' : ''}${e.type}/${e.details} (${e.reason})`);
    if (errors.length) notes.push(`hls.js errors: ${errors.join('; ')}`);
    if (start.ms === null) {
      problems.push(`playback did not start: ${start.why}`);
      return { problems, notes };
    }
    notes.push(startedNote(start));
    const played = await judgeWindow(page, limits.corsWindowMs, limits.corsAdvancingMs);
    problems.push(...played.problems);
    notes.push(played.note);
    const after = await page.evaluate(() => window.report.errors.filter((e) => e.fatal).length);
    if (after) problems.push('hls.js raised a fatal error during playback');
    return { problems, notes };
  } finally {
    await page.close().catch(() => {});
  }
}

// --- case 4: DeleteChannel ends the watch page's playback ------------

async function checkEnd(page, base, channel) {
  const problems = [];
  const notes = [];
  // The hls.js instance playing now says when its playlist stops being live
  // and when it has buffered the last fragment.
  await page.evaluate(() => {
    window.probe.hooked = hls ? 'yes' : 'no hls';
    hls?.on(Hls.Events.LEVEL_UPDATED, (_, d) => { if (!d.details.live) window.probe.endlist = true; });
    hls?.on(Hls.Events.BUFFER_EOS, () => { window.probe.eos = true; });
  });
  const before = await page.evaluate(() => ({
    ct: document.getElementById('video').currentTime, now: performance.now(),
  }));
  const res = await rpc(base, 'DeleteChannel', { channel_id: channel.channel_id });
  const answer = await res.text();
  if (res.status !== 200) {
    problems.push(`DeleteChannel answered ${res.status} ${answer.trim()}`);
    return { problems, notes };
  }
  const deletedAt = Date.now();
  let probe = null;
  while (Date.now() - deletedAt < limits.endedMs) {
    probe = await page.evaluate(() => {
      const video = document.getElementById('video');
      return { ...window.probe, ct: video.currentTime, ended: video.ended, duration: video.duration,
               status: document.getElementById('status').textContent };
    });
    if (probe.endedAt !== null) break;
    await sleep(200);
  }
  const endedAfter = probe.endedAt === null ? null : (probe.endedAt - before.now) / 1000;
  notes.push(`after DeleteChannel: ${JSON.stringify({ ...probe, endedAt: undefined })};`
             + ` currentTime went from ${before.ct.toFixed(2)} s`
             + (endedAfter === null ? '' : `; 'ended' ${endedAfter.toFixed(1)} s after the delete`));
  if (probe.endedAt === null) {
    problems.push(`the watch page's <video> did not fire 'ended' within ${limits.endedMs / 1000} s of DeleteChannel`
                  + ` (hls.js saw EXT-X-ENDLIST: ${probe.endlist}, buffered the end: ${probe.eos})`);
  }
  // The files stay: a late viewer gets the ended playlists.
  const text = await (await fetch(channel.playlist_url.replace(/index\.m3u8$/, '0/index.m3u8'))).text();
  if (!/^#EXT-X-ENDLIST$/m.test(text)) problems.push('hls/<playback_id>/0/index.m3u8 has no EXT-X-ENDLIST after the delete');
  return { problems, notes };
}

// --- case 5: an AES-128 channel --------------------------------------

// The customer's side: an event webhook that keeps the keys key.created
// delivers, and a key server that answers them by id, with CORS as a key
// server for browsers must.
function startCustomer() {
  const keys = new Map();
  const events = [];
  const fetched = [];
  const server = http.createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/events') {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        const e = JSON.parse(body);
        events.push(e);
        if (e.type === 'key.created') keys.set(e.key_id, Buffer.from(e.key, 'hex'));
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('{}');
      });
      return;
    }
    const m = /^\/keys\/([0-9a-f]+)$/.exec(req.url);
    if (req.method === 'GET' && m && keys.has(m[1])) {
      fetched.push(m[1]);
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Access-Control-Allow-Origin': '*' });
      res.end(keys.get(m[1]));
      return;
    }
    res.writeHead(404, { 'Access-Control-Allow-Origin': '*' });
    res.end();
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok({
    url: `http://127.0.0.1:${server.address().port}`, keys, events, fetched,
    close: () => new Promise((done) => server.close(done)),
  })));
}

async function checkEncrypted(context, origin, base, logOnFailure) {
  const customer = await startCustomer();
  let publisher = null;
  try {
    const res = await rpc(base, 'CreateChannel', {
      hls: [{ video: { width: 320, height: 240, fps: 15, bps: 300000 }, audio: { bps: 64000 } }],
      segment_duration: 1, encrypt_key_uri: `${customer.url}/keys/{key_id}`, key_rotation: 4,
      event_webhook_url: `${customer.url}/events`,
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`CreateChannel answered ${res.status} ${text.trim()}`);
    const channel = JSON.parse(text);
    publisher = startProcess('publisher', nagareBin,
      ['publish-test', String(channel.rtp.video_port), String(channel.rtp.audio_port), '--seconds', '60']);
    logOnFailure('publish-test (AES-128)', publisher, 5);
    await waitForMultivariant(channel.playlist_url, publisher);
    const media = await (await fetch(channel.playlist_url.replace(/index\.m3u8$/, '0/index.m3u8'))).text();
    const played = await checkCors(context, origin, channel);
    const problems = [...played.problems];
    const notes = [...played.notes];
    const keyLines = media.split('\n').filter((l) => l.startsWith('#EXT-X-KEY:'));
    notes.push(`EXT-X-KEY in the playlist: ${keyLines.join(' | ')}`);
    notes.push(`keys delivered by the webhook: ${customer.keys.size}; fetched by the player: ${customer.fetched.length}`);
    if (!keyLines.length || !keyLines.every((l) => l.includes(`URI="${customer.url}/keys/`))) {
      problems.push('the playlist does not name the customer\'s key server in EXT-X-KEY');
    }
    if (!customer.fetched.length) problems.push('the player fetched no key from the customer\'s key server');
    return { problems, notes };
  } finally {
    await publisher?.stop('SIGINT', 5000);
    await customer.close();
  }
}

// --- the channel ----------------------------------------------------

async function waitForMultivariant(url, publisher) {
  const began = Date.now();
  while (Date.now() - began < limits.multivariantMs) {
    if (publisher.exited) throw new Error(`publish-test exited (${describe(publisher.exited)})`);
    const res = await fetch(url).catch(() => null);
    if (res?.status === 200 && (await res.text()).includes('#EXT-X-STREAM-INF')) return;
    await sleep(200);
  }
  throw new Error(`no multivariant playlist at ${url} within ${limits.multivariantMs / 1000} s of publishing`);
}

const playbackIdOf = (channel) => new URL(channel.playlist_url).pathname.split('/')[2];

runTest({
  name: 'serve player', cases, needs: ['playwright-core', 'hls.js'], dataPrefix: 'nagare-serve-player-',
  serveLog: 15, serveStopNote: 3,
}, main);
