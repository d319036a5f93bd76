#include "assembler.hpp"

#include "../common/wrap.hpp"

namespace nagare::h264 {

namespace {

// Whether a NAL unit (or the start of one) can be the first of an access
// unit, so that an access unit opened by it after a gap is known to be whole
// at its head. `slice_header` is the first byte after the NAL header.
bool clean_start(std::uint8_t type, std::span<const std::uint8_t> after_header) {
  if (opens_access_unit(type)) return true;
  return is_slice(type) && !after_header.empty() && (after_header[0] & 0x80);
}

}  // namespace

std::size_t AccessUnit::output_size() const {
  std::size_t n = 0;
  for (const Piece& p : pieces) n += p.size + (p.source == Piece::Source::kPacket ? sizeof kStartCode : 0);
  return n;
}

void AccessUnit::clear() {
  rtp_timestamp = 0;
  pts = -1;
  keyframe = false;
  discont = false;
  pieces.clear();
  arena.clear();
  packets.clear();
}

Assembler::Assembler(AssemblerSettings settings) : settings_(settings) { reset(); }

void Assembler::reset() {
  release_ready();
  close_current();
  have_sequence_ = false;
  waiting_for_keyframe_ = settings_.wait_for_keyframe;
  discont_pending_ = true;
  gap_pending_ = true;
}

void Assembler::close_current() {
  current_.clear();
  open_ = broken_ = fu_active_ = false;
  has_sps_ = has_pps_ = aud_first_ = false;
  nal_count_ = 0;
}

void Assembler::release_ready() {
  for (std::size_t i = 0; i < ready_count_; ++i) ready_[i].clear();
  ready_count_ = 0;
}

AssemblerStats Assembler::stats() const {
  return AssemblerStats{stats_.packets.get(),     stats_.access_units.get(), stats_.dropped.get(),
                        stats_.lost.get(),        stats_.late.get(),         stats_.malformed.get(),
                        stats_.unsupported.get(), stats_.padding.get(),      stats_.restarts.get()};
}

void Assembler::reset_stats() {
  for (Counter* c : {&stats_.packets, &stats_.access_units, &stats_.dropped, &stats_.lost, &stats_.late,
                     &stats_.malformed, &stats_.unsupported, &stats_.padding, &stats_.restarts})
    c->reset();
}

PushResult Assembler::push(const RtpPacket& rtp, std::span<const std::uint8_t> bytes, PacketRef ref, std::int64_t pts) {
  release_ready();
  PushResult result;
  stats_.packets.add();
  if (!track_sequence(rtp, result)) return result;

  if (rtp.payload.empty()) {
    // Padding-only packets (RFC 3550 §5.1) are how senders probe bandwidth;
    // they use a sequence number and carry nothing.
    if (rtp.padding) {
      stats_.padding.add();
    } else {
      stats_.malformed.add();
      result.malformation = Malformation::kEmpty;
    }
    return result;
  }

  const Payload payload = parse_payload(rtp.payload);

  // RFC 6184 §5.1: the marker ends an access unit, but senders that omit it
  // exist; a new timestamp ends the previous one as well.
  if (open_ && rtp.timestamp != current_.rtp_timestamp) finish(result);

  switch (payload.kind) {
    case PayloadKind::kSingle:
      open(rtp, pts, clean_start(payload.type, payload.data.subspan(1)));
      if (const auto index = hold_packet(ref, result)) add_packet_nal(payload.data, bytes, *index);
      break;

    case PayloadKind::kStapA: {
      const auto first = *payload.stap_units().begin();
      open(rtp, pts, clean_start(nal_type(first[0]), first.subspan(1)));
      if (const auto index = hold_packet(ref, result))
        for (const auto nal : payload.stap_units()) add_packet_nal(nal, bytes, *index);
      break;
    }

    case PayloadKind::kFuA:
      open(rtp, pts, payload.fu.start && clean_start(nal_type(payload.fu.nal_header), payload.data));
      add_fragment(payload, result);
      break;

    case PayloadKind::kReserved:
      // RFC 6184 §5.2: types 0, 30 and 31 carry nothing a decoder needs;
      // ignore the packet but keep the access unit it sits in.
      stats_.malformed.add();
      result.malformation = Malformation::kReservedType;
      break;

    case PayloadKind::kUnsupported:
      // Interleaved-mode payloads (RFC 6184 §5.7, §5.8 FU-B): their data is
      // lost to us, so the access unit is too.
      stats_.unsupported.add();
      result.unsupported = true;
      open(rtp, pts, false);
      mark_broken();
      break;

    case PayloadKind::kMalformed:
      stats_.malformed.add();
      result.malformation = payload.malformation;
      open(rtp, pts, false);
      mark_broken();
      break;
  }

  if (rtp.marker) finish(result);
  return result;
}

PushResult Assembler::packet_lost(std::optional<std::uint16_t> sequence) {
  release_ready();
  PushResult result;
  if (sequence && have_sequence_) {
    const std::int32_t d = seq_distance(expected_sequence_, *sequence);
    // Already seen, already counted, or nonsense: nothing new is lost.
    if (d < 0 || d >= kRestartDistance) return result;
    // The named packet and any before it that have not come either; the
    // gap is then not counted again when the next packet arrives.
    stats_.lost.add(static_cast<std::uint64_t>(d) + 1);
    expected_sequence_ = static_cast<std::uint16_t>(*sequence + 1);
  } else {
    stats_.lost.add();
  }
  note_loss(result);
  return result;
}

void Assembler::drain() {
  release_ready();
  // A NAL unit cut short by the end of the stream is truncated, not malformed.
  if (fu_active_) mark_broken();
  PushResult ignored;
  finish(ignored);
}

bool Assembler::track_sequence(const RtpPacket& rtp, PushResult& result) {
  if (have_sequence_) {
    const std::int32_t d = seq_distance(expected_sequence_, rtp.sequence);
    if (rtp.ssrc != ssrc_ || d >= kRestartDistance || d <= -kRestartDistance) {
      restart(result);
    } else if (d < 0) {
      // Behind what was already handled: a duplicate or a packet reordered
      // beyond what the jitter buffer fixed. Its access unit has moved on.
      stats_.late.add();
      return false;
    } else if (d > 0) {
      stats_.lost.add(static_cast<std::uint64_t>(d));
      note_loss(result);
    }
  }
  have_sequence_ = true;
  expected_sequence_ = static_cast<std::uint16_t>(rtp.sequence + 1);
  ssrc_ = rtp.ssrc;
  return true;
}

void Assembler::note_loss(PushResult& result) {
  // The missing packets may belong to the open access unit or to the head of
  // the next one; the open one is dropped, the next is checked when it opens.
  if (open_) broken_ = true;
  gap_pending_ = true;
  discont_pending_ = true;
  if (settings_.wait_for_keyframe) waiting_for_keyframe_ = true;
  result.request_keyframe = true;
}

void Assembler::restart(PushResult& result) {
  stats_.restarts.add();
  if (open_) {
    broken_ = true;
    finish(result);
  }
  gap_pending_ = true;
  discont_pending_ = true;
  if (settings_.wait_for_keyframe) waiting_for_keyframe_ = true;
  result.request_keyframe = true;
}

void Assembler::open(const RtpPacket& rtp, std::int64_t pts, bool clean) {
  if (open_) return;
  open_ = true;
  broken_ = gap_pending_ && !clean;
  gap_pending_ = false;
  current_.rtp_timestamp = rtp.timestamp;
  current_.pts = pts;
  if (current_.arena.capacity() < arena_hint_) current_.arena.reserve(arena_hint_);
}

void Assembler::mark_broken() {
  broken_ = true;
  fu_active_ = false;
}

std::optional<std::uint32_t> Assembler::hold_packet(PacketRef& ref, PushResult& result) {
  if (broken_) return std::nullopt;
  if (fu_active_) {
    // §5.8: another NAL unit came before the fragmented one ended.
    stats_.malformed.add();
    result.malformation = Malformation::kFuUnfinished;
    mark_broken();
    return std::nullopt;
  }
  current_.packets.push_back(std::move(ref));
  return static_cast<std::uint32_t>(current_.packets.size() - 1);
}

void Assembler::add_packet_nal(std::span<const std::uint8_t> nal, std::span<const std::uint8_t> bytes,
                               std::uint32_t packet_index) {
  Piece piece;
  piece.source = Piece::Source::kPacket;
  piece.packet = packet_index;
  piece.offset = static_cast<std::uint32_t>(nal.data() - bytes.data());
  piece.size = static_cast<std::uint32_t>(nal.size());
  current_.pieces.push_back(piece);
  note_nal(nal);
}

void Assembler::add_fragment(const Payload& payload, PushResult& result) {
  if (broken_) return;
  auto& arena = current_.arena;
  const auto refuse = [&](Malformation why) {
    stats_.malformed.add();
    result.malformation = why;
    mark_broken();
  };

  if (payload.fu.start) {
    if (fu_active_) return refuse(Malformation::kFuUnfinished);
    fu_active_ = true;
    fu_begin_ = arena.size();
    arena.insert(arena.end(), std::begin(kStartCode), std::end(kStartCode));
    arena.push_back(payload.fu.nal_header);
  } else if (!fu_active_) {
    return refuse(Malformation::kFuWithoutStart);
  } else if (nal_type(arena[fu_begin_ + sizeof kStartCode]) != nal_type(payload.fu.nal_header)) {
    return refuse(Malformation::kFuTypeChanged);
  }

  arena.insert(arena.end(), payload.data.begin(), payload.data.end());

  if (payload.fu.end) {
    fu_active_ = false;
    add_arena_run(fu_begin_, arena.size() - fu_begin_);
    note_nal(std::span<const std::uint8_t>(arena).subspan(fu_begin_ + sizeof kStartCode));
  }
}

void Assembler::add_arena_run(std::size_t offset, std::size_t size) {
  auto& pieces = current_.pieces;
  // A leading delimiter keeps a piece of its own: parameter sets may have to
  // go in right after it (insert_parameter_sets()).
  const bool after_aud = aud_first_ && pieces.size() == 1;
  if (!pieces.empty() && !after_aud && pieces.back().source == Piece::Source::kArena &&
      pieces.back().offset + pieces.back().size == offset) {
    pieces.back().size += static_cast<std::uint32_t>(size);
    return;
  }
  pieces.push_back(
      Piece{Piece::Source::kArena, 0, static_cast<std::uint32_t>(offset), static_cast<std::uint32_t>(size)});
}

void Assembler::note_nal(std::span<const std::uint8_t> nal) {
  const std::uint8_t type = nal_type(nal[0]);
  if (nal_count_++ == 0) aud_first_ = type == kNalAud;
  switch (type) {
    case kNalIdr: current_.keyframe = true; break;
    case kNalSps:
      has_sps_ = true;
      parameter_sets_.store(nal);
      break;
    case kNalPps:
      has_pps_ = true;
      parameter_sets_.store(nal);
      break;
    default: break;
  }
}

void Assembler::finish(PushResult& result) {
  if (!open_) return;
  if (fu_active_) {
    // §5.8: the end fragment never came. With no packet lost (that would
    // have broken the access unit already) the sender ended the access unit
    // inside a fragmented NAL unit.
    if (!broken_) {
      stats_.malformed.add();
      result.malformation = Malformation::kFuUnfinished;
    }
    broken_ = true;
  }

  const bool drop = broken_ || current_.pieces.empty() || (waiting_for_keyframe_ && !current_.keyframe);
  if (drop) {
    if (broken_ || !current_.pieces.empty()) {
      stats_.dropped.add();
      result.request_keyframe = true;
    }
    if (broken_) {
      discont_pending_ = true;
      if (settings_.wait_for_keyframe) waiting_for_keyframe_ = true;
    }
  } else {
    if (current_.keyframe) {
      insert_parameter_sets();
      waiting_for_keyframe_ = false;
    }
    current_.discont = std::exchange(discont_pending_, false);
    stats_.access_units.add();
    arena_hint_ = std::max<std::size_t>(4096, current_.arena.size() + current_.arena.size() / 4);
    std::swap(current_, ready_[ready_count_++]);
  }
  close_current();
}

void Assembler::insert_parameter_sets() {
  // The inserted sets go first, so a missing PPS brings the SPS with it: a
  // decoder that starts at this IDR (a player joining at an HLS segment)
  // must see an SPS before the PPS that refers to it, or it refuses the PPS.
  const bool need_pps = !has_pps_ && parameter_sets_.has_pps();
  const bool need_sps = (!has_sps_ || need_pps) && parameter_sets_.has_sps();
  if (!need_sps && !need_pps) return;

  auto& arena = current_.arena;
  const std::size_t begin = arena.size();
  const auto append = [&arena](std::span<const std::uint8_t> nal) {
    arena.insert(arena.end(), std::begin(kStartCode), std::end(kStartCode));
    arena.insert(arena.end(), nal.begin(), nal.end());
  };
  if (need_sps) parameter_sets_.for_each_sps(append);
  if (need_pps) parameter_sets_.for_each_pps(append);

  // H.264 §7.4.1.2.3: an access unit delimiter stays first.
  const Piece run{Piece::Source::kArena, 0, static_cast<std::uint32_t>(begin),
                  static_cast<std::uint32_t>(arena.size() - begin)};
  current_.pieces.insert(current_.pieces.begin() + (aud_first_ ? 1 : 0), run);
}

}  // namespace nagare::h264
