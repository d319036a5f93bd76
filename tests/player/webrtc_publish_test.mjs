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
//      latency: a viewer page plays the first channel with hls.js at the live
//      edge (lowLatencyMode off, liveSyncDurationCount 1), draws every
//      presented frame (requestVideoFrameCallback) to a canvas, reads the
//      test pattern's clock (publish.html says how it is drawn) and subtracts
//      it from Date.now(); median and p90 over at least 60 frames read in an
//      8 s window, both < 10 s, and at least half the frames readable.
// The whole test takes about 30-45 s. Without chromium, node_modules or
// (when NAGARE_BIN is not set) build/launcher/nagare every case says SKIP
// and why.
//
// Environment:
//   NAGARE_BIN        the nagare binary (meson passes it)
//   NAGARE_CHROMIUM   browser (default /usr/bin/chromium)
//   NAGARE_PLAYER_KEEP=1  keep the data folder and the serve log, and say where
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from './serve.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const nagareBin = process.env.NAGARE_BIN || path.join(here, '..', '..', 'build', 'launcher', 'nagare');
const chromiumPath = process.env.NAGARE_CHROMIUM || '/usr/bin/chromium';
const keep = process.env.NAGARE_PLAYER_KEEP === '1';

const renditions = [
  { width: 640, height: 360, fps: 30, bps: 800000 },
  { width: 320, height: 180, fps: 15, bps: 300000 },
];
const channelConfig = {
  hls: renditions.map((video) => ({ video, audio: { bps: 64000, codec: 'mp3' } })),
  segment_duration: 1,
};

const limits = {
  serveStartMs: 10000,      // nagare serve prints its URL
  pageReadyMs: 10000,       // the publish page has listed the devices
  connectMs: 15000,         // from Start (or page load) to connected
  firstSegmentMs: 15000,    // from Start to a media segment answering 200
  playbackStartMs: 20000,   // from page load to the first move of currentTime
  watchWindowMs: 8000,
  watchAdvancingMs: 6000,
  longestStillMs: 2000,
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
  periodMs: 100,
};

const cases = [
  'the publish page publishes its test pattern over WHIP and the watch page plays both renditions',
  'the unmodified Sora JavaScript SDK publishes sendonly over Sora signaling and hls.js plays the channel',
  'a second publisher on a published channel is refused (WHIP 409, shown on its page) and the first keeps going',
  'a publisher killed mid-stream leaves its channel idle while the other channel keeps making segments',
  'time to first segment and glass-to-glass latency of the publish page\'s test pattern',
];

// As serve_player_test.mjs starts it, with fake camera and microphone that
// need no permission prompt.
const chromiumArgs = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
  '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
];

// Children and temporary folders go however the test ends: meson's timeout
// sends SIGTERM, which becomes an exit. playwright kills its browsers on exit.
const children = new Set();
const temporary = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of temporary) fs.rmSync(dir, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => process.exit(128 + os.constants.signals[signal]));
}

