// WebRTC ingest, end to end: browsers publish to `nagare serve` over WHIP
// (nagare's own publish page) and over Sora signaling (the unmodified
// sora-js-sdk), and hls.js in the same headless Chromium plays the result.
//
// The test starts `nagare serve` on a free loopback port with a temporary
// data folder and creates two channels (CreateChannel), each with two
// renditions, 640x360@30 800 kb/s and 320x180@15 300 kb/s, MP3 64 kb/s and
// 1 s segments. Chromium runs with fake camera and microphone. Five cases,
// each one TAP line, run in this order:
//   1. The publish page (/publish/<channel_id>) with its test pattern (the
//      canvas clock, 640x360 at 30 fps) and the fake microphone: Start makes
//      #state "connected" within 15 s; nagare's watch page then plays the
//      channel as serve_player_test.mjs judges it (currentTime advances
//      during 6 s of an 8 s window, never stands still 2 s) and its hls.js
//      sees exactly the two renditions. At the end Stop says "stopped" and
//      the DELETE of the WHIP session is answered 200 or 204.
//   2. sora_publish.html (Sora.connection(sora_url).sendonly(channel_id)
//      .connect(stream), in a second Chromium) on the second channel:
//      connect() resolves within 15 s, and hls.js (player.html, from another
//      origin) plays the channel: currentTime advances during 3.5 s of 5 s.
//   3. A second publish page on the first channel is refused: its WHIP POST
//      is answered 409, the page says "failed" and shows the refusal; the
//      first publisher stays "connected", the API says the channel is "live"
//      and its playlist gains at least 2 segments in the 4 s after the
//      refusal.
//   4. The second Chromium (the Sora publisher) is killed with SIGKILL: within
//      10 s GET /api/channels/<channel_id> says "state": "idle", while the
//      first channel's playlist gains at least 3 new segments, the newest
//      fetchable.
//   5. Figures, printed as diagnostics and held to generous bounds: time to
//      first segment (from the click on Start to the first media segment of
//      the channel answering 200 over HTTP; < 15 s) and glass-to-glass
//      latency: a viewer page (clock_viewer.html) plays the first channel
//      with hls.js at the live edge (lowLatencyMode off,
//      liveSyncDurationCount 1), draws every presented frame
//      (requestVideoFrameCallback) to a canvas, reads the test pattern's
//      clock (publish.html says how it is drawn) and subtracts it from
//      Date.now(); median and p90 over at least 60 frames read in an 8 s
//      window, both < 10 s, and at least half the frames readable.
// The whole test takes about 30-45 s. Without chromium, node_modules or
// (when NAGARE_BIN is not set) build/launcher/nagare every case says SKIP
// and why.
//
// Environment:
//   NAGARE_BIN        the nagare binary (meson passes it)
//   NAGARE_CHROMIUM   browser (default /usr/bin/chromium)
//   NAGARE_PLAYER_KEEP=1  keep the data folder and the serve log, and say where
import path from 'node:path';
import {
  collect, chromiumOptions, createChannel, firstLine, here, judgeWindow, runTest, sleep, startPlayerOrigin,
  startedNote, waitForPlayback,
} from './serve_harness.mjs';

const renditions = [
  { width: 640, height: 360, fps: 30, bps: 800000 },
  { width: 320, height: 180, fps: 15, bps: 300000 },
];

// serve_harness.mjs holds the rest: 10 s for nagare serve to start, 20 s
// for playback to start, 2 s the longest stand-still, samples every 100 ms.
const limits = {
  pageReadyMs: 10000,       // the publish page has listed the devices
  connectMs: 15000,         // from Start (or page load) to connected
  firstSegmentMs: 15000,    // from Start to a media segment answering 200
  watchWindowMs: 8000,
  watchAdvancingMs: 6000,
  soraWindowMs: 5000,
  soraAdvancingMs: 3500,
  refusalMs: 10000,         // the second publisher's page says failed
  growthMs: 4000,           // the first channel's playlist is watched this long after the refusal
  growthSegments: 2,
  idleMs: 10000,            // from the kill to "state": "idle"
  idleGrowthSegments: 3,    // the other channel's playlist meanwhile
  latencyWindowMs: 8000,
  latencyFrames: 60,
  latencyBoundMs: 10000,
};

