// A live gst-launch-1.0 pipeline (is-live test sources, x264enc, an MP3 or
// AAC encoder) writing HLS into a folder through the sink under test.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const video = [
  'videotestsrc', 'is-live=true', 'pattern=ball', '!',
  'video/x-raw,format=I420,width=320,height=240,framerate=30/1', '!',
  'x264enc', 'tune=zerolatency', 'speed-preset=ultrafast', 'bitrate=300', '!',
  'h264parse', '!', 'video/x-h264,stream-format=byte-stream,alignment=au', '!', 's.video',
];

// A 440 Hz tone at 48 kHz stereo, encoded as the case asks.
const audioEncoders = {
  mp3: ['lamemp3enc', 'target=bitrate', 'bitrate=128', 'cbr=true', '!', 'mpegaudioparse', '!',
        'audio/mpeg,mpegversion=1,layer=3'],
  aac: ['avenc_aac', 'bitrate=128000', '!', 'aacparse', '!',
        'audio/mpeg,mpegversion=4,stream-format=adts'],
};

// Pipelines still running are killed when the test process ends for any
// reason, e.g. meson's timeout (SIGTERM): no gst-launch-1.0 outlives the test.
const running = new Set();
process.on('exit', () => { for (const child of running) child.kill('SIGKILL'); });
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => process.exit(128 + os.constants.signals[signal]));
}

// silent: the audio source sends digital silence (to see the test fail).
export function startPipeline({ sink, audio, dir, targetDuration = 1, silent = false }) {
  const args = [
    '-e',  // SIGINT sends EOS, so the sink finishes its segment and playlist
    sink, 'name=s',
    `location=${path.join(dir, 'seg%05d.ts')}`,
    `playlist-location=${path.join(dir, 'index.m3u8')}`,
    `target-duration=${targetDuration}`, 'playlist-length=6', 'max-files=12',
    ...video,
    'audiotestsrc', 'is-live=true', `wave=${silent ? 'silence' : 'sine'}`, 'freq=440', 'volume=0.5', '!',
    'audio/x-raw,rate=48000,channels=2', '!', ...audioEncoders[audio], '!', 's.audio',
  ];
  const child = spawn('gst-launch-1.0', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const log = [];
  const keep = (chunk) => {
    log.push(...chunk.toString().split('\n').filter((l) => l.trim()));
    log.splice(0, Math.max(0, log.length - 30));
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((ok) => {
    child.once('error', (e) => { keep(String(e)); ok({ code: null, error: e }); });
    child.once('exit', (code, signal) => { running.delete(child); ok({ code, signal }); });
  });
  let done = null;
  exited.then((r) => { done = r; });

  return {
    args,
    log,
    get exited() { return done; },

    // Resolves with the playlist text once it lists `count` segments.
    async waitForSegments(count, timeoutMs) {
      const end = Date.now() + timeoutMs;
      const file = path.join(dir, 'index.m3u8');
      for (;;) {
        if (done) throw new Error(`gst-launch-1.0 exited (${describe(done)}) before ${count} segments`);
        const text = await fs.readFile(file, 'utf8').catch(() => '');
        if ((text.match(/^#EXTINF:/gm) ?? []).length >= count) return text;
        if (Date.now() > end) throw new Error(`no playlist with ${count} segments after ${timeoutMs / 1000} s`);
        await sleep(100);
      }
    },

    // EOS through SIGINT; killed if it has not finished within timeoutMs.
    async stop(timeoutMs = 10000) {
      if (!done) child.kill('SIGINT');
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
  if (hung) return 'did not stop on EOS, killed';
  return signal ? `signal ${signal}` : `exit status ${code}`;
}

export const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));
