// Real player: hls.js in headless Chromium plays the HLS that nagarehlssink
// writes from a live pipeline (issue 3, "Real players").
//
// For each case a live gst-launch-1.0 pipeline (is-live test sources,
// x264enc, an MP3 or AAC encoder) writes HLS into a temporary folder, served
// over HTTP on loopback. Once the playlist lists 3 segments, hls.js (from
// node_modules, in Debian's chromium driven by playwright-core) plays it;
// from the moment currentTime first moves, the page reads the <video> element
// every 100 ms for 10 s. A case passes when currentTime advanced during at
// least 90% of that wall time, hls.js raised no fatal error, video frames
// were decoded with a picture size, and the 440 Hz tone was heard (Web Audio
// on the element's captureStream()) in at least 90% of the samples. Both
// cases run side by side: the test takes about 16 s. Output is TAP, one line
// per case; the cases are skipped only when chromium or node_modules is
// missing.
//
// Environment:
//   NAGARE_PLAYER_SINK    sink element (default nagarehlssink; hlssink2 to compare)
//   NAGARE_CHROMIUM       browser (default /usr/bin/chromium)
//   NAGARE_PLAYER_FAULT   break something on purpose, to see the test fail:
//                         bad-url  the page asks for a playlist that is not there
//                         garbage  every segment is served as random bytes
//                         stall    the pipeline is killed 3 s into the 10 s
//                         silence  the audio source sends silence
//   NAGARE_PLAYER_KEEP=1  keep each case's folder (HLS and samples.json), and say where
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { startServer } from './serve.mjs';
import { startPipeline, describe, sleep } from './pipeline.mjs';
import { judge } from './judge.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const sink = process.env.NAGARE_PLAYER_SINK || 'nagarehlssink';
const chromiumPath = process.env.NAGARE_CHROMIUM || '/usr/bin/chromium';
const fault = process.env.NAGARE_PLAYER_FAULT || '';
const keep = process.env.NAGARE_PLAYER_KEEP === '1';

const segmentsBeforePlay = 3;
const segmentsLimitMs = 20000;  // from pipeline start to a playlist of 3 segments
const startLimitMs = 10000;     // from page load to the first move of currentTime
const windowMs = 10000;         // the wall time playback is judged over
const periodMs = 100;           // sampling period inside the page

const cases = [
  { audio: 'mp3', name: `hls.js in chromium plays live H.264 + MP3 HLS from ${sink}` },
  { audio: 'aac', name: `hls.js in chromium plays live H.264 + AAC (ADTS) HLS from ${sink}` },
];

// As root, in a fresh profile (launchPersistentContext's folder), talking to
// nothing but loopback. playwright adds --headless, --no-sandbox,
// --mute-audio and its usual switches too.
const chromiumArgs = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
];

// Temporary folders, removed however the test ends (pipeline.mjs turns
// SIGINT and SIGTERM into an exit).
const temporary = new Set();
process.on('exit', () => {
  for (const dir of temporary) fs.rmSync(dir, { recursive: true, force: true });
});
async function makeTemporary(prefix) {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), prefix));
  temporary.add(dir);
  return dir;
}

async function main() {
  console.log(`1..${cases.length}`);
  const missing = whatIsMissing();
  if (missing) {
    cases.forEach((c, i) => console.log(`ok ${i + 1} - ${c.name} # SKIP ${missing}`));
    return;
  }
  const { chromium } = await import('playwright-core');
  const userDataDir = await makeTemporary('nagare-chromium-');
  const server = await startServer({
    page: path.join(here, 'player.html'),
    hlsjs: path.join(here, 'node_modules', 'hls.js', 'dist', 'hls.min.js'),
    filter: fault === 'garbage' ? garbleSegments : undefined,
  });
  let context = null;
  try {
    try {
      context = await chromium.launchPersistentContext(userDataDir, {
        executablePath: chromiumPath, headless: true, args: chromiumArgs,
      });
    } catch (e) {
      const why = `chromium did not start: ${firstLine(e)}`;
      cases.forEach((c, i) => tap(i + 1, c.name, { problems: [why], notes: [] }));
      return;
    }
    const results = await Promise.all(cases.map((c) => runCase(c, context, server)));
    results.forEach((r, i) => tap(i + 1, cases[i].name, r));
  } finally {
    await context?.close().catch(() => {});
    await server.close();
  }
}

function whatIsMissing() {
  try {
    fs.accessSync(chromiumPath, fs.constants.X_OK);
  } catch {
    return `no chromium at ${chromiumPath} (scripts/install-deps installs Debian's chromium)`;
  }
  for (const m of ['playwright-core', 'hls.js']) {
    if (!fs.existsSync(path.join(here, 'node_modules', m, 'package.json'))) {
      return `no tests/player/node_modules/${m} (scripts/install-deps runs npm ci in tests/player)`;
    }
  }
  return null;
}

