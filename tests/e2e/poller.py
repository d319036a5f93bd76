"""A reader that polls a playlist while a pipeline writes it (invariants 5, 6).

It reads the playlist in a loop from its own thread, the way an HTTP server
or a player would, and records every read that is not a whole, well-formed
playlist consistent with the reads before it:

- partial or malformed: the strict parser refuses it (no newline at the end,
  an EXTINF with no URI, ...), or the file vanished between two reads
  (a writer that deletes, then writes);
- a playlist that goes back: its last media sequence number, or the media
  sequence, or the discontinuity sequence gets smaller, EXT-X-ENDLIST goes
  away, EXT-X-TARGETDURATION changes;
- a segment whose media sequence number (or discontinuity sequence number)
  differs between two reads (RFC 8216 §6.2.1);
- a segment listed after it left the disk: the folder is listed before each
  read, so a file seen earlier, missing from that listing and still in the
  playlist read after it, was deleted while listed;
- more segment files on disk than max-files (+1 being written);
- a segment listed before it was complete: its size when it first appears
  in the playlist is smaller than at the end.
"""

from __future__ import annotations

import os
import threading
import time

import m3u8


class PlaylistPoller(threading.Thread):
    def __init__(self, playlist_path: str, max_files: int | None = None,
                 interval: float = 0.0, parse_share: float = 1.0,
                 segment_suffix: str = ".ts") -> None:
        """interval: seconds between reads (0: a tight loop). parse_share:
        the most of this thread's time spent parsing new versions in full;
        the versions in between get the cheap checks only (whole last line,
        an EVENT playlist only growing). A two-hour EVENT playlist is half a
        megabyte: parsing every version would take a core."""
        super().__init__(daemon=True)
        self.path = playlist_path
        self.folder = os.path.dirname(playlist_path) or "."
        self.max_files = max_files
        self.interval = interval
        self.suffix = segment_suffix
        self.problems: list[str] = []
        self.reads = 0          # reads of an existing file
        self.versions = 0       # distinct contents parsed
        self.max_on_disk = 0
        self.parsed = 0         # versions parsed in full
        self.parse_share = parse_share
        self._parse_due = 0.0
        self._event_prefix: bytes | None = None
        self._halt = threading.Event()
        self._last_data: bytes | None = None
        self._seen_files: set[str] = set()
        self.seq_of: dict[str, int] = {}
        self.disc_of: dict[str, int] = {}
        self._size_when_listed: dict[str, int] = {}
        self._last: m3u8.Playlist | None = None
        self._target: int | None = None
        self._existed = False

    def problem(self, text: str) -> None:
        if len(self.problems) < 30 and text not in self.problems:
            self.problems.append(text)

    def stop(self) -> list[str]:
        """Stops polling, does the end-of-run checks, returns the problems."""
        self._halt.set()
        self.join()
        self._poll_once()
        for uri, size in self._size_when_listed.items():
            try:
                final = os.stat(os.path.join(self.folder, uri)).st_size
            except OSError:
                continue
            if final != size:
                self.problem(f"{uri} was listed when it had {size} bytes; it has {final} now "
                             "(listed before it was complete)")
        return self.problems

    def run(self) -> None:
        while not self._halt.is_set():
            self._poll_once()
            time.sleep(self.interval)

    def _segment_files(self) -> set[str] | None:
        try:
            return {n for n in os.listdir(self.folder) if n.endswith(self.suffix)}
        except OSError:
            return None

    def _poll_once(self) -> None:
        files = self._segment_files()
        try:
            with open(self.path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            if self._existed:
                self.problem("the playlist vanished between two reads (not replaced "
                             "atomically)")
            return
        except OSError as e:
            self.problem(f"reading the playlist: {e}")
            return
        self._existed = True
        self.reads += 1
        if files is not None:
            self._check_files(files, data)
        if data == self._last_data:
            return
        self._last_data = data
        self.versions += 1
        why = self._quick_problem(data)
        if why is None:
            start = time.monotonic()
            if start < self._parse_due:
                return
            try:
                pl = m3u8.parse(data.decode("utf-8"))
            except UnicodeDecodeError:
                why = "not UTF-8"
            except m3u8.PlaylistError as e:
                why = str(e)
            else:
                self.parsed += 1
                self._check_consistent(pl)
                self._last = pl
                self._event_prefix = _through_last_uri(data, pl) \
                    if pl.playlist_type == "EVENT" else None
                spent = time.monotonic() - start
                self._parse_due = start + spent / self.parse_share
                return
        tail = data[-60:].decode("utf-8", "replace").replace("\n", "\\n")
        self.problem(f"read #{self.reads} ({len(data)} bytes) is partial or malformed: {why}; "
                     f"it ends {tail!r}")

    def _quick_problem(self, data: bytes) -> str | None:
        """What a torn write shows at once, found without parsing."""
        if not data.startswith(b"#EXTM3U"):
            return "does not start with #EXTM3U"
        if not data.endswith(b"\n"):
            return "the last line has no newline: the file is cut short"
        if self._event_prefix is not None and not data.startswith(self._event_prefix):
            return "an EVENT playlist lost or changed entries it had listed"
        return None

    def _check_files(self, files: set[str], data: bytes) -> None:
        count = len(files)
        self.max_on_disk = max(self.max_on_disk, count)
        if self.max_files and count > self.max_files + 1:
            self.problem(f"{count} segment files on disk, max-files is {self.max_files}")
        gone = self._seen_files - files
        for uri in gone:
            # `files` was listed before `data` was read: a segment that had
            # been seen, was gone by then and is still listed was deleted
            # while it was in the playlist.
            if f"\n{uri}\n".encode() in b"\n" + data:
                self.problem(f"{uri} was deleted while still in the playlist")
        self._seen_files |= files
        self._seen_files -= gone

    def _check_consistent(self, pl: m3u8.Playlist) -> None:
        last = self._last
        if self._target is None:
            self._target = pl.target_duration
        elif pl.target_duration != self._target:
            self.problem(f"EXT-X-TARGETDURATION changed {self._target} -> {pl.target_duration}")
            self._target = pl.target_duration
        for e in pl.entries:
            seq = self.seq_of.setdefault(e.uri, e.seq)
            if seq != e.seq:
                self.problem(f"{e.uri}: media sequence number {seq} before, {e.seq} now")
            disc = self.disc_of.setdefault(e.uri, e.disc_seq)
            if disc != e.disc_seq:
                self.problem(f"{e.uri}: discontinuity sequence number {disc} before, "
                             f"{e.disc_seq} now")
            if e.uri not in self._size_when_listed:
                try:
                    self._size_when_listed[e.uri] = os.stat(
                        os.path.join(self.folder, e.uri)).st_size
                except OSError:
                    self.problem(f"{e.uri} is listed but not on disk")
                    self._size_when_listed[e.uri] = -1
        if last is None:
            return
        end = pl.media_sequence + len(pl.entries)
        last_end = last.media_sequence + len(last.entries)
        if end < last_end:
            self.problem(f"the playlist lost entries at its end: last sequence number "
                         f"{last_end - 1} -> {end - 1}")
        if pl.media_sequence < last.media_sequence:
            self.problem(f"EXT-X-MEDIA-SEQUENCE went back {last.media_sequence} -> "
                         f"{pl.media_sequence}")
        if pl.discontinuity_sequence < last.discontinuity_sequence:
            self.problem(f"EXT-X-DISCONTINUITY-SEQUENCE went back "
                         f"{last.discontinuity_sequence} -> {pl.discontinuity_sequence}")
        if last.endlist and not pl.endlist:
            self.problem("EXT-X-ENDLIST went away")
        if last.playlist_type == "EVENT" and pl.media_sequence != last.media_sequence:
            self.problem("an EVENT playlist dropped entries (RFC 8216 §4.3.3.5)")


def _through_last_uri(data: bytes, pl: m3u8.Playlist) -> bytes | None:
    """The bytes up to and including the last segment's URI line."""
    if not pl.entries:
        return None
    uri = pl.entries[-1].uri.encode()
    at = data.rfind(b"\n" + uri + b"\n")
    return data[:at + len(uri) + 2] if at >= 0 else None