async function main() {
  console.log(`1..${cases.length}`);
  const missing = whatIsMissing();
  if (missing) {
    cases.forEach((name, i) => console.log(`ok ${i + 1} - ${name} # SKIP ${missing}`));
    return;
  }
  const results = cases.map(() => ({ problems: [], notes: [] }));
  const began = Date.now();
  const dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'nagare-webrtc-publish-'));
  temporary.add(dataDir);
  const userDataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'nagare-chromium-'));
  temporary.add(userDataDir);

  let serve = null;
  let context = null;
  let soraBrowser = null;
  let origin = null;
  try {
    serve = await startServe(dataDir);
    const [chA, chB] = await Promise.all([createChannel(serve.url), createChannel(serve.url)]);
    const { chromium } = await import('playwright-core');
    [context, soraBrowser] = await Promise.all([
      chromium.launchPersistentContext(userDataDir, {
        executablePath: chromiumPath, headless: true, args: chromiumArgs,
      }),
      // Its own process, so that case 4 can kill it.
      chromium.launchServer({ executablePath: chromiumPath, headless: true, args: chromiumArgs })
        .then(async (server) => ({ server, browser: await chromium.connect(server.wsEndpoint()) })),
    ]);
    origin = await startServer({
      page: path.join(here, 'player.html'),
      hlsjs: path.join(here, 'node_modules', 'hls.js', 'dist', 'hls.min.js'),
    });
    origin.mount('sora', path.join(here, 'node_modules', 'sora-js-sdk', 'dist'));
    origin.mount('pages', here);
    // The viewer is served over HTTP like the other pages: Chromium lets a
    // page that playwright made up reach no loopback address.
    const viewerDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'nagare-webrtc-viewer-'));
    temporary.add(viewerDir);
    await fsp.writeFile(path.join(viewerDir, 'viewer.html'), viewerPage);
    origin.mount('viewer', viewerDir);

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
  } catch (e) {
    // Without a server, a channel, a browser or the first publisher no
    // further case can be judged.
    for (const r of results) if (!r.done) r.problems.push(`not reached: ${firstLine(e)}`);
  } finally {
    await context?.close().catch(() => {});
    await soraBrowser?.server.kill().catch(() => {});
    await origin?.close();
    if (serve) {
      const stopped = await serve.proc.stop('SIGTERM', 15000);
      results[3].notes.push(`nagare serve on SIGTERM: ${describe(stopped)}`);
    }
  }

  const failed = results.some((r) => r.problems.length);
  if (failed && serve) {
    const last = results.findLast((r) => r.problems.length);
    last.notes.push(...serve.proc.log.slice(-25).map((l) => `nagare serve said: ${l}`));
  }
  results[4].notes.push(`the test took ${((Date.now() - began) / 1000).toFixed(1)} s`);
  if (keep) {
    temporary.delete(dataDir);
    if (serve) await fsp.writeFile(path.join(dataDir, 'serve.log'), serve.proc.log.join('\n') + '\n');
    results[4].notes.push(`kept ${dataDir}`);
  }
  results.forEach((r, i) => tap(i + 1, cases[i], r));
}

function whatIsMissing() {
  try {
    fs.accessSync(chromiumPath, fs.constants.X_OK);
  } catch {
    return `no chromium at ${chromiumPath} (scripts/install-deps installs Debian's chromium)`;
  }
  for (const m of ['playwright-core', 'hls.js', 'sora-js-sdk']) {
    if (!fs.existsSync(path.join(here, 'node_modules', m, 'package.json'))) {
      return `no tests/player/node_modules/${m} (scripts/install-deps runs npm ci in tests/player)`;
    }
  }
  // Meson names the binary it built: one missing then is a failure, not a skip.
  if (!process.env.NAGARE_BIN) {
    try {
      fs.accessSync(nagareBin, fs.constants.X_OK);
    } catch {
      return `no nagare binary at ${nagareBin} (set NAGARE_BIN, or build it)`;
    }
  }
  return null;
}

