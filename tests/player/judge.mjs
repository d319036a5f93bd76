// What the player test concludes from what the page reported: a list of
// problems (empty when the case passes) and notes for the TAP output.

export const limits = {
  advancing: 0.9,  // currentTime must advance during this fraction of the wall time
  audible: 0.9,    // and sound must be heard in this fraction of the samples
  silence: 0.05,   // RMS below which a sample counts as silent (the tone is 0.35)
  listenAfterMs: 500,  // sound is judged from this far into the window
};

// samples: [{t (ms), ct (s), buffered, level, audioBytes, videoBytes, frames,
// dropped}] from the page's sample(); report: the page's window.report.
export function judge({ sampled, report }) {
  const problems = [];
  const notes = [];
  const fatal = report.errors.filter((e) => e.fatal);
  const other = report.errors.filter((e) => !e.fatal);

  if (!report.hlsSupported) problems.push('Hls.isSupported() is false: this chromium has no MediaSource');
  if (fatal.length) problems.push(`fatal hls.js error: ${fatal.map(errorText).join('; ')}`);
  if (report.mediaErrors.length) problems.push(`<video> error: ${report.mediaErrors.join('; ')}`);
  if (other.length) notes.push(`non-fatal hls.js errors: ${other.map(errorText).join('; ')}`);
  notes.push(`SourceBuffers: ${JSON.stringify(report.codecs)}; fragments buffered: ${report.fragsBuffered}`);
  if (!sampled) return { problems, notes };
  if (!report.codecs.video && !report.codecs.audiovideo) problems.push('hls.js found no video track');
  if (!report.codecs.audio && !report.codecs.audiovideo) problems.push('hls.js found no audio track');

  const s = sampled.samples;
  const first = s[0];
  const last = s[s.length - 1];
  const wall = last.t - first.t;
  const { advancing, still } = stillness(s);
  const fraction = advancing / wall;
  notes.push(`currentTime advanced during ${percent(fraction)} of ${seconds(wall)} s of wall time`
             + ` (${s.length} samples; media time ${(last.ct - first.ct).toFixed(2)} s;`
             + ` longest stand-still ${Math.round(still.ms)} ms)`);
  if (fraction < limits.advancing) {
    problems.push(`currentTime advanced during only ${percent(fraction)} of the wall time`
                  + ` (at least ${percent(limits.advancing)} wanted); longest stand-still`
                  + ` ${Math.round(still.ms)} ms from ${seconds(still.from)} s at currentTime`
                  + ` ${still.ct.toFixed(2)}, buffered ${JSON.stringify(round(still.buffered))}`);
  }

  const frames = last.frames - first.frames;
  // Web Audio hears the element only a few hundred ms after it starts playing.
  const heard = s.filter((x) => x.t >= limits.listenAfterMs);
  const audible = heard.filter((x) => x.level >= limits.silence).length / heard.length;
  const meanLevel = heard.reduce((a, x) => a + x.level, 0) / heard.length;
  notes.push(`video: ${frames} frames decoded in the window (${last.dropped - first.dropped} dropped,`
             + ` ${last.videoBytes - first.videoBytes} bytes), ${sampled.width}x${sampled.height}`);
  notes.push(`audio: ${last.audioBytes - first.audioBytes} bytes decoded in the window; sound heard`
             + ` in ${percent(audible)} of the samples after the first ${limits.listenAfterMs} ms (mean RMS ${meanLevel.toFixed(3)})`);
  if (!(sampled.width > 0 && sampled.height > 0)) problems.push('no picture: videoWidth is 0');
  if (!(frames > 0)) problems.push('no video frame decoded during the window');
  if (!(last.audioBytes > first.audioBytes)) problems.push('no audio decoded during the window');
  if (report.listenError) problems.push(`audio could not be heard: ${report.listenError}`);
  else if (audible < limits.audible) {
    problems.push(`sound heard in only ${percent(audible)} of the samples`
                  + ` (at least ${percent(limits.audible)} wanted)`);
  }
  return { problems, notes, fraction };
}

// Wall time during which currentTime moved, and the longest time it did not.
function stillness(s) {
  let advancing = 0;
  let run = null;
  let still = { ms: 0, from: 0, ct: s[0].ct, buffered: s[0].buffered };
  for (let i = 1; i < s.length; i++) {
    const dt = s[i].t - s[i - 1].t;
    if (s[i].ct > s[i - 1].ct) {
      advancing += dt;
      run = null;
      continue;
    }
    run ??= { ms: 0, from: s[i - 1].t, ct: s[i].ct, buffered: s[i].buffered };
    run.ms += dt;
    if (run.ms > still.ms) still = { ...run };
  }
  return { advancing, still };
}

function errorText(e) {
  return `${e.type}/${e.details}${e.reason ? ` (${e.reason})` : ''}`;
}

const percent = (x) => `${(100 * x).toFixed(1)}%`;
const seconds = (ms) => (ms / 1000).toFixed(2);
const round = (ranges) => ranges.map((r) => r.map((x) => Number(x.toFixed(2))));
