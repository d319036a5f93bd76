// A live gst-launch-1.0 pipeline (is-live test sources, x264enc, an MP3 or
// AAC encoder) writing HLS into a folder through the sink under test.
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe as describeExit, sleep, startProcess } from './serve_harness.mjs';

export { sleep };

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
  // Killed if still running when the test process ends for any reason, e.g.
  // meson's timeout (SIGTERM): no gst-launch-1.0 outlives the test.
  const proc = startProcess('gst-launch-1.0', 'gst-launch-1.0', args, 30);

  return {
    args,
    log: proc.log,
    get exited() { return proc.exited; },

    // Resolves with the playlist text once it lists `count` segments.
    async waitForSegments(count, timeoutMs) {
      const end = Date.now() + timeoutMs;
      const file = path.join(dir, 'index.m3u8');
      for (;;) {
        if (proc.exited) throw new Error(`gst-launch-1.0 exited (${describe(proc.exited)}) before ${count} segments`);
        const text = await fs.readFile(file, 'utf8').catch(() => '');
        if ((text.match(/^#EXTINF:/gm) ?? []).length >= count) return text;
        if (Date.now() > end) throw new Error(`no playlist with ${count} segments after ${timeoutMs / 1000} s`);
        await sleep(100);
      }
    },

    // EOS through SIGINT; killed if it has not finished within timeoutMs.
    stop(timeoutMs = 10000) {
      return proc.stop('SIGINT', timeoutMs);
    },
  };
}

// As serve_harness.mjs says it, but a pipeline that hangs has not finished on EOS.
export function describe(r) {
  return r.hung ? 'did not stop on EOS, killed' : describeExit(r);
}
