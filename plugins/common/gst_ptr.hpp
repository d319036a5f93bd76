// RAII handles for GStreamer references. Every ref the elements take goes
// through one of these, so no early return can leak one.
#pragma once

#include <gst/gst.h>

#include <cstdint>
#include <span>
#include <utility>

namespace nagare {

// How to take and drop a reference on T. GstObject subclasses use the
// default; mini objects and plain boxed types are specialised below.
template <typename T>
struct GstRefTraits {
  static T* ref(T* p) { return static_cast<T*>(gst_object_ref(p)); }
  static void unref(T* p) { gst_object_unref(p); }
};

// Type is a type name: "(Type)* p" would not parse, so it goes bare.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define NAGARE_MINI_OBJECT_TRAITS(Type, ref_fn, unref_fn) \
  template <>                                             \
  struct GstRefTraits<Type> {                             \
    static Type* ref(Type* p) { return ref_fn(p); }       \
    static void unref(Type* p) { unref_fn(p); }           \
  };
// NOLINTEND(bugprone-macro-parentheses)

NAGARE_MINI_OBJECT_TRAITS(GstBuffer, gst_buffer_ref, gst_buffer_unref)
NAGARE_MINI_OBJECT_TRAITS(GstBufferList, gst_buffer_list_ref, gst_buffer_list_unref)
NAGARE_MINI_OBJECT_TRAITS(GstCaps, gst_caps_ref, gst_caps_unref)
NAGARE_MINI_OBJECT_TRAITS(GstEvent, gst_event_ref, gst_event_unref)
NAGARE_MINI_OBJECT_TRAITS(GstMemory, gst_memory_ref, gst_memory_unref)
NAGARE_MINI_OBJECT_TRAITS(GstMessage, gst_message_ref, gst_message_unref)
NAGARE_MINI_OBJECT_TRAITS(GstSample, gst_sample_ref, gst_sample_unref)
NAGARE_MINI_OBJECT_TRAITS(GstQuery, gst_query_ref, gst_query_unref)
#undef NAGARE_MINI_OBJECT_TRAITS

// GstStructure is not reference counted: "ref" is a deep copy.
template <>
struct GstRefTraits<GstStructure> {
  static GstStructure* ref(GstStructure* p) { return gst_structure_copy(p); }
  static void unref(GstStructure* p) { gst_structure_free(p); }
};

// An owning pointer to one GStreamer reference. Construction says which kind
// of pointer it is given: adopt() takes over a reference the caller already
// owns (transfer full), ref() takes a new one (transfer none).
template <typename T>
class GstPtr {
 public:
  GstPtr() = default;
  GstPtr(std::nullptr_t) {}
  static GstPtr adopt(T* p) { return GstPtr(p); }
  static GstPtr ref(T* p) { return GstPtr(p ? GstRefTraits<T>::ref(p) : nullptr); }

  GstPtr(const GstPtr& other) : p_(other.p_ ? GstRefTraits<T>::ref(other.p_) : nullptr) {}
  GstPtr(GstPtr&& other) noexcept : p_(std::exchange(other.p_, nullptr)) {}
  GstPtr& operator=(GstPtr other) noexcept {
    std::swap(p_, other.p_);
    return *this;
  }
  ~GstPtr() { reset(); }

  T* get() const { return p_; }
  T* operator->() const { return p_; }
  explicit operator bool() const { return p_ != nullptr; }

  // Gives the reference away (transfer full to a GStreamer call).
  [[nodiscard]] T* release() { return std::exchange(p_, nullptr); }
  void reset() {
    if (T* p = std::exchange(p_, nullptr)) GstRefTraits<T>::unref(p);
  }

 private:
  explicit GstPtr(T* p) : p_(p) {}
  T* p_ = nullptr;
};

// A mapped GstBuffer for as long as this object lives. Move-only.
//
// A buffer of one memory (what udpsrc and webrtcbin hand over) has that
// memory mapped directly, which skips gst_buffer_map()'s merge bookkeeping:
// it costs a depayloader about a tenth of its per-packet work otherwise.
class BufferMap {
 public:
  BufferMap(GstBuffer* buffer, GstMapFlags flags) {
    if (gst_buffer_n_memory(buffer) == 1) {
      GstMemory* memory = gst_buffer_peek_memory(buffer, 0);
      if (gst_memory_map(memory, &info_, flags)) memory_ = memory;
    } else if (gst_buffer_map(buffer, &info_, flags)) {
      buffer_ = buffer;
    }
  }
  BufferMap(const BufferMap&) = delete;
  BufferMap& operator=(const BufferMap&) = delete;
  BufferMap(BufferMap&& other) noexcept
      : buffer_(std::exchange(other.buffer_, nullptr)),
        memory_(std::exchange(other.memory_, nullptr)),
        info_(other.info_) {}
  BufferMap& operator=(BufferMap&&) = delete;
  ~BufferMap() {
    if (memory_) gst_memory_unmap(memory_, &info_);
    if (buffer_) gst_buffer_unmap(buffer_, &info_);
  }

  explicit operator bool() const { return buffer_ || memory_; }
  std::span<const std::uint8_t> bytes() const {
    return *this ? std::span<const std::uint8_t>(info_.data, info_.size) : std::span<const std::uint8_t>();
  }
  std::span<std::uint8_t> writable_bytes() const {
    return *this ? std::span<std::uint8_t>(info_.data, info_.size) : std::span<std::uint8_t>();
  }

 private:
  GstBuffer* buffer_ = nullptr;  // mapped with gst_buffer_map
  GstMemory* memory_ = nullptr;  // or its only memory, mapped directly
  GstMapInfo info_{};
};

// g_free() on scope exit, for gchar* and other g_malloc'd results.
struct GFreeDeleter {
  void operator()(void* p) const { g_free(p); }
};

}  // namespace nagare
