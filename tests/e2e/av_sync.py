#!/usr/bin/env python3
"""A/V sync end to end, real packets on loopback, as TAP.

    av_sync.py --sender PATH --receiver PATH [--seconds S] [--modes M,M]
               [--video-ppm PPM] [--limit-ms MS] [--from S] [--latency MS]
               [--drop P] [--max-delay MS]

One e2e-av-sender (30 fps H.264 with a white frame each second, 48 kHz Opus
with a beep at the same real instant; the video clock runs PPM fast) sends
to two netsim relays, one per stream (stock elements: 0-60 ms uniform delay,
2 % loss, reordering allowed), and each relay forwards every surviving packet
to all the receivers, so they see identical impaired streams. Each receiver
(e2e-av-sync) runs in one mode and measures flash - beep on its decoded
output.

Checks: the sender kept real time; each nagarealign receiver's largest
|offset| from --from seconds on is within --limit-ms (one video frame) and
enough seconds paired; jitterbuffer receivers only print their figures, for
comparison. Seconds whose beep does not measure 100 ms are shown but not
judged: a lost packet at its start alone moves the detected onset by 20 to
80 ms (Opus ramps up over several frames when it resumes mid-tone).

Everything runs under timeouts; if a process dies early the run stops and
says which, and every child is killed on the way out. Each process logs,
and each receiver writes a trace (one line per decoded buffer), into the
output folder, which is kept when the run fails or NAGARE_E2E_KEEP=1.

Environment: NAGARE_AV_SYNC_SECONDS (default 90; the full figure is 600,
run by hand), NAGARE_E2E_TMPDIR and NAGARE_E2E_KEEP as in e2elib.py.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from e2elib import Tap, Workdir, element_missing, free_udp_ports, tool_missing  # noqa: E402

STOCK_ELEMENTS = ("x264enc", "rtph264pay", "rtph264depay", "avdec_h264", "opusenc", "opusdec",
                  "rtpopuspay", "rtpopusdepay", "rtpjitterbuffer", "netsim", "udpsrc", "multiudpsink")
# delay-probability defaults to 0, which would make min/max-delay no-ops.
NETSIM = ("netsim min-delay=0 max-delay={max_delay} delay-probability=1 delay-distribution=uniform "
          "drop-probability={drop} allow-reordering=true")
SENDER_LATE_MS = 200
READY_TIMEOUT = 30.0     # first start may rebuild the plugin registry
RECEIVER_IDLE = 3.0      # receivers stop after this long without packets ...
RECEIVER_DRAIN = 5.0     # ... and give their pipeline this long to drain
# A flash is an IDR of about 6 packets and is lost with any of them (11 % at
# 2 % loss, when the depayloader waits for a key frame), and a beep is
# damaged when its first or last packet is lost (4 %): about 85 % of
# seconds pair cleanly. The check is that there are enough figures, with
# room for chance.
PAIRED_SHARE = 0.6


class Interrupted(Exception):
    pass


@dataclass
class Child:
    name: str
    proc: subprocess.Popen
    out: str
    err: str

    def text(self, which: str = "out") -> str:
        try:
            with open(self.out if which == "out" else self.err, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def tail(self, lines: int = 15) -> list[str]:
        return self.text("err").splitlines()[-lines:]


class Children:
    """Processes started by this run, logs in files (no pipe to fill up)."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.all: list[Child] = []

    def start(self, name: str, cmd: list[str]) -> Child:
        out = os.path.join(self.folder, f"{name}.out")
        err = os.path.join(self.folder, f"{name}.err")
        with open(out, "w") as o, open(err, "w") as e:
            proc = subprocess.Popen(cmd, stdout=o, stderr=e, stdin=subprocess.DEVNULL)
        child = Child(name, proc, out, err)
        self.all.append(child)
        return child

    def dead(self, among: list[Child]) -> Child | None:
        return next((c for c in among if c.proc.poll() is not None), None)

    def wait_until(self, done, timeout: float, must_live: list[Child]) -> str | None:
        """None once done() holds; otherwise why not (timeout, a child died)."""
        deadline = time.monotonic() + timeout
        while not done():
            gone = self.dead(must_live)
            if gone:
                return f"{gone.name} exited early with status {gone.proc.returncode}"
            if time.monotonic() > deadline:
                return f"timed out after {timeout:.0f} s"
            time.sleep(0.1)
        return None

    def stop(self, children: list[Child], sig: int = signal.SIGTERM, grace: float = 5.0) -> None:
        for c in children:
            if c.proc.poll() is None:
                c.proc.send_signal(sig)
        deadline = time.monotonic() + grace
        for c in children:
            try:
                c.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                c.proc.kill()
                c.proc.wait()

    def close(self) -> None:
        self.stop(self.all, signal.SIGKILL, 5.0)