// Runs one case's check, which answers {problems, notes}, into r. A check
// throws only when the case cannot go on.
async function collect(r, check) {
  r.done = true;
  try {
    const got = await check();
    r.problems.push(...got.problems);
    r.notes.push(...got.notes);
  } catch (e) {
    r.problems.push(firstLine(e));
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
    const notes = [`watch page: playback started ${(start.ms / 1000).toFixed(1)} s after the page loaded`];
    const sampled = await page.evaluate(sampleVideo, [limits.watchWindowMs, limits.periodMs]);
    const problems = judgePlayback(sampled, limits.watchWindowMs, limits.watchAdvancingMs);
    notes.push(playbackNote(sampled));
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
    const sampled = await page.evaluate(sampleVideo, [limits.soraWindowMs, limits.periodMs]);
    problems.push(...judgePlayback(sampled, limits.soraWindowMs, limits.soraAdvancingMs));
    notes.push(`playback started ${(start.ms / 1000).toFixed(1)} s after the page loaded`, playbackNote(sampled));
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

// The viewer: hls.js at the live edge; every presented frame is drawn to a
// canvas and the test pattern's clock read from it (the layout is
// publish.html's: 12 x 4 cells over the top half; markers in cells 0, 1 and
// 42..47; 32 bits of Date.now() mod 2^32 in 2..33, big end first; a check
// byte in 34..41).
const viewerPage = `<!doctype html>
<meta charset="utf-8">
<script src="/hls.js"></script>
<video id="video" autoplay muted playsinline></video>
<script>
'use strict';
const video = document.getElementById('video');
const report = { errors: [], level: null };
window.report = report;
const hls = new Hls({ lowLatencyMode: false, liveSyncDurationCount: 1 });
hls.on(Hls.Events.ERROR, (_, d) => report.errors.push({ fatal: !!d.fatal, details: String(d.details),
                                                       reason: String(d.reason ?? d.error ?? d.response?.code ?? '') }));
hls.on(Hls.Events.LEVEL_SWITCHED, (_, d) => { report.level = hls.levels[d.level].height; });
hls.loadSource(new URLSearchParams(location.search).get('src'));
hls.attachMedia(video);

const canvas = document.createElement('canvas');
const ctx = canvas.getContext('2d', { willReadFrequently: true });

function readClock(w, h) {
  const cols = 12, rows = 4, cw = w / cols, ch = h / 2 / rows;
  const img = ctx.getImageData(0, 0, w, Math.ceil(h / 2));
  const lum = [];
  for (let i = 0; i < cols * rows; i++) {
    const cx = ((i % cols) + 0.5) * cw, cy = (Math.floor(i / cols) + 0.5) * ch;
    let sum = 0, n = 0;
    for (let y = Math.round(cy - ch / 4); y <= Math.round(cy + ch / 4); y += 2) {
      for (let x = Math.round(cx - cw / 4); x <= Math.round(cx + cw / 4); x += 2) {
        const o = (y * w + x) * 4;
        sum += img.data[o] + img.data[o + 1] + img.data[o + 2];
        n++;
      }
    }
    lum.push(sum / n / 3);
  }
  const white = [0, 43, 45, 47].map((i) => lum[i]), black = [1, 42, 44, 46].map((i) => lum[i]);
  const lo = Math.min(...white), hi = Math.max(...black);
  if (lo - hi < 60) return null;
  const bit = (i) => (lum[i] > (lo + hi) / 2 ? 1 : 0);
  let t = 0;
  for (let i = 2; i < 34; i++) t = t * 2 + bit(i);
  let check = 0;
  for (let i = 34; i < 42; i++) check = check * 2 + bit(i);
  const sum = ((t >>> 24) + ((t >>> 16) & 255) + ((t >>> 8) & 255) + (t & 255)) & 255;
  return (sum ^ 0x5a) === check ? t : null;
}

let window_ = null;
function onFrame(_, meta) {
  const now = Date.now();
  if (window_) {
    const w = video.videoWidth, h = video.videoHeight;
    if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
    ctx.drawImage(video, 0, 0, w, h);
    const t = readClock(w, h);
    if (t === null) {
      window_.unread++;
    } else {
      let d = (now % 4294967296) - t;
      if (d < -2147483648) d += 4294967296;
      if (d > 2147483648) d -= 4294967296;
      window_.ms.push(d);
      window_.sizes[w + 'x' + h] = (window_.sizes[w + 'x' + h] ?? 0) + 1;
    }
  }
  video.requestVideoFrameCallback(onFrame);
}
video.requestVideoFrameCallback(onFrame);

// Reads every presented frame for durationMs.
window.measure = (durationMs) => new Promise((resolve) => {
  window_ = { ms: [], unread: 0, sizes: {} };
  setTimeout(() => { const w = window_; window_ = null; resolve(w); }, durationMs);
});
</script>`;

async function checkLatency(context, origin, channel) {
  const page = await context.newPage();
  try {
    await page.goto(`${origin.origin}/viewer/viewer.html?src=${encodeURIComponent(channel.playlist_url)}`);
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

// --- shared by the cases (as in serve_player_test.mjs) ------------------

// ms from page load until currentTime grows between two reads, or null with why.
async function waitForPlayback(page) {
  const loaded = Date.now();
  let before = null;
  while (Date.now() - loaded < limits.playbackStartMs) {
    const ct = await page.evaluate(() => document.getElementById('video').currentTime);
    if (before !== null && ct > before) return { ms: Date.now() - loaded };
    before = ct;
    await sleep(50);
  }
  return { ms: null, why: `currentTime did not move within ${limits.playbackStartMs / 1000} s of loading the page` };
}

// Runs inside the page: reads the <video> element every periodMs for durationMs.
function sampleVideo([durationMs, periodMs]) {
  const video = document.getElementById('video');
  return new Promise((resolve) => {
    const samples = [];
    const t0 = performance.now();
    const take = () => {
      const t = performance.now() - t0;
      samples.push({ t, ct: video.currentTime });
      if (t >= durationMs) {
        clearInterval(timer);
        resolve(samples);
      }
    };
    const timer = setInterval(take, periodMs);
    take();
  });
}

function stillness(s) {
  let advancing = 0;
  let run = 0;
  let longest = { ms: 0, at: s[0].ct };
  for (let i = 1; i < s.length; i++) {
    const dt = s[i].t - s[i - 1].t;
    if (s[i].ct > s[i - 1].ct) {
      advancing += dt;
      run = 0;
    } else {
      run += dt;
      if (run > longest.ms) longest = { ms: run, at: s[i].ct };
    }
  }
  return { advancing, longest };
}

function judgePlayback(s, windowMs, advancingMs) {
  const problems = [];
  const { advancing, longest } = stillness(s);
  if (advancing < advancingMs) {
    problems.push(`currentTime advanced during only ${(advancing / 1000).toFixed(2)} s of`
                  + ` ${(windowMs / 1000).toFixed(0)} s (at least ${advancingMs / 1000} s wanted)`);
  }
  if (longest.ms >= limits.longestStillMs) {
    problems.push(`playback stood still for ${Math.round(longest.ms)} ms at currentTime ${longest.at.toFixed(2)}`);
  }
  return problems;
}

function playbackNote(s) {
  const { advancing, longest } = stillness(s);
  const last = s[s.length - 1];
  return `currentTime advanced during ${(advancing / 1000).toFixed(2)} s of ${(last.t / 1000).toFixed(2)} s`
         + ` of wall time (media time ${(last.ct - s[0].ct).toFixed(2)} s, longest stand-still`
         + ` ${Math.round(longest.ms)} ms)`;
}

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

// --- nagare serve and its API ----------------------------------------

async function startServe(dataDir) {
  const proc = startProcess('nagare serve', nagareBin,
    ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir]);
  const began = Date.now();
  while (Date.now() - began < limits.serveStartMs) {
    const m = proc.log.map((l) => /listening on (http:\/\/\S+)/.exec(l)).find(Boolean);
    if (m) return { url: m[1].replace(/\/$/, ''), proc };
    if (proc.exited) break;
    await sleep(50);
  }
  throw new Error(`nagare serve did not print its URL: ${proc.log.slice(-5).join(' | ') || '(nothing)'}`);
}

async function createChannel(base) {
  const res = await fetch(`${base}/`, {
    method: 'POST',
    headers: { 'X-Sora-Target': 'ImageFlux_20180905.CreateChannel', 'Content-Type': 'application/json' },
    body: JSON.stringify(channelConfig),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`CreateChannel answered ${res.status} ${text.trim()}`);
  return JSON.parse(text);
}

// A child process whose output lines are kept (the last 300).
function startProcess(name, file, args) {
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const log = [];
  const keepLines = (chunk) => {
    log.push(...chunk.toString().split('\n').filter((l) => l.trim()));
    log.splice(0, Math.max(0, log.length - 300));
  };
  child.stdout.on('data', keepLines);
  child.stderr.on('data', keepLines);
  let done = null;
  const exited = new Promise((ok) => {
    child.once('error', (e) => { keepLines(`${name}: ${e}`); ok(done = { code: null, error: e }); });
    child.once('exit', (code, signal) => { children.delete(child); ok(done = { code, signal }); });
  });
  return {
    log,
    get exited() { return done; },
    async stop(signal, timeoutMs) {
      if (!done) child.kill(signal);
      let timer;
      const late = new Promise((ok) => { timer = setTimeout(() => ok(null), timeoutMs); });
      const r = await Promise.race([exited, late]);
      clearTimeout(timer);
      if (r) return r;
      child.kill('SIGKILL');
      await exited;
      return { code: null, signal: 'SIGKILL', hung: true };
    },
  };
}

function describe({ code, signal, error, hung }) {
  if (error) return String(error.message);
  if (hung) return 'did not stop in time, killed';
  return signal ? `signal ${signal}` : `exit status ${code}`;
}

function tap(n, name, { problems, notes }) {
  console.log(`${problems.length ? 'not ok' : 'ok'} ${n} - ${name}`);
  for (const l of [...problems, ...notes]) console.log(`# ${l}`);
}

const firstLine = (e) => String(e?.message ?? e).split('\n')[0];
const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

main().catch((e) => {
  console.log('not ok 1 - the WebRTC publish test itself failed');
  console.log(`# ${String(e?.stack ?? e).split('\n').join('\n# ')}`);
  process.exitCode = 1;
});