const cases = [
  'the publish page publishes its test pattern over WHIP and the watch page plays both renditions',
  'the unmodified Sora JavaScript SDK publishes sendonly over Sora signaling and hls.js plays the channel',
  'a second publisher on a published channel is refused (WHIP 409, shown on its page) and the first keeps going',
  'a publisher killed mid-stream leaves its channel idle while the other channel keeps making segments',
  'time to first segment and glass-to-glass latency of the publish page\'s test pattern',
];

// Fake camera and microphone that need no permission prompt.
const fakeDevices = ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream'];

// A throw means no further case can be judged (no channel, no browser, or
// no first publisher).
async function main({ serve, results, userDataDir }) {
  let context = null;
  let soraBrowser = null;
  let origin = null;
  try {
    const [chA, chB] = await Promise.all([createChannel(serve.url, renditions), createChannel(serve.url, renditions)]);
    const { chromium } = await import('playwright-core');
    [context, soraBrowser] = await Promise.all([
      chromium.launchPersistentContext(userDataDir, chromiumOptions(fakeDevices)),
      // Its own process, so that case 4 can kill it.
      chromium.launchServer(chromiumOptions(fakeDevices))
        .then(async (server) => ({ server, browser: await chromium.connect(server.wsEndpoint()) })),
    ]);
    origin = await startPlayerOrigin();
    origin.mount('sora', path.join(here, 'node_modules', 'sora-js-sdk', 'dist'));
    // sora_publish.html and clock_viewer.html are served over HTTP like
    // player.html: Chromium lets a page that playwright made up reach no
    // loopback address.
    origin.mount('pages', here);

    const publisher = await publishA(context, chA, results[0], results[4]);
    const sora = { connected: false };
    await Promise.all([
      collect(results[0], () => checkWatch(context, chA)),
      collect(results[1], () => checkSora(soraBrowser.browser, context, origin, chB, sora)),
    ]);
    await collect(results[2], () => checkSecondPublisher(context, serve.url, chA, publisher));
    await collect(results[4], () => checkLatency(context, origin, chA));
    if (!sora.connected) {
      results[3].done = true;
      results[3].problems.push('not reached: the Sora SDK publisher (case 2) is the one to kill, and it did not connect');
    } else {
      await collect(results[3], () => checkKill(soraBrowser.server, serve.url, chA, chB));
    }
    await collect(results[0], () => stopPublisher(publisher));
  } finally {
    await context?.close().catch(() => {});
    await soraBrowser?.server.kill().catch(() => {});
    await origin?.close();
  }
}

// --- the publish page ----------------------------------------------------

// Opens /publish/<channel_id>, picks the test pattern at 640x360 (the
// microphone stays the fake one) and answers the page with what it did:
// the WHIP requests it made and the errors it raised.
async function openPublishPage(context, channel) {
  const page = await context.newPage();
  const seen = { whip: [], errors: [] };
  page.on('pageerror', (e) => seen.errors.push(firstLine(e)));
  page.on('response', (res) => {
    const req = res.request();
    if (new URL(req.url()).pathname.startsWith('/whip/')) {
      seen.whip.push({ method: req.method(), status: res.status(), location: res.headers().location ?? null });
    }
  });
  await page.goto(channel.publish_url);
  await page.waitForFunction(
    () => [...document.getElementById('camera').options].some((o) => o.value === 'pattern'),
    null, { timeout: limits.pageReadyMs });
  await page.selectOption('#resolution', '640x360');
  await page.selectOption('#camera', 'pattern');
  return { page, seen };
}

// The page's state once it is one of `wanted` (or failed), or at the limit.
async function waitForState(page, wanted, limitMs) {
  const began = Date.now();
  let s = null;
  while (Date.now() - began < limitMs) {
    s = await page.evaluate(() => ({ state: window.nagarePublish.state, error: window.nagarePublish.error,
                                     shown: document.getElementById('state').textContent,
                                     stats: document.getElementById('stats').textContent }));
    if (wanted.includes(s.state) || s.state === 'failed') break;
    await sleep(50);
  }
  return { ...s, ms: Date.now() - began };
}