def relay_cmd(args: argparse.Namespace, port: int, clients: list[int]) -> list[str]:
    dests = ",".join(f"127.0.0.1:{p}" for p in clients)
    netsim = NETSIM.format(max_delay=args.max_delay, drop=args.drop)
    return (["gst-launch-1.0", "udpsrc", "address=127.0.0.1", f"port={port}", "!"] + netsim.split()
            + ["!", "multiudpsink", f"clients={dests}", "sync=false", "async=false"])


def last_json(text: str) -> dict | None:
    for line in reversed(text.splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None


def figures(r: dict) -> str:
    return (f"pairs={r['pairs']} (+{r['damaged']} damaged) median={r['median_ms']} min={r['min_ms']} "
            f"max={r['max_ms']} ms; max|offset| from {r['from_s']} s={r['max_abs_ms_from']} ms over "
            f"{r['pairs_from']} pairs ({r['max_abs_ms_from_all']} ms with damaged ones); "
            f"flashes={r['flashes']} beeps={r['beeps']} frames={r['frames']}; "
            f"audio {r['audio_packets']} pkts lost={r['audio_lost']} reordered={r['audio_reordered']}, "
            f"video {r['video_packets']} pkts lost={r['video_lost']} reordered={r['video_reordered']}")


def run(args: argparse.Namespace, tap: Tap, work: Workdir) -> None:
    modes = args.modes.split(",")
    names = [f"rx{i}-{m}" for i, m in enumerate(modes)]
    kids = Children(work.path)
    try:
        ports = free_udp_ports(2 + 2 * len(modes))
        relay_in, rx_ports = ports[:2], ports[2:]
        receivers: list[Child] = []
        for i, (name, mode) in enumerate(zip(names, modes)):
            receivers.append(kids.start(name, [
                args.receiver, "--mode", mode, "--label", name,
                "--audio-port", str(rx_ports[2 * i]), "--video-port", str(rx_ports[2 * i + 1]),
                "--latency", str(args.latency), "--from", str(args.from_s),
                "--idle", str(RECEIVER_IDLE), "--max-seconds", str(args.seconds + 120),
                "--trace", os.path.join(work.path, f"{name}.trace")]))
        why = kids.wait_until(lambda: all("ready" in r.text() for r in receivers), READY_TIMEOUT, receivers)
        relays: list[Child] = []
        if not why:
            relays = [kids.start(f"relay-{kind}", relay_cmd(args, relay_in[k], rx_ports[k::2]))
                      for k, kind in enumerate(("audio", "video"))]
            why = kids.wait_until(lambda: all("PLAYING" in r.text() for r in relays), READY_TIMEOUT,
                                  receivers + relays)
        sender = None
        if not why:
            sender = kids.start("sender", [
                args.sender, "--audio-port", str(relay_in[0]), "--video-port", str(relay_in[1]),
                "--duration", str(args.seconds), "--video-ppm", str(args.video_ppm)])
            why = kids.wait_until(lambda: sender.proc.poll() is not None, args.seconds + 60,
                                  receivers + relays)
        if not why:
            # Receivers notice the silence, drain and report on their own.
            why = kids.wait_until(lambda: all(r.proc.poll() is not None for r in receivers),
                                  RECEIVER_IDLE + RECEIVER_DRAIN + 15, [])
        # SIGTERM makes a receiver drain and report what it has, which says
        # more about a failed run than nothing.
        kids.stop(receivers, signal.SIGTERM, RECEIVER_DRAIN + 5)
        kids.stop(relays)
    finally:
        kids.close()

    sender_report = last_json(sender.text()) if sender else None
    ok = bool(sender and sender.proc.returncode == 0 and sender_report)
    tap.result("sender, relays and receivers ran to the end", ok and not why,
               ([why] if why else []) + ([] if ok else ["sender failed"] + (sender.tail() if sender else [])))
    if sender_report:
        # A late send is jitter the relays did not add. Up to a few tens of
        # ms (a loaded machine) it stays well within what the receivers
        # absorb; beyond SENDER_LATE_MS the run is not the one intended.
        late = sender_report["max_late_ms"]
        tap.result(f"sender kept real time (no send {SENDER_LATE_MS} ms late)", late < SENDER_LATE_MS,
                   [f"sender: {json.dumps(sender_report)}"])
    for child, mode in zip(receivers, modes):
        check_receiver(tap, args, child, mode)


def check_receiver(tap: Tap, args: argparse.Namespace, child: Child, mode: str) -> None:
    r = last_json(child.text())
    if child.proc.returncode != 0 or r is None:
        tap.result(f"{child.name}: measured", False,
                   [f"exit status {child.proc.returncode}"] + child.tail())
        return
    tap.diag(f"{child.name}: {figures(r)}")
    tap.diag("offsets in ms by second (* beep not 100 ms long: a lost packet; not in the figures):")
    tap.diag("\n".join(line for line in child.text("err").splitlines() if line.startswith("  ")))
    expected = max(1, int(args.seconds) - 1)   # the beep at 0 s has no silence before it
    if mode != "nagarealign":
        tap.result(f"{child.name}: measured (figures for comparison, not asserted)", r["pairs"] > 0,
                   [] if r["pairs"] else ["no flash/beep pair: the harness is broken"])
        return
    limit = args.limit_ms
    worst = r["max_abs_ms_from"]
    tap.result(f"{child.name}: max |flash - beep| <= {limit} ms from {args.from_s} s",
               worst is not None and worst <= limit, [f"max |offset| = {worst} ms"])
    tap.result(f"{child.name}: at least {PAIRED_SHARE:.0%} of {expected} seconds paired cleanly",
               r["pairs"] >= PAIRED_SHARE * expected,
               [f"{r['pairs']} clean pairs, {r['damaged']} damaged"])


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sender", required=True)
    p.add_argument("--receiver", required=True)
    p.add_argument("--seconds", type=float,
                   default=float(os.environ.get("NAGARE_AV_SYNC_SECONDS", "90")))
    p.add_argument("--modes", default="nagarealign,jitterbuffer",
                   help="one receiver per entry (nagarealign or jitterbuffer)")
    p.add_argument("--video-ppm", type=int, default=300)
    p.add_argument("--limit-ms", type=float, default=33.0)
    p.add_argument("--from", dest="from_s", type=int, default=5)
    p.add_argument("--latency", type=int, default=500, help="nagarealign latency in ms")
    p.add_argument("--drop", type=float, default=0.02, help="netsim drop-probability")
    p.add_argument("--max-delay", type=int, default=60, help="netsim max-delay in ms (min is 0)")
    args = p.parse_args(argv)

    # meson's timeout sends SIGTERM: unwind so the children die with us.
    def interrupted(*_) -> None:
        raise Interrupted()
    signal.signal(signal.SIGTERM, interrupted)
    tap = Tap()
    needed = list(STOCK_ELEMENTS)
    if "nagarealign" in args.modes.split(","):
        needed += ["nagarealign", "nagareh264depay"]
    missing = tool_missing("gst-launch-1.0") or element_missing(*needed)
    if missing in STOCK_ELEMENTS or missing == "gst-launch-1.0":
        tap.result("av-sync", True, skip=f"{missing} is not installed")
        return tap.finish()
    if missing:
        tap.result("av-sync: elements under test", False, [f"{missing} not found in GST_PLUGIN_PATH"])
        return tap.finish()
    work = Workdir("av-sync")
    try:
        run(args, tap, work)
    except (Interrupted, KeyboardInterrupt):
        tap.result("av-sync: ran to the end", False, ["interrupted (SIGTERM or SIGINT)"])
    finally:
        work.failed = tap.failed > 0
        work.close(tap)
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
