"""MPEG-TS segment reader for the HLS checker: only what the checks need.

Independent of nagare's C++ code and of GStreamer: it reads the 188-byte
packets itself (ISO/IEC 13818-1), follows PAT and PMT, reassembles PES
packets, reads their 33-bit PTS/DTS, walks the MP3 (ISO/IEC 11172-3) or
ADTS (ISO/IEC 13818-7) frame headers inside the audio PES payloads, and
looks at the H.264 NAL unit types (ISO/IEC 14496-10 §7.4.1.2.3) at the
start of the first video access unit.

Everything is reported, nothing raised: a segment with broken bytes gives a
SegmentInfo whose `problems` say what and where.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TS_PACKET = 188
PTS_HZ = 90000
PTS_WRAP = 1 << 33

STREAM_H264 = 0x1B
STREAM_MPEG1_AUDIO = 0x03
STREAM_MPEG2_AUDIO = 0x04
STREAM_AAC_ADTS = 0x0F
AUDIO_STREAM_TYPES = {STREAM_MPEG1_AUDIO: "mp3", STREAM_MPEG2_AUDIO: "mp3", STREAM_AAC_ADTS: "aac"}

NAL_IDR = 5
NAL_SEI = 6
NAL_SPS = 7
NAL_PPS = 8
NAL_AUD = 9

# ISO/IEC 11172-3 §2.4.2.3 (MPEG-1) and ISO/IEC 13818-3 (MPEG-2/2.5), Layer III.
_MP3_BITRATES_V1 = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320]
_MP3_BITRATES_V2 = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160]
_MP3_RATES = {3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000]}
# ISO/IEC 14496-3 Table 1.18, sampling_frequency_index.
_ADTS_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050,
               16000, 12000, 11025, 8000, 7350]


@dataclass(frozen=True)
class AudioHeader:
    length: int       # bytes of the whole frame
    samples: int      # PCM samples per channel the frame decodes to
    rate: int         # Hz


def parse_mp3_header(b: bytes | memoryview, i: int) -> AudioHeader | None:
    """The MPEG audio Layer III frame header at b[i:], or None."""
    if i + 4 > len(b) or b[i] != 0xFF or (b[i + 1] & 0xE0) != 0xE0:
        return None
    version = (b[i + 1] >> 3) & 3          # 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
    layer = (b[i + 1] >> 1) & 3            # 1: Layer III
    bitrate_index = b[i + 2] >> 4
    rate_index = (b[i + 2] >> 2) & 3
    padding = (b[i + 2] >> 1) & 1
    if version == 1 or layer != 1 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    rate = _MP3_RATES[version][rate_index]
    if version == 3:
        kbps = _MP3_BITRATES_V1[bitrate_index]
        return AudioHeader(144000 * kbps // rate + padding, 1152, rate)
    kbps = _MP3_BITRATES_V2[bitrate_index]
    return AudioHeader(72000 * kbps // rate + padding, 576, rate)


def parse_adts_header(b: bytes | memoryview, i: int) -> AudioHeader | None:
    """The ADTS header at b[i:] (ISO/IEC 13818-7 §6.2), or None."""
    if i + 7 > len(b) or b[i] != 0xFF or (b[i + 1] & 0xF6) != 0xF0:
        return None
    rate_index = (b[i + 2] >> 2) & 0xF
    if rate_index >= len(_ADTS_RATES):
        return None
    length = ((b[i + 3] & 3) << 11) | (b[i + 4] << 3) | (b[i + 5] >> 5)
    blocks = (b[i + 6] & 3) + 1
    if length < 7:
        return None
    return AudioHeader(length, 1024 * blocks, _ADTS_RATES[rate_index])


AUDIO_HEADER_PARSERS = {"mp3": parse_mp3_header, "aac": parse_adts_header}


@dataclass
class AudioPes:
    pts: int                  # 90 kHz ticks, as read (not unwrapped)
    frames: int
    samples: int              # summed over the PES's frames
    rate: int


@dataclass
class SegmentInfo:
    path: str
    size: int = 0
    problems: list[str] = field(default_factory=list)
    video_pid: int | None = None
    audio_pid: int | None = None
    audio_codec: str | None = None
    # Video: one PTS per PES (an access unit, as mpegtsmux writes them).
    video_pts: list[int] = field(default_factory=list)
    video_key: list[bool] = field(default_factory=list)   # the AU holds an IDR slice
    first_video_nals: list[int] = field(default_factory=list)  # NAL types up to the first slice
    audio: list[AudioPes] = field(default_factory=list)
    audio_rate: int | None = None
    audio_frame_samples: int | None = None
    pat_before_pes: bool = False
    pmt_before_pes: bool = False


def pts_delta(a: int, b: int) -> int:
    """b − a in ticks across a 33-bit wrap: the difference of least size."""
    d = (b - a) % PTS_WRAP
    return d - PTS_WRAP if d >= PTS_WRAP // 2 else d


def read_timestamp(b: bytes | memoryview, i: int) -> int:
    """The 33-bit PTS or DTS coded in 5 bytes (ISO/IEC 13818-1 §2.4.3.7)."""
    return (((b[i] >> 1) & 7) << 30) | (b[i + 1] << 22) | ((b[i + 2] >> 1) << 15) \
        | (b[i + 3] << 7) | (b[i + 4] >> 1)


def nal_types(au: bytes, stop_at_slice: bool = True) -> list[int]:
    """NAL unit types of an Annex B byte stream, in order; up to and including
    the first slice (types 1-5) when stop_at_slice."""
    types = []
    i = au.find(b"\x00\x00\x01")
    while i >= 0 and i + 3 < len(au):
        t = au[i + 3] & 0x1F
        types.append(t)
        if stop_at_slice and 1 <= t <= 5:
            break
        i = au.find(b"\x00\x00\x01", i + 3)
    return types


def _has_idr(au: bytes) -> bool:
    i = au.find(b"\x00\x00\x01")
    while i >= 0 and i + 3 < len(au):
        t = au[i + 3] & 0x1F
        if t == NAL_IDR:
            return True
        if 1 <= t <= 4:
            return False   # a non-IDR slice comes first: not an IDR picture
        i = au.find(b"\x00\x00\x01", i + 3)
    return False


class _Pes:
    __slots__ = ("chunks", "size", "declared")

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.size = 0
        self.declared: int | None = None   # bytes after the PES_packet_length field


def _parse_psi(payload: bytes, pusi: bool) -> bytes | None:
    """The first section of a PSI payload (one-packet tables only)."""
    if not pusi or not payload:
        return None
    start = 1 + payload[0]
    if start + 3 > len(payload):
        return None
    length = ((payload[start + 1] & 0x0F) << 8) | payload[start + 2]
    section = payload[start:start + 3 + length]
    return section if len(section) == 3 + length else None


class SegmentReader:
    """Reads one segment file into a SegmentInfo."""

    def __init__(self, path: str) -> None:
        self.info = SegmentInfo(path)
        self.pmt_pid: int | None = None
        self.streams: dict[int, int] = {}     # elementary PID -> stream_type
        self.pes: dict[int, _Pes] = {}
        self.cc: dict[int, int] = {}
        self.seen_pes = False

    def problem(self, text: str) -> None:
        if len(self.info.problems) < 20:
            self.info.problems.append(text)

    def read(self) -> SegmentInfo:
        try:
            with open(self.info.path, "rb") as f:
                data = f.read()
        except OSError as e:
            self.problem(f"cannot read: {e.strerror}")
            return self.info
        self.info.size = len(data)
        if not data:
            self.problem("empty file")
            return self.info
        if len(data) % TS_PACKET:
            self.problem(f"size {len(data)} is not a multiple of {TS_PACKET} "
                         f"(a partial packet of {len(data) % TS_PACKET} bytes at the end)")
        for offset in range(0, len(data) - TS_PACKET + 1, TS_PACKET):
            self._packet(data, offset)
        for pid in list(self.pes):
            self._finish_pes(pid, at_end=True)
        if self.info.video_pid is None and self.info.audio_pid is None:
            self.problem("no H.264, MP3 or AAC stream in the PMT")
        return self.info

    def _packet(self, data: bytes, off: int) -> None:
        if data[off] != 0x47:
            self.problem(f"packet at byte {off}: sync byte 0x{data[off]:02x}, not 0x47")
            return
        b1, b2, b3 = data[off + 1], data[off + 2], data[off + 3]
        pid = ((b1 & 0x1F) << 8) | b2
        if b1 & 0x80:
            self.problem(f"packet at byte {off}: transport_error_indicator set")
        pusi = bool(b1 & 0x40)
        afc = (b3 >> 4) & 3
        start = off + 4
        if afc & 2:
            start += 1 + data[off + 4]
        if pid == 0x1FFF:
            return
        if afc & 1:
            cc = b3 & 0x0F
            last = self.cc.get(pid)
            if last is not None and cc != (last + 1) & 0x0F and cc != last:
                self.problem(f"PID 0x{pid:x}: continuity counter {last} -> {cc} at byte {off} "
                             "(packets lost)")
            self.cc[pid] = cc
        else:
            return
        if start > off + TS_PACKET:
            self.problem(f"packet at byte {off}: adaptation field runs past the packet")
            return
        payload = data[start:off + TS_PACKET]
        if pid == 0:
            self._pat(payload, pusi)
        elif pid == self.pmt_pid:
            self._pmt(payload, pusi)
        elif pid in self.streams:
            self._pes_payload(pid, payload, pusi, off)

    def _pat(self, payload: bytes, pusi: bool) -> None:
        section = _parse_psi(payload, pusi)
        if section is None or section[0] != 0x00:
            return
        for i in range(8, len(section) - 4, 4):
            program = (section[i] << 8) | section[i + 1]
            if program != 0:
                self.pmt_pid = ((section[i + 2] & 0x1F) << 8) | section[i + 3]
                if not self.seen_pes:
                    self.info.pat_before_pes = True
                return

    def _pmt(self, payload: bytes, pusi: bool) -> None:
        section = _parse_psi(payload, pusi)
        if section is None or section[0] != 0x02:
            return
        if not self.seen_pes:
            self.info.pmt_before_pes = True
        info_len = ((section[10] & 0x0F) << 8) | section[11]
        i = 12 + info_len
        end = len(section) - 4
        while i + 5 <= end:
            stype = section[i]
            pid = ((section[i + 1] & 0x1F) << 8) | section[i + 2]
            es_len = ((section[i + 3] & 0x0F) << 8) | section[i + 4]
            if stype == STREAM_H264 and self.info.video_pid in (None, pid):
                self.info.video_pid = pid
                self.streams[pid] = stype
            elif stype in AUDIO_STREAM_TYPES and self.info.audio_pid in (None, pid):
                self.info.audio_pid = pid
                self.info.audio_codec = AUDIO_STREAM_TYPES[stype]
                self.streams[pid] = stype
            i += 5 + es_len

    def _pes_payload(self, pid: int, payload: bytes, pusi: bool, off: int) -> None:
        if pusi:
            self._finish_pes(pid, at_end=False)
            if len(payload) < 6 or payload[:3] != b"\x00\x00\x01":
                self.problem(f"PID 0x{pid:x}: PES at byte {off} lacks its start code")
                return
            pes = _Pes()
            length = (payload[4] << 8) | payload[5]
            pes.declared = length or None
            self.pes[pid] = pes
            self.seen_pes = True
        pes = self.pes.get(pid)
        if pes is None:
            # Payload that continues a PES begun in an earlier file.
            self.problem(f"PID 0x{pid:x}: payload at byte {off} continues a PES that "
                         "started before this segment")
            self.pes[pid] = pes = _Pes()
            pes.declared = -1
            return
        if pes.declared == -1:
            return
        pes.chunks.append(payload)
        pes.size += len(payload)

    def _finish_pes(self, pid: int, at_end: bool) -> None:
        pes = self.pes.pop(pid, None)
        if pes is None or pes.declared == -1:
            return
        data = b"".join(pes.chunks)
        if pes.declared is not None and len(data) != pes.declared + 6:
            where = "at the end of the segment" if at_end else "before the next PES"
            self.problem(f"PID 0x{pid:x}: PES of {pes.declared + 6} bytes ends {where} "
                         f"after {len(data)} bytes (cut PES)")
            return
        if len(data) < 9:
            self.problem(f"PID 0x{pid:x}: PES of {len(data)} bytes is too short")
            return
        flags = data[7] >> 6
        header_end = 9 + data[8]
        if flags & 2 == 0:
            self.problem(f"PID 0x{pid:x}: PES without a PTS")
            return
        pts = read_timestamp(data, 9)
        body = data[header_end:]
        if pid == self.info.video_pid:
            self._video_au(pts, body)
        else:
            self._audio_pes(pts, body)

    def _video_au(self, pts: int, au: bytes) -> None:
        info = self.info
        if not info.video_pts:
            info.first_video_nals = nal_types(au)
        info.video_pts.append(pts)
        info.video_key.append(_has_idr(au))

    def _audio_pes(self, pts: int, body: bytes) -> None:
        info = self.info
        parse = AUDIO_HEADER_PARSERS[info.audio_codec or "mp3"]
        i = frames = samples = 0
        rate = None
        while i < len(body):
            h = parse(body, i)
            if h is None:
                self.problem(f"audio PES at PTS {pts}: no {info.audio_codec} frame header at "
                             f"byte {i} of {len(body)} (garbage or a split frame)")
                break
            if i + h.length > len(body):
                self.problem(f"audio PES at PTS {pts}: frame at byte {i} needs {h.length} "
                             f"bytes, only {len(body) - i} left (split frame)")
                break
            if rate is not None and h.rate != rate:
                self.problem(f"audio PES at PTS {pts}: sample rate changes {rate} -> {h.rate}")
            rate = h.rate
            if info.audio_frame_samples is None:
                info.audio_frame_samples = h.samples
            frames += 1
            samples += h.samples
            i += h.length
        if frames:
            if info.audio_rate is None:
                info.audio_rate = rate
            info.audio.append(AudioPes(pts, frames, samples, rate or 0))


def read_segment(path: str) -> SegmentInfo:
    return SegmentReader(path).read()