// Case 1's publisher, which the later cases lean on: without it they are
// not reached. Case 5's time to first segment is measured here.
async function publishA(context, channel, r1, r5) {
  const publisher = await openPublishPage(context, channel);
  const clickAt = Date.now();
  await publisher.page.click('#start');
  const s = await waitForState(publisher.page, ['connected'], limits.connectMs);
  // No segment comes before the connection; its time still counts from Start.
  const first = s.state === 'connected' ? await firstSegment(channel, clickAt, limits.firstSegmentMs)
                                        : { ms: null, why: `the publish page is "${s.state}"` };
  r1.notes.push(`publish page: state "${s.state}" (shown "${s.shown}") ${(s.ms / 1000).toFixed(1)} s after Start;`
                + ` WHIP: ${JSON.stringify(publisher.seen.whip)}`);
  if (s.state !== 'connected') {
    r1.problems.push(`the publish page did not connect within ${limits.connectMs / 1000} s: state "${s.state}",`
                     + ` error "${s.error}"`);
  }
  if (s.shown !== s.state) r1.problems.push(`#state shows "${s.shown}" while the page is "${s.state}"`);
  if (first.ms === null) {
    r5.done = true;
    r5.problems.push(`no media segment within ${limits.firstSegmentMs / 1000} s of Start (${first.why})`);
    throw new Error(`the publish page's channel made no segment (state "${s.state}", error "${s.error}")`);
  }
  r5.notes.push(`time to first segment: ${(first.ms / 1000).toFixed(2)} s (from Start to ${first.url} answering 200;`
                + ` "connected" after ${(s.ms / 1000).toFixed(2)} s)`);
  if (first.ms > limits.firstSegmentMs) r5.problems.push('the first segment came too late');
  const stats = await waitForStats(publisher.page);
  r1.notes.push(`the page says: "${stats}"`);
  if (!/^sending H264 /.test(stats)) r1.problems.push(`the browser is not sending H.264: "${stats}"`);
  return publisher;
}

// The page's own line on what it sends, once it has one.
async function waitForStats(page) {
  const began = Date.now();
  let text = '';
  while (Date.now() - began < 3000) {
    text = await page.evaluate(() => document.getElementById('stats').textContent);
    if (/[1-9]\d* kb\/s/.test(text)) break;
    await sleep(200);
  }
  return text;
}

// ms from `since` until the first media segment of any rendition answers 200.
async function firstSegment(channel, since, limitMs) {
  const base = channel.playlist_url.replace(/index\.m3u8$/, '');
  let why = 'no media playlist';
  while (Date.now() - since < limitMs) {
    for (let i = 0; i < renditions.length; i++) {
      const media = `${base}${i}/index.m3u8`;
      const list = await fetchText(media);
      const uri = list?.split('\n').find((l) => l && !l.startsWith('#'));
      if (!uri) continue;
      const url = new URL(uri.trim(), media).href;
      const res = await fetch(url).catch((e) => ({ status: String(e) }));
      if (res.status === 200) {
        await res.arrayBuffer();
        return { ms: Date.now() - since, url: new URL(url).pathname };
      }
      why = `${url} answered ${res.status}`;
    }
    await sleep(100);
  }
  return { ms: null, why };
}

async function stopPublisher({ page, seen }) {
  const before = seen.whip.length;
  await page.click('#start');
  const began = Date.now();
  let got = null;
  while (Date.now() - began < 5000) {
    got = await page.evaluate(() => ({ state: window.nagarePublish.state, error: window.nagarePublish.error }));
    if (seen.whip.length > before) break;
    await sleep(50);
  }
  const del = seen.whip.slice(before).find((w) => w.method === 'DELETE');
  const problems = [];
  const notes = [`Stop: state "${got.state}", DELETE answered ${del?.status ?? 'nothing'}`];
  if (got.state !== 'stopped') problems.push(`after Stop the page says "${got.state}"`);
  if (!del) problems.push('Stop sent no DELETE to the WHIP session');
  else if (del.status !== 200 && del.status !== 204) problems.push(`the DELETE of the session answered ${del.status}`);
  if (got.error) problems.push(`the page shows an error after Stop: "${got.error}"`);
  if (seen.errors.length) problems.push(`error in the publish page: ${seen.errors.join('; ')}`);
  return { problems, notes };
}

// --- case 1: the watch page plays --------------------------------------