async function runCase(c, context, server) {
  const began = Date.now();
  const dir = await makeTemporary(`nagare-player-${c.audio}-`);
  const pipeline = startPipeline({ sink, audio: c.audio, dir, silent: fault === 'silence' });
  let result;
  try {
    result = await play(c, context, server, dir, pipeline);
  } catch (e) {
    result = { problems: [firstLine(e)], notes: [] };
  }
  const endedEarly = pipeline.exited !== null;  // already said by play()
  const stopped = await pipeline.stop();
  if (!endedEarly && fault !== 'stall' && (stopped.code !== 0 || stopped.hung)) {
    result.problems.push(`gst-launch-1.0 did not end cleanly on EOS: ${describe(stopped)}`);
  }
  result.notes.push(`case took ${((Date.now() - began) / 1000).toFixed(1)} s`);
  if (result.problems.length) {
    result.notes.push(`pipeline: gst-launch-1.0 ${pipeline.args.join(' ')}`);
    result.notes.push(...pipeline.log.slice(-10).map((l) => `gst-launch-1.0 said: ${l}`));
    const playlist = await fsp.readFile(path.join(dir, 'index.m3u8'), 'utf8').catch(() => '(none)\n');
    result.notes.push(...playlist.trimEnd().split('\n').map((l) => `playlist: ${l}`));
  }
  if (keep) {
    await fsp.writeFile(path.join(dir, 'samples.json'), JSON.stringify(result.raw ?? null));
    temporary.delete(dir);
    result.notes.push(`kept ${dir}`);
  }
  return result;
}

async function play(c, context, server, dir, pipeline) {
  const mount = `case-${c.audio}`;
  server.mount(mount, dir);
  await pipeline.waitForSegments(segmentsBeforePlay, segmentsLimitMs);

  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(firstLine(e)));
  try {
    const playlist = fault === 'bad-url' ? 'missing.m3u8' : 'index.m3u8';
    const src = `${server.origin}/${mount}/${playlist}`;
    await page.goto(`${server.origin}/?src=${encodeURIComponent(src)}`);
    const { startMs, why } = await waitForPlayback(page);

    let sampled = null;
    if (startMs !== null) {
      if (fault === 'stall') setTimeout(() => pipeline.stop(0), 3000);
      sampled = await page.evaluate(([d, p]) => window.sample(d, p), [windowMs, periodMs]);
    }
    const report = await page.evaluate(() => window.report);
    const result = { ...judge({ sampled, report }), raw: { report, sampled } };
    if (startMs === null) {
      result.problems.unshift(`playback did not start: ${why}`);
    } else {
      result.notes.unshift(`playback started ${(startMs / 1000).toFixed(1)} s after the page loaded`);
    }
    if (pageErrors.length) result.problems.push(`error in the page: ${pageErrors.join('; ')}`);
    if (pipeline.exited && fault !== 'stall') {
      result.problems.push(`gst-launch-1.0 ended during playback (${describe(pipeline.exited)})`);
    }
    return result;
  } finally {
    await page.close().catch(() => {});
  }
}

// startMs: milliseconds from page load until currentTime moves, or null with
// why when it did not within startLimitMs or hls.js gave up first. Moving
// means growing between two reads: hls.js may first seek to where the
// buffered media starts, which is not playing yet.
async function waitForPlayback(page) {
  const loaded = Date.now();
  let before = null;
  while (Date.now() - loaded < startLimitMs) {
    const s = await page.evaluate(() => ({
      ct: document.getElementById('video').currentTime,
      over: !window.report.hlsSupported || window.report.errors.some((e) => e.fatal),
    }));
    if (before !== null && s.ct > before) return { startMs: Date.now() - loaded };
    if (s.over) return { startMs: null, why: 'hls.js gave up' };
    before = s.ct;
    await sleep(50);
  }
  return { startMs: null, why: `currentTime still 0 ${startLimitMs / 1000} s after loading the page` };
}

// NAGARE_PLAYER_FAULT=garbage: every segment's bytes replaced by random ones.
function garbleSegments(file, body) {
  return file.endsWith('.ts') ? crypto.randomBytes(body.length) : body;
}

function tap(n, name, { problems, notes }) {
  console.log(`${problems.length ? 'not ok' : 'ok'} ${n} - ${name}`);
  for (const l of [...problems, ...notes]) console.log(`# ${l}`);
}

const firstLine = (e) => String(e?.message ?? e).split('\n')[0];

main().catch((e) => {
  console.log(`not ok 1 - the player test itself failed`);
  console.log(`# ${String(e?.stack ?? e).split('\n').join('\n# ')}`);
  process.exitCode = 1;
});
