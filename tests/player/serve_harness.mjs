// What serve_player_test.mjs and webrtc_publish_test.mjs share. Both run a
// list of cases against one `nagare serve` and print one TAP line a case;
// both play its channels with hls.js in headless Chromium and judge the
// playback alike.
//
// runTest() prints the plan; without chromium, one of the node modules the
// test needs or (when NAGARE_BIN is not set) build/launcher/nagare, every case
// says SKIP and why. Otherwise it starts `nagare serve` on a free loopback
// port with a temporary data folder, runs the test's own part, stops the
// server with SIGTERM (killed after 15 s) and prints the cases. When the
// test's part throws, every case it has not reached says "not reached" and
// why; when any case fails, the last failing one shows the last lines of the
// server's log.
//
// Environment:
//   NAGARE_BIN        the nagare binary (meson passes it; default
//                     build/launcher/nagare next to this source tree)
//   NAGARE_CHROMIUM   browser (default /usr/bin/chromium)
//   NAGARE_PLAYER_KEEP=1  keep the data folder and the serve log, and say where
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from './serve.mjs';

export const here = path.dirname(fileURLToPath(import.meta.url));
export const nagareBin = process.env.NAGARE_BIN || path.join(here, '..', '..', 'build', 'launcher', 'nagare');
const chromiumPath = process.env.NAGARE_CHROMIUM || '/usr/bin/chromium';
const keep = process.env.NAGARE_PLAYER_KEEP === '1';

const limits = {
  serveStartMs: 10000,      // nagare serve prints its URL
  playbackStartMs: 20000,   // from page load to the first move of currentTime
  longestStillMs: 2000,     // currentTime never stands still this long
  periodMs: 100,            // the <video> element is read this often
};

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

// --- running the cases -----------------------------------------------

// test: name (said when the test itself fails), cases (their TAP names),
// needs (the node modules it loads), dataPrefix (of its data folder),
// serveLog (how many of the server's last lines a failure shows) and
// serveStopNote (the index of the case that notes how the server stopped).
// body({serve, results, userDataDir, logOnFailure}) runs the cases into
// results (collect() does one); serve is {url, proc}, userDataDir a fresh
// Chromium profile, and logOnFailure(label, proc, lines) shows another
// process's last lines on failure, after the server's.
export function runTest(test, body) {
  run(test, body).catch((e) => {
    console.log(`not ok 1 - the ${test.name} test itself failed`);
    console.log(`# ${String(e?.stack ?? e).split('\n').join('\n# ')}`);
    process.exitCode = 1;
  });
}

async function run(test, body) {
  console.log(`1..${test.cases.length}`);
  const missing = whatIsMissing(test.needs);
  if (missing) {
    test.cases.forEach((name, i) => console.log(`ok ${i + 1} - ${name} # SKIP ${missing}`));
    return;
  }
  const results = test.cases.map(() => ({ problems: [], notes: [] }));
  const began = Date.now();
  const dataDir = await temporaryDir(test.dataPrefix);
  const userDataDir = await temporaryDir('nagare-chromium-');
  const logs = [];
  let serve = null;
  try {
    serve = await startServe(dataDir);
    logs.push(['nagare serve', serve.proc, test.serveLog]);
    await body({ serve, results, userDataDir, logOnFailure: (...log) => logs.push(log) });
  } catch (e) {
    for (const r of results) if (!r.done) r.problems.push(`not reached: ${firstLine(e)}`);
  } finally {
    if (serve) {
      const stopped = await serve.proc.stop('SIGTERM', 15000);
      results[test.serveStopNote].notes.push(`nagare serve on SIGTERM: ${describe(stopped)}`);
    }
  }

  const failed = results.findLast((r) => r.problems.length);
  if (failed && serve) {
    for (const [label, proc, lines] of logs) failed.notes.push(...proc.log.slice(-lines).map((l) => `${label} said: ${l}`));
  }
  const last = results.at(-1);
  last.notes.push(`the test took ${((Date.now() - began) / 1000).toFixed(1)} s`);
  if (keep) {
    temporary.delete(dataDir);
    if (serve) await fsp.writeFile(path.join(dataDir, 'serve.log'), serve.proc.log.join('\n') + '\n');
    last.notes.push(`kept ${dataDir}`);
  }
  results.forEach((r, i) => tap(i + 1, test.cases[i], r));
}

function whatIsMissing(needs) {
  try {
    fs.accessSync(chromiumPath, fs.constants.X_OK);
  } catch {
    return `no chromium at ${chromiumPath} (scripts/install-deps installs Debian's chromium)`;
  }
  for (const m of needs) {
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

async function temporaryDir(prefix) {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), prefix));
  temporary.add(dir);
  return dir;
}

// Runs one case's check, which answers {problems, notes}, into r. A check
// throws only when the case cannot go on.
export async function collect(r, check) {
  r.done = true;
  try {
    const got = await check();
    r.problems.push(...got.problems);
    r.notes.push(...got.notes);
  } catch (e) {
    r.problems.push(firstLine(e));
  }
}

function tap(n, name, { problems, notes }) {
  console.log(`${problems.length ? 'not ok' : 'ok'} ${n} - ${name}`);
  for (const l of [...problems, ...notes]) console.log(`# ${l}`);
}

// --- the browser and the other origin ---------------------------------

// As root, in a fresh profile, talking to nothing but loopback (as
// player_test.mjs starts it); extraArgs for what a test adds.
export function chromiumOptions(extraArgs = []) {
  const args = [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--autoplay-policy=no-user-gesture-required', ...extraArgs,
  ];
  return { executablePath: chromiumPath, headless: true, args };
}