async function checkWatch(context, channel) {
  const page = await context.newPage();
  try {
    await page.goto(channel.watch_url);
    const start = await waitForPlayback(page);
    if (start.ms === null) throw new Error(`watch page: playback did not start: ${start.why}`);
    const { problems, note } = await judgeWindow(page, limits.watchWindowMs, limits.watchAdvancingMs);
    const notes = [`watch page: ${startedNote(start)}`, note];
    // The page keeps its hls.js instance in a top-level `let hls`.
    const seen = await page.evaluate(() => ({
      levels: hls ? hls.levels.map((l) => `${l.width}x${l.height}`) : null,
      size: `${document.getElementById('video').videoWidth}x${document.getElementById('video').videoHeight}`,
    }));
    notes.push(`hls.js levels: ${JSON.stringify(seen.levels)}, decoded picture ${seen.size}`);
    const wanted = renditions.map((v) => `${v.width}x${v.height}`).sort();
    const got = [...(seen.levels ?? [])].sort();
    if (JSON.stringify(got) !== JSON.stringify(wanted)) {
      problems.push(`hls.js sees levels ${JSON.stringify(got)}, wanted ${JSON.stringify(wanted)}`);
    }
    if (!wanted.includes(seen.size)) problems.push(`the decoded picture is ${seen.size}, not one of ${wanted}`);
    // The frame rates the multivariant playlist counts: a browser's H.264
    // states no rate, and each rendition must still be held to its own (at
    // most 5% over), and the 15 fps one, which the source exceeds, must get
    // close to it.
    const master = await fetchText(channel.playlist_url) ?? '';
    const claimed = [...master.matchAll(/RESOLUTION=(\d+x\d+),FRAME-RATE=([\d.]+)/g)].map((m) => [m[1], Number(m[2])]);
    notes.push(`the multivariant playlist says ${claimed.map(([r, f]) => `${r}@${f}`).join(', ')} (configured`
               + ` ${renditions.map((v) => `${v.width}x${v.height}@${v.fps}`).join(', ')})`);
    for (const v of renditions) {
      const rate = claimed.find(([r]) => r === `${v.width}x${v.height}`)?.[1];
      if (rate === undefined || rate > v.fps * 1.05 || (v.fps === 15 && rate < 12)) {
        problems.push(`${v.width}x${v.height} comes out at ${rate} fps, configured ${v.fps}`);
      }
    }
    return { problems, notes };
  } finally {
    await page.close().catch(() => {});
  }
}

// --- case 2: the Sora SDK ----------------------------------------------

async function checkSora(browser, context, origin, channel, sora) {
  const problems = [];
  const notes = [];
  const publisher = await (await browser.newContext()).newPage();
  const errors = [];
  publisher.on('pageerror', (e) => errors.push(firstLine(e)));
  const loadedAt = Date.now();
  await publisher.goto(`${origin.origin}/pages/sora_publish.html?url=${encodeURIComponent(channel.sora_url)}`
                       + `&channel=${encodeURIComponent(channel.channel_id)}`);
  let rep = null;
  while (Date.now() - loadedAt < limits.connectMs) {
    rep = await publisher.evaluate(() => window.report ?? null);
    if (rep && rep.state !== 'connecting' && rep.state !== 'idle') break;
    await sleep(50);
  }
  const shown = await publisher.evaluate(() => document.getElementById('state').textContent);
  notes.push(`Sora SDK: ${JSON.stringify(rep)}, #state "${shown}", ${((Date.now() - loadedAt) / 1000).toFixed(1)} s`
             + ' after the page loaded');
  if (errors.length) problems.push(`error in the Sora page: ${errors.join('; ')}`);
  if (rep?.state !== 'connected') {
    problems.push(`connect() did not resolve within ${limits.connectMs / 1000} s: ${rep?.state} ${rep?.error ?? ''}`);
    return { problems, notes };
  }
  sora.connected = true;
  const first = await firstSegment(channel, rep.connectedAt, limits.firstSegmentMs);
  if (first.ms === null) {
    problems.push(`no media segment within ${limits.firstSegmentMs / 1000} s of connecting (${first.why})`);
    return { problems, notes };
  }
  notes.push(`first segment ${(first.ms / 1000).toFixed(2)} s after connect() resolved`);
  // player.html gives up on a 404, so it starts once the multivariant
  // playlist is there (written when every rendition has a segment).
  const waitUntil = Date.now() + limits.firstSegmentMs;
  while (await fetchText(channel.playlist_url) === null && Date.now() < waitUntil) await sleep(100);
  const page = await context.newPage();
  try {
    await page.goto(`${origin.origin}/?src=${encodeURIComponent(channel.playlist_url)}`);
    const start = await waitForPlayback(page);
    if (start.ms === null) {
      const errs = await page.evaluate(() => window.report.errors);
      problems.push(`playback did not start: ${start.why}; hls.js errors: ${JSON.stringify(errs)}`);
      return { problems, notes };
    }
    const played = await judgeWindow(page, limits.soraWindowMs, limits.soraAdvancingMs);
    problems.push(...played.problems);
    notes.push(startedNote(start), played.note);
    const fatal = await page.evaluate(() => window.report.errors.filter((e) => e.fatal));
    if (fatal.length) problems.push(`hls.js raised fatal errors: ${JSON.stringify(fatal)}`);
    return { problems, notes };
  } finally {
    await page.close().catch(() => {});
  }
}

