// Zero leaked GstObjects, buffers, caps and events, test case by test case.
//
// Under GStreamer's leaks tracer (GST_TRACERS=leaks, which meson sets for the
// element tests) every GstObject and GstMiniObject created is tracked until
// it is finalized. After each test case, whose pipelines, harnesses and
// buffers are out of scope by then, anything still alive and not marked
// "may be leaked" (the registry, plugin features, pad templates and the
// system clock are) was leaked by the case: it fails, naming each object.
//
// A reported object is then marked "may be leaked" so that the next case is
// judged on its own objects only. Without the tracer nothing is checked, so
// the tests still run under a plain `meson test` with GST_TRACERS unset.
//
// For where a leaked object was made, run with
//   GST_TRACERS='leaks(stack-traces-flags=full)'
// and the creation stack of each comes with the report.
#include <gst/gst.h>

#include <cstddef>
#include <sstream>
#include <string>

#include "../case_end_check.hpp"

namespace {

constexpr std::size_t kMaxNamed = 12;  // a report names this many, then counts
constexpr int kGraceAttempts = 50;     // × kGraceStepUs: half a second at most
constexpr gulong kGraceStepUs = 10'000;

GstTracer* leaks_tracer() {
  GList* tracers = gst_tracing_get_active_tracers();
  GstTracer* found = nullptr;
  for (GList* l = tracers; l; l = l->next) {
    auto* tracer = static_cast<GstTracer*>(l->data);
    if (!found && g_strcmp0(G_OBJECT_TYPE_NAME(tracer), "GstLeaksTracer") == 0) {
      found = static_cast<GstTracer*>(gst_object_ref(tracer));
    }
  }
  g_list_free_full(tracers, gst_object_unref);
  return found;
}

// One live object from the tracer's list: described, and marked so that it
// is reported once.
std::string describe_and_forgive(const GValue* object, const GstStructure* entry) {
  std::ostringstream out;
  if (G_VALUE_HOLDS_OBJECT(object)) {
    auto* o = static_cast<GObject*>(g_value_get_object(object));
    if (GST_IS_OBJECT(o)) {
      GST_OBJECT_FLAG_SET(o, GST_OBJECT_FLAG_MAY_BE_LEAKED);
      out << G_OBJECT_TYPE_NAME(o) << " \"" << GST_OBJECT_NAME(o) << '"';
    } else {
      out << G_OBJECT_TYPE_NAME(o);
    }
  } else {
    auto* mo = static_cast<GstMiniObject*>(g_value_get_boxed(object));
    GST_MINI_OBJECT_FLAG_SET(mo, GST_MINI_OBJECT_FLAG_MAY_BE_LEAKED);
    gchar* text = gst_info_strdup_printf("%" GST_PTR_FORMAT, static_cast<void*>(mo));
    out << g_type_name(GST_MINI_OBJECT_TYPE(mo)) << ' ' << (text ? text : "");
    g_free(text);
  }
  guint refs = 0;
  if (gst_structure_get_uint(entry, "ref-count", &refs)) out << " (refcount " << refs << ')';
  if (const gchar* trace = gst_structure_get_string(entry, "trace"); trace && *trace) {
    out << " created at: " << trace;
  }
  return out.str();
}

// The tracer's list of live objects. GStreamer 1.22's tracer puts each object
// in the list without a reference of its own ("to avoid deadlocks"), so
// freeing the list drops one of the object's references: keep_alive() takes
// one first.
class LiveObjects {
 public:
  explicit LiveObjects(GstTracer* tracer) { g_signal_emit_by_name(tracer, "get-live-objects", &info_); }
  ~LiveObjects() {
    if (info_) gst_structure_free(info_);
  }
  LiveObjects(const LiveObjects&) = delete;
  LiveObjects& operator=(const LiveObjects&) = delete;

  bool valid() const { return info_ != nullptr; }
  guint size() const {
    const GValue* list = info_ ? gst_structure_get_value(info_, "live-objects-list") : nullptr;
    return list ? gst_value_list_get_size(list) : 0;
  }
  const GstStructure* entry(guint i) const {
    return gst_value_get_structure(gst_value_list_get_value(gst_structure_get_value(info_, "live-objects-list"), i));
  }
  void keep_alive() const {
    for (guint i = 0; i < size(); ++i) {
      const GValue* object = gst_structure_get_value(entry(i), "object");
      if (!object) continue;
      if (G_VALUE_HOLDS_OBJECT(object)) {
        g_object_ref(g_value_get_object(object));
      } else {
        gst_mini_object_ref(static_cast<GstMiniObject*>(g_value_get_boxed(object)));
      }
    }
  }

 private:
  GstStructure* info_ = nullptr;
};

std::string leaked_objects() {
  GstTracer* tracer = leaks_tracer();
  if (!tracer) return {};
  // A streaming thread drops its last reference to its GstTask just after
  // gst_task_join() has returned, so an object may outlive its test case by
  // a moment: only what is still alive after a grace period is a leak.
  for (int attempt = 0; attempt < kGraceAttempts; ++attempt) {
    LiveObjects live(tracer);
    live.keep_alive();
    if (live.valid() && live.size() == 0) {
      gst_object_unref(tracer);
      return {};
    }
    g_usleep(kGraceStepUs);
  }
  LiveObjects live(tracer);
  gst_object_unref(tracer);
  if (!live.valid()) return "the leaks tracer returned no live-object list";
  live.keep_alive();
  const guint n = live.size();
  if (n == 0) return {};
  std::ostringstream report;
  for (guint i = 0; i < n; ++i) {
    const GValue* object = gst_structure_get_value(live.entry(i), "object");
    if (!object) continue;
    const std::string what = describe_and_forgive(object, live.entry(i));
    if (i < kMaxNamed) report << (i ? "; " : "") << what;
  }
  std::ostringstream out;
  out << n << " object" << (n == 1 ? "" : "s") << " leaked by this test case: " << report.str();
  if (n > kMaxNamed) out << "; and " << n - kMaxNamed << " more";
  return out.str();
}

const bool installed = [] {
  nagare::test::case_end_check = leaked_objects;
  return true;
}();

}  // namespace
