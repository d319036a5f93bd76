"""HLS media playlist parser for the checker (RFC 8216), strict on purpose.

`parse()` raises PlaylistError for anything a player could misread: a file
cut short, a tag with a malformed value, an EXTINF with no URI after it, a
header tag repeated or placed after the first segment. Tags the checks do
not use are kept by name in `other_tags`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field


class PlaylistError(ValueError):
    pass


@dataclass
class Entry:
    uri: str
    duration: float                   # EXTINF, seconds
    duration_text: str
    seq: int                          # media sequence number (RFC 8216 §6.3.2)
    disc_seq: int                     # discontinuity sequence number
    discontinuity: bool = False       # EXT-X-DISCONTINUITY before this entry
    pdt: dt.datetime | None = None    # EXT-X-PROGRAM-DATE-TIME before this entry
    line: int = 0


@dataclass
class Playlist:
    version: int | None = None
    target_duration: int | None = None
    media_sequence: int = 0
    discontinuity_sequence: int = 0
    playlist_type: str | None = None
    endlist: bool = False
    entries: list[Entry] = field(default_factory=list)
    other_tags: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)   # not fatal to parsing


_DECIMAL = re.compile(r"^[0-9]+(\.[0-9]+)?$")
_INTEGER = re.compile(r"^[0-9]+$")
_PDT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$")

_HEADER_TAGS = ("#EXT-X-VERSION", "#EXT-X-TARGETDURATION", "#EXT-X-MEDIA-SEQUENCE",
                "#EXT-X-DISCONTINUITY-SEQUENCE", "#EXT-X-PLAYLIST-TYPE")


def parse_pdt(text: str) -> dt.datetime:
    if not _PDT.match(text):
        raise ValueError(text)
    # fromisoformat of Python 3.11 takes Z, offsets and any number of digits
    # of fractions; older ones want exactly 3 or 6 and no Z.
    t = text.replace("Z", "+00:00")
    m = re.match(r"^(.*?)(\.\d+)?([+-]\d{2}):?(\d{2})$", t)
    if m is None:
        raise ValueError(text)
    frac = (m.group(2) or ".0")[1:7].ljust(6, "0")
    return dt.datetime.fromisoformat(f"{m.group(1)}.{frac}{m.group(3)}:{m.group(4)}")


def _number(tag: str, value: str, pattern: re.Pattern, line: int) -> str:
    if not pattern.match(value):
        raise PlaylistError(f"line {line}: {tag} has a malformed value {value!r}")
    return value


def parse(text: str, strict: bool = True) -> Playlist:
    """Parses a media playlist; PlaylistError says what is wrong and where.
    Not strict: a missing line feed at the very end is noted in `problems`."""
    if not text.startswith("#EXTM3U"):
        raise PlaylistError(f"does not start with #EXTM3U (starts {text[:20]!r})")
    pl = Playlist()
    if not text.endswith("\n"):
        # RFC 8216 §4.1: every line ends with a line feed. A reader cannot
        # tell a file that lacks the last one from a file cut short.
        if strict:
            raise PlaylistError("the last line has no newline: the file is cut short")
        pl.problems.append("the last line has no line feed (RFC 8216 §4.1)")
        text += "\n"
    seen_header: set[str] = set()
    pending_inf: tuple[float, str, int] | None = None
    pending_disc = False
    pending_pdt: dt.datetime | None = None
    disc_count = 0
    lines = text.split("\n")[:-1]
    for n, raw in enumerate(lines[1:], start=2):
        line = raw.rstrip("\r")
        if not line:
            continue
        if pl.endlist:
            raise PlaylistError(f"line {n}: {line!r} after #EXT-X-ENDLIST")
        if not line.startswith("#"):
            if pending_inf is None:
                raise PlaylistError(f"line {n}: URI {line!r} without an #EXTINF before it")
            dur, dur_text, inf_line = pending_inf
            pl.entries.append(Entry(line, dur, dur_text, pl.media_sequence + len(pl.entries),
                                    pl.discontinuity_sequence + disc_count,
                                    pending_disc, pending_pdt, inf_line))
            pending_inf, pending_disc, pending_pdt = None, False, None
            continue
        if not line.startswith("#EXT"):
            continue   # a comment
        tag, _, value = line.partition(":")
        if tag in _HEADER_TAGS:
            if tag in seen_header:
                raise PlaylistError(f"line {n}: {tag} appears twice")
            if pl.entries or pending_inf:
                raise PlaylistError(f"line {n}: {tag} after the first segment")
            seen_header.add(tag)
        if tag == "#EXT-X-VERSION":
            pl.version = int(_number(tag, value, _INTEGER, n))
        elif tag == "#EXT-X-TARGETDURATION":
            pl.target_duration = int(_number(tag, value, _INTEGER, n))
        elif tag == "#EXT-X-MEDIA-SEQUENCE":
            pl.media_sequence = int(_number(tag, value, _INTEGER, n))
        elif tag == "#EXT-X-DISCONTINUITY-SEQUENCE":
            pl.discontinuity_sequence = int(_number(tag, value, _INTEGER, n))
        elif tag == "#EXT-X-PLAYLIST-TYPE":
            if value not in ("EVENT", "VOD"):
                raise PlaylistError(f"line {n}: #EXT-X-PLAYLIST-TYPE {value!r}")
            pl.playlist_type = value
        elif tag == "#EXTINF":
            if pending_inf is not None:
                raise PlaylistError(f"line {n}: #EXTINF follows an #EXTINF with no URI between")
            dur_text, comma, _title = value.partition(",")
            if not comma:
                raise PlaylistError(f"line {n}: #EXTINF without the comma (RFC 8216 §4.3.2.1)")
            pending_inf = (float(_number(tag, dur_text, _DECIMAL, n)), dur_text, n)
        elif tag == "#EXT-X-DISCONTINUITY":
            if value or line != tag:
                raise PlaylistError(f"line {n}: malformed {line!r}")
            pending_disc = True
            disc_count += 1
        elif tag == "#EXT-X-PROGRAM-DATE-TIME":
            try:
                pending_pdt = parse_pdt(value)
            except ValueError:
                raise PlaylistError(f"line {n}: malformed #EXT-X-PROGRAM-DATE-TIME {value!r}") \
                    from None
        elif tag == "#EXT-X-ENDLIST":
            pl.endlist = True
        else:
            pl.other_tags.append(tag)
    if pending_inf is not None:
        raise PlaylistError(f"line {pending_inf[2]}: the last #EXTINF has no URI: the file is "
                            "cut short")
    if pending_disc or pending_pdt is not None:
        raise PlaylistError("a tag for a segment at the end with no segment after it")
    if pl.target_duration is None:
        raise PlaylistError("no #EXT-X-TARGETDURATION (RFC 8216 §4.3.3.1 requires it)")
    return pl


def read(path: str, strict: bool = True) -> Playlist:
    with open(path, encoding="utf-8") as f:
        return parse(f.read(), strict)