// --- case 3: a second publisher ----------------------------------------

async function checkSecondPublisher(context, base, channel, first) {
  const problems = [];
  const notes = [];
  const media = channel.playlist_url.replace(/index\.m3u8$/, '0/index.m3u8');
  const second = await openPublishPage(context, channel);
  try {
    await second.page.click('#start');
    const s = await waitForState(second.page, ['connected'], limits.refusalMs);
    const post = second.seen.whip.find((w) => w.method === 'POST');
    const shown = await second.page.evaluate(() => document.getElementById('error').textContent);
    notes.push(`second publisher: state "${s.state}", WHIP POST answered ${post?.status ?? 'nothing'},`
               + ` the page shows "${shown}"`);
    if (post?.status !== 409) problems.push(`the second publisher's WHIP POST was answered ${post?.status}, not 409`);
    if (s.state !== 'failed') problems.push(`the second publish page says "${s.state}", not failed`);
    if (!/409/.test(shown)) problems.push('the second publish page does not show the refusal (409)');
  } finally {
    await second.page.close().catch(() => {});
  }
  const before = await playlistHead(media);
  await sleep(limits.growthMs);
  const after = await playlistHead(media);
  const state = await first.page.evaluate(() => window.nagarePublish.state);
  const api = await channelState(base, channel);
  const grew = after && before ? after.last - before.last : null;
  notes.push(`the first channel's playlist gained ${grew} segments in ${limits.growthMs / 1000} s after the refusal;`
             + ` the first publisher says "${state}", the API "${api}"`);
  if (api !== 'live') problems.push(`after the refusal the API says the channel is "${api}", not live`);
  if (grew === null || grew < limits.growthSegments) {
    problems.push(`the first channel's playlist gained ${grew} segments, wanted at least ${limits.growthSegments}`);
  }
  if (state !== 'connected') problems.push(`the first publisher says "${state}" after the refusal`);
  return { problems, notes };
}

// --- case 4: a publisher killed ----------------------------------------

async function checkKill(soraServer, base, live, killed) {
  const problems = [];
  const notes = [];
  const stateOf = (ch) => channelState(base, ch);
  const media = live.playlist_url.replace(/index\.m3u8$/, '0/index.m3u8');
  const was = await stateOf(killed);
  if (was !== 'live') problems.push(`before the kill the Sora publisher's channel is "${was}", not live`);
  const before = await playlistHead(media);
  const killedAt = Date.now();
  await soraServer.kill();
  const states = [];
  let idleAt = null;
  while (Date.now() - killedAt < limits.idleMs) {
    const s = await stateOf(killed);
    if (states.at(-1)?.state !== s) states.push({ state: s, s: ((Date.now() - killedAt) / 1000).toFixed(1) });
    if (s === 'idle') {
      idleAt = Date.now();
      break;
    }
    await sleep(250);
  }
  // The other channel is given at least as long as the idle detection took.
  await sleep(Math.max(0, 3500 - (Date.now() - killedAt)));
  const after = await playlistHead(media);
  const newest = after ? await fetch(after.url).then((r) => r.status, (e) => String(e)) : 'no playlist';
  const grew = after && before ? after.last - before.last : null;
  notes.push(`after the kill the channel's state went ${states.map((s) => `${s.state} (${s.s} s)`).join(' → ')};`
             + ` the other channel gained ${grew} segments in ${((Date.now() - killedAt) / 1000).toFixed(1)} s,`
             + ` its newest answering ${newest}`);
  if (idleAt === null) problems.push(`the killed publisher's channel was not idle within ${limits.idleMs / 1000} s`);
  if (grew === null || grew < limits.idleGrowthSegments || newest !== 200) {
    problems.push(`the other channel gained ${grew} segments (newest answering ${newest}),`
                  + ` wanted at least ${limits.idleGrowthSegments}`);
  }
  return { problems, notes };
}