// serve.mjs on another port: player.html at / (?src= names the playlist)
// and hls.js at /hls.js.
export function startPlayerOrigin() {
  return startServer({
    page: path.join(here, 'player.html'),
    hlsjs: path.join(here, 'node_modules', 'hls.js', 'dist', 'hls.min.js'),
  });
}

// --- playback --------------------------------------------------------

// ms from page load until currentTime moves, or null with why. Moving means
// growing between two reads: hls.js may first seek to where the buffered
// media starts, which is not playing yet. withReport: the page is
// player.html, whose window.report says when hls.js gave up (the watch page
// never gives up, it starts again).
export async function waitForPlayback(page, withReport = false) {
  const loaded = Date.now();
  let before = null;
  while (Date.now() - loaded < limits.playbackStartMs) {
    const s = await page.evaluate((w) => ({
      ct: document.getElementById('video').currentTime,
      over: w && (!window.report.hlsSupported || window.report.errors.some((e) => e.fatal)),
    }), withReport);
    if (before !== null && s.ct > before) return { ms: Date.now() - loaded };
    if (s.over) return { ms: null, why: 'hls.js gave up' };
    before = s.ct;
    await sleep(50);
  }
  return { ms: null, why: `currentTime did not move within ${limits.playbackStartMs / 1000} s of loading the page` };
}

export const startedNote = (start) => `playback started ${(start.ms / 1000).toFixed(1)} s after the page loaded`;

// Samples the playing <video> element for windowMs of wall time: currentTime
// must advance during at least advancingMs of it and never stand still for
// limits.longestStillMs. Answers the problems and a note on what it saw.
export async function judgeWindow(page, windowMs, advancingMs) {
  const s = await page.evaluate(sampleVideo, [windowMs, limits.periodMs]);
  const problems = [];
  const { advancing, longest } = stillness(s);
  if (advancing < advancingMs) {
    problems.push(`currentTime advanced during only ${(advancing / 1000).toFixed(2)} s of`
                  + ` ${(windowMs / 1000).toFixed(0)} s (at least ${advancingMs / 1000} s wanted)`);
  }
  if (longest.ms >= limits.longestStillMs) {
    problems.push(`playback stood still for ${Math.round(longest.ms)} ms at currentTime ${longest.at.toFixed(2)}`
                  + ` (less than ${limits.longestStillMs} ms allowed)`);
  }
  const first = s[0];
  const last = s[s.length - 1];
  const note = `currentTime advanced during ${(advancing / 1000).toFixed(2)} s of ${(last.t / 1000).toFixed(2)} s`
               + ` of wall time (media time ${(last.ct - first.ct).toFixed(2)} s, ${s.length} samples,`
               + ` longest stand-still ${Math.round(longest.ms)} ms)`;
  return { problems, note };
}

// Runs inside the page: reads the <video> element every periodMs for
// durationMs of wall time, so that no round trip to the test blurs the clock.
function sampleVideo([durationMs, periodMs]) {
  const video = document.getElementById('video');
  return new Promise((resolve) => {
    const samples = [];
    const t0 = performance.now();
    const take = () => {
      const t = performance.now() - t0;
      samples.push({ t, ct: video.currentTime, paused: video.paused, readyState: video.readyState,
                     width: video.videoWidth, height: video.videoHeight });
      if (t >= durationMs) {
        clearInterval(timer);
        resolve(samples);
      }
    };
    const timer = setInterval(take, periodMs);
    take();
  });
}

// The wall time during which currentTime grew, and the longest stretch it did not.
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

// A call to the API (POST / with X-Sora-Target), answered as it comes.
export function rpc(base, target, body) {
  return fetch(`${base}/`, {
    method: 'POST',
    headers: { 'X-Sora-Target': `ImageFlux_20180905.${target}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}

// A channel with these video renditions, each with MP3 at 64 kb/s, in 1 s
// segments; its CreateChannel answer.
export async function createChannel(base, renditions) {
  const res = await rpc(base, 'CreateChannel', {
    hls: renditions.map((video) => ({ video, audio: { bps: 64000, codec: 'mp3' } })),
    segment_duration: 1,
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`CreateChannel answered ${res.status} ${text.trim()}`);
  return JSON.parse(text);
}

// --- processes -------------------------------------------------------

// A child process whose output lines are kept (the last keepLines), killed
// if it is still running when the test ends.
export function startProcess(name, file, args, keepLines = 300) {
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const log = [];
  const keepLog = (chunk) => {
    log.push(...chunk.toString().split('\n').filter((l) => l.trim()));
    log.splice(0, Math.max(0, log.length - keepLines));
  };
  child.stdout.on('data', keepLog);
  child.stderr.on('data', keepLog);
  let done = null;
  const exited = new Promise((ok) => {
    child.once('error', (e) => { keepLog(`${name}: ${e}`); ok(done = { code: null, error: e }); });
    child.once('exit', (code, signal) => { children.delete(child); ok(done = { code, signal }); });
  });
  return {
    log,
    get exited() { return done; },
    // Sends signal; kills the child if it has not exited within timeoutMs.
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

export function describe({ code, signal, error, hung }) {
  if (error) return String(error.message);
  if (hung) return 'did not stop in time, killed';
  return signal ? `signal ${signal}` : `exit status ${code}`;
}

export const firstLine = (e) => String(e?.message ?? e).split('\n')[0];
export const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));