// --- case 5: glass-to-glass --------------------------------------------

async function checkLatency(context, origin, channel) {
  const page = await context.newPage();
  try {
    await page.goto(`${origin.origin}/pages/clock_viewer.html?src=${encodeURIComponent(channel.playlist_url)}`);
    const start = await waitForPlayback(page);
    if (start.ms === null) {
      const errs = await page.evaluate(() => window.report.errors);
      throw new Error(`the viewer did not play: ${start.why}; hls.js errors: ${JSON.stringify(errs)}`);
    }
    const got = await page.evaluate((ms) => window.measure(ms), limits.latencyWindowMs);
    const level = await page.evaluate(() => window.report.level);
    const problems = [];
    const sorted = [...got.ms].sort((a, b) => a - b);
    const total = sorted.length + got.unread;
    const notes = [`viewer: hls.js with lowLatencyMode off and liveSyncDurationCount 1, playing the ${level}p`
                   + ` rendition; ${sorted.length} of ${total} presented frames readable in`
                   + ` ${limits.latencyWindowMs / 1000} s (${(total / (limits.latencyWindowMs / 1000)).toFixed(1)}`
                   + ` frames/s; sizes ${JSON.stringify(got.sizes)})`];
    if (sorted.length < limits.latencyFrames || sorted.length < total / 2) {
      problems.push(`only ${sorted.length} of ${total} frames had a readable clock`
                    + ` (at least ${limits.latencyFrames} and half wanted)`);
    }
    if (!sorted.length) return { problems, notes };
    const median = quantile(sorted, 0.5);
    const p90 = quantile(sorted, 0.9);
    notes.unshift(`glass-to-glass: median ${Math.round(median)} ms, p90 ${Math.round(p90)} ms over`
                  + ` ${sorted.length} frames (min ${sorted[0]} ms, max ${sorted.at(-1)} ms)`);
    if (sorted[0] < 0) problems.push(`a frame was read as ${sorted[0]} ms from the future: the clock reading is wrong`);
    if (median > limits.latencyBoundMs || p90 > limits.latencyBoundMs) {
      problems.push(`glass-to-glass over ${limits.latencyBoundMs} ms`);
    }
    return { problems, notes };
  } finally {
    await page.close().catch(() => {});
  }
}

function quantile(sorted, q) {
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  return sorted[lo] + (sorted[Math.min(lo + 1, sorted.length - 1)] - sorted[lo]) * (at - lo);
}

// --- the channels' playlists and state --------------------------------

// "state" of GET /api/channels/<channel_id> (launcher/lifecycle.hpp names them).
async function channelState(base, channel) {
  return JSON.parse(await fetchText(`${base}/api/channels/${channel.channel_id}`) ?? '{}').state;
}

// A media playlist's newest segment: its media sequence number and URL.
async function playlistHead(url) {
  const text = await fetchText(url);
  if (!text) return null;
  const seq = Number(/^#EXT-X-MEDIA-SEQUENCE:(\d+)/m.exec(text)?.[1] ?? 0);
  const uris = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  if (!uris.length) return null;
  return { last: seq + uris.length - 1, url: new URL(uris.at(-1), url).href };
}

async function fetchText(url) {
  const res = await fetch(url, { cache: 'no-store' }).catch(() => null);
  if (res?.status !== 200) return null;
  return res.text();
}

runTest({
  name: 'WebRTC publish', cases, needs: ['playwright-core', 'hls.js', 'sora-js-sdk'],
  dataPrefix: 'nagare-webrtc-publish-', serveLog: 25, serveStopNote: 3,
}, main);
