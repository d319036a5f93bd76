// nagarehlssink as a GObject: its factory, pad templates, request pads and
// properties, before any data flows.
#include "hlssink_fixture.hpp"

namespace nagare::test::elements::hls {
namespace {

// A factory-made sink, not in a pipeline; fails the test on any GLib
// warning or critical logged while it lived.
class Sink {
 public:
  Sink() {
    init_gstreamer();
    log_problems_at_start_ = LogProblems::get().count();
    GstElement* made = gst_element_factory_make("nagarehlssink", nullptr);
    REQUIRE(made);  // GST_PLUGIN_PATH must lead to the built plugin
    element_ = GstPtr<GstElement>::adopt(static_cast<GstElement*>(gst_object_ref_sink(made)));
  }
  ~Sink() {
    element_.reset();
    const auto problems = LogProblems::get().since(log_problems_at_start_);
    for (const auto& m : problems) UNSCOPED_INFO("logged: " << m);
    CHECK(problems.empty());
  }
  GstElement* get() const { return element_.get(); }
  void reset() { element_.reset(); }

 private:
  std::size_t log_problems_at_start_ = 0;
  GstPtr<GstElement> element_;
};

GstPtr<GstElement> child_from_factory(GstElement* bin, const char* factory_name) {
  GstIterator* it = gst_bin_iterate_elements(GST_BIN(bin));
  GValue item = G_VALUE_INIT;
  GstPtr<GstElement> found;
  while (!found && gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
    auto* child = GST_ELEMENT(g_value_get_object(&item));
    GstElementFactory* factory = gst_element_get_factory(child);
    if (factory && g_str_equal(GST_OBJECT_NAME(factory), factory_name)) found = GstPtr<GstElement>::ref(child);
    g_value_reset(&item);
  }
  g_value_unset(&item);
  gst_iterator_free(it);
  return found;
}

// Whether the object behind `ref` has been freed; clears `ref`.
bool freed(GWeakRef& ref) {
  auto* still_there = static_cast<GObject*>(g_weak_ref_get(&ref));
  g_weak_ref_clear(&ref);
  if (!still_there) return true;
  g_object_unref(still_there);
  return false;
}

bool caps_equal(GstCaps* caps, const char* text) {
  const auto expected = GstPtr<GstCaps>::adopt(gst_caps_from_string(text));
  REQUIRE(expected);
  return gst_caps_is_equal(caps, expected.get());
}

bool template_accepts(GstPadTemplate* templ, const char* caps_text) {
  const auto caps = GstPtr<GstCaps>::adopt(gst_caps_from_string(caps_text));
  const auto template_caps = GstPtr<GstCaps>::adopt(gst_pad_template_get_caps(templ));
  return gst_caps_can_intersect(caps.get(), template_caps.get());
}

GParamSpec* property(GstElement* element, const char* name) {
  GParamSpec* spec = g_object_class_find_property(G_OBJECT_GET_CLASS(element), name);
  INFO("property " << name);
  REQUIRE(spec);
  return spec;
}

// Writable in NULL and READY only: the settings are copied at READY→PAUSED.
void check_settable_until_ready(GParamSpec* spec) {
  INFO("property " << spec->name);
  CHECK((spec->flags & G_PARAM_READWRITE) == G_PARAM_READWRITE);
  CHECK((spec->flags & GST_PARAM_MUTABLE_READY) != 0);
}

}  // namespace

TEST_CASE("factory: a sink bin with a video and an audio request template", "[hlssink][element]") {
  init_gstreamer();
  const auto factory = GstPtr<GstElementFactory>::adopt(gst_element_factory_find("nagarehlssink"));
  REQUIRE(factory);
  CHECK(std::string(gst_element_factory_get_metadata(factory.get(), GST_ELEMENT_METADATA_KLASS)) == "Sink/Muxer");
  CHECK(gst_element_factory_get_num_pad_templates(factory.get()) == 2);

  Sink sink;
  CHECK(GST_IS_BIN(sink.get()));
  CHECK(sink.get()->numpads == 0);  // every pad is requested
  GstElementClass* klass = GST_ELEMENT_GET_CLASS(sink.get());

  GstPadTemplate* video = gst_element_class_get_pad_template(klass, "video");
  REQUIRE(video);
  CHECK(GST_PAD_TEMPLATE_DIRECTION(video) == GST_PAD_SINK);
  CHECK(GST_PAD_TEMPLATE_PRESENCE(video) == GST_PAD_REQUEST);
  CHECK(caps_equal(GST_PAD_TEMPLATE_CAPS(video), "video/x-h264, stream-format=byte-stream, alignment=au"));
  CHECK(template_accepts(video, "video/x-h264, stream-format=byte-stream, alignment=au, profile=high"));
  CHECK_FALSE(template_accepts(video, "video/x-h264, stream-format=avc, alignment=au"));
  CHECK_FALSE(template_accepts(video, "video/x-h264, stream-format=byte-stream, alignment=nal"));
  CHECK_FALSE(template_accepts(video, "video/x-h265, stream-format=byte-stream, alignment=au"));

  GstPadTemplate* audio = gst_element_class_get_pad_template(klass, "audio");
  REQUIRE(audio);
  CHECK(GST_PAD_TEMPLATE_DIRECTION(audio) == GST_PAD_SINK);
  CHECK(GST_PAD_TEMPLATE_PRESENCE(audio) == GST_PAD_REQUEST);
  CHECK(caps_equal(GST_PAD_TEMPLATE_CAPS(audio),
                   "audio/mpeg, mpegversion=1, layer=3; audio/mpeg, mpegversion=4, stream-format=adts"));
  // What mpegaudioparse and aacparse say downstream.
  CHECK(template_accepts(audio, "audio/mpeg, mpegversion=1, layer=3, rate=48000, channels=2, parsed=true"));
  CHECK(template_accepts(audio, "audio/mpeg, mpegversion=4, stream-format=adts, rate=48000, channels=2, framed=true"));
  CHECK_FALSE(template_accepts(audio, "audio/mpeg, mpegversion=4, stream-format=raw"));
  CHECK_FALSE(template_accepts(audio, "audio/mpeg, mpegversion=1, layer=2"));
  CHECK_FALSE(template_accepts(audio, "audio/x-opus"));
}

TEST_CASE("request pads: one of each, on mpegtsmux pads, released cleanly", "[hlssink][element][pads]") {
  Sink sink;
  const auto mux = child_from_factory(sink.get(), "mpegtsmux");
  REQUIRE(mux);
  GstElementClass* klass = GST_ELEMENT_GET_CLASS(sink.get());

  auto video = GstPtr<GstPad>::adopt(gst_element_request_pad_simple(sink.get(), "video"));
  auto audio = GstPtr<GstPad>::adopt(gst_element_request_pad_simple(sink.get(), "audio"));
  REQUIRE(video);
  REQUIRE(audio);
  CHECK(std::string(GST_PAD_NAME(video.get())) == "video");
  CHECK(std::string(GST_PAD_NAME(audio.get())) == "audio");
  CHECK(GST_PAD_DIRECTION(video.get()) == GST_PAD_SINK);
  CHECK(GST_PAD_PAD_TEMPLATE(video.get()) == gst_element_class_get_pad_template(klass, "video"));
  CHECK(GST_PAD_PAD_TEMPLATE(audio.get()) == gst_element_class_get_pad_template(klass, "audio"));
  CHECK(sink.get()->numsinkpads == 2);
  CHECK(mux->numsinkpads == 2);
  // Each is a ghost of one of the muxer's pads.
  const auto video_target = GstPtr<GstPad>::adopt(gst_ghost_pad_get_target(GST_GHOST_PAD(video.get())));
  REQUIRE(video_target);
  CHECK(GST_PAD_PARENT(video_target.get()) == mux.get());

  // A second one of either is refused. (Asked for by template: asking by
  // the name "video" again makes GStreamer log a critical before it even
  // asks the element, as it does for hlssink2's pads of the same names.)
  GstPadTemplate* video_template = gst_element_class_get_pad_template(klass, "video");
  GstPadTemplate* audio_template = gst_element_class_get_pad_template(klass, "audio");
  CHECK(gst_element_request_pad(sink.get(), video_template, nullptr, nullptr) == nullptr);
  CHECK(gst_element_request_pad(sink.get(), audio_template, nullptr, nullptr) == nullptr);
  CHECK(sink.get()->numsinkpads == 2);
  CHECK(mux->numsinkpads == 2);

  SECTION("released: the muxer's pads go too, and the pads are freed") {
    GWeakRef video_ref, audio_ref;
    g_weak_ref_init(&video_ref, video.get());
    g_weak_ref_init(&audio_ref, audio.get());
    gst_element_release_request_pad(sink.get(), video.get());
    gst_element_release_request_pad(sink.get(), audio.get());
    video.reset();
    audio.reset();
    CHECK(freed(video_ref));
    CHECK(freed(audio_ref));
    CHECK(sink.get()->numpads == 0);
    CHECK(mux->numsinkpads == 0);

    // And can be asked for again.
    const auto again = GstPtr<GstPad>::adopt(gst_element_request_pad_simple(sink.get(), "video"));
    REQUIRE(again);
    CHECK(std::string(GST_PAD_NAME(again.get())) == "video");
    CHECK(mux->numsinkpads == 1);
    gst_element_release_request_pad(sink.get(), again.get());
    CHECK(mux->numsinkpads == 0);
  }

  SECTION("freed while still requested: pads and element go with it") {
    GWeakRef element_ref, video_ref;
    g_weak_ref_init(&element_ref, sink.get());
    g_weak_ref_init(&video_ref, video.get());
    video.reset();
    audio.reset();
    sink.reset();
    CHECK(freed(element_ref));
    CHECK(freed(video_ref));
  }
}

TEST_CASE("properties: types, defaults and ranges", "[hlssink][element][properties]") {
  Sink sink;
  GstElement* e = sink.get();

  GParamSpec* location = property(e, "location");
  CHECK(location->value_type == G_TYPE_STRING);
  CHECK(std::string(G_PARAM_SPEC_STRING(location)->default_value) == "segment%05d.ts");
  check_settable_until_ready(location);

  GParamSpec* playlist_location = property(e, "playlist-location");
  CHECK(playlist_location->value_type == G_TYPE_STRING);
  CHECK(std::string(G_PARAM_SPEC_STRING(playlist_location)->default_value) == "playlist.m3u8");
  check_settable_until_ready(playlist_location);

  GParamSpec* playlist_root = property(e, "playlist-root");
  CHECK(playlist_root->value_type == G_TYPE_STRING);
  CHECK(G_PARAM_SPEC_STRING(playlist_root)->default_value == nullptr);
  check_settable_until_ready(playlist_root);

  // A double, so fractional targets (1.5 s) are possible.
  GParamSpec* target = property(e, "target-duration");
  REQUIRE(target->value_type == G_TYPE_DOUBLE);
  CHECK(G_PARAM_SPEC_DOUBLE(target)->default_value == 2.0);
  CHECK(G_PARAM_SPEC_DOUBLE(target)->minimum == 0.1);
  CHECK(G_PARAM_SPEC_DOUBLE(target)->maximum == 3600.0);
  check_settable_until_ready(target);

  GParamSpec* playlist_length = property(e, "playlist-length");
  REQUIRE(playlist_length->value_type == G_TYPE_UINT);
  CHECK(G_PARAM_SPEC_UINT(playlist_length)->default_value == 5);
  CHECK(G_PARAM_SPEC_UINT(playlist_length)->minimum == 0);  // 0: an EVENT playlist
  CHECK(G_PARAM_SPEC_UINT(playlist_length)->maximum == G_MAXUINT);
  check_settable_until_ready(playlist_length);

  GParamSpec* max_files = property(e, "max-files");
  REQUIRE(max_files->value_type == G_TYPE_UINT);
  CHECK(G_PARAM_SPEC_UINT(max_files)->default_value == 10);
  CHECK(G_PARAM_SPEC_UINT(max_files)->minimum == 0);
  check_settable_until_ready(max_files);

  GParamSpec* dates = property(e, "program-date-time");
  REQUIRE(dates->value_type == G_TYPE_BOOLEAN);
  CHECK(G_PARAM_SPEC_BOOLEAN(dates)->default_value == TRUE);
  check_settable_until_ready(dates);

  GParamSpec* requests = property(e, "send-keyframe-requests");
  REQUIRE(requests->value_type == G_TYPE_BOOLEAN);
  CHECK(G_PARAM_SPEC_BOOLEAN(requests)->default_value == TRUE);
  check_settable_until_ready(requests);

  GParamSpec* stats = property(e, "stats");
  CHECK(stats->value_type == GST_TYPE_STRUCTURE);
  CHECK((stats->flags & G_PARAM_READABLE) != 0);
  CHECK((stats->flags & G_PARAM_WRITABLE) == 0);

  SECTION("a fresh element reads back its defaults") {
    gchar *loc = nullptr, *playlist = nullptr, *root = nullptr;
    gdouble target_duration = 0;
    guint length = 0, files = 0;
    gboolean date_time = FALSE, keyframe_requests = FALSE;
    g_object_get(e, "location", &loc, "playlist-location", &playlist, "playlist-root", &root, "target-duration",
                 &target_duration, "playlist-length", &length, "max-files", &files, "program-date-time", &date_time,
                 "send-keyframe-requests", &keyframe_requests, nullptr);
    CHECK(std::string(loc) == "segment%05d.ts");
    CHECK(std::string(playlist) == "playlist.m3u8");
    CHECK(root == nullptr);
    CHECK(target_duration == 2.0);
    CHECK(length == 5);
    CHECK(files == 10);
    CHECK(date_time);
    CHECK(keyframe_requests);
    g_free(loc);
    g_free(playlist);
    g_free(root);
  }

  SECTION("values set are read back; the edges of each range are accepted") {
    g_object_set(e, "target-duration", 1.5, "playlist-length", 0u, "max-files", 0u, "playlist-root",
                 "http://example.invalid/live", nullptr);
    gdouble target_duration = 0;
    guint length = 99, files = 99;
    gchar* root = nullptr;
    g_object_get(e, "target-duration", &target_duration, "playlist-length", &length, "max-files", &files,
                 "playlist-root", &root, nullptr);
    CHECK(target_duration == 1.5);
    CHECK(length == 0);
    CHECK(files == 0);
    CHECK(std::string(root) == "http://example.invalid/live");
    g_free(root);
    g_object_set(e, "target-duration", 0.1, nullptr);
    g_object_get(e, "target-duration", &target_duration, nullptr);
    CHECK(target_duration == 0.1);
    g_object_set(e, "target-duration", 3600.0, nullptr);
    g_object_get(e, "target-duration", &target_duration, nullptr);
    CHECK(target_duration == 3600.0);
  }

  SECTION("unsetting a path brings back its default") {
    g_object_set(e, "location", "/somewhere/else%d.ts", "playlist-root", "http://example.invalid", nullptr);
    g_object_set(e, "location", nullptr, "playlist-root", nullptr, nullptr);
    gchar *loc = nullptr, *root = nullptr;
    g_object_get(e, "location", &loc, "playlist-root", &root, nullptr);
    CHECK(std::string(loc) == "segment%05d.ts");
    CHECK(root == nullptr);
    g_free(loc);
    g_free(root);
  }

  SECTION("stats are readable, and zero, before the first run") {
    const Stats s = read_stats(e);
    CHECK(s.segments == 0);
    CHECK(s.last_extinf == 0.0);
    CHECK(s.mean_extinf == 0.0);
    CHECK(s.drift == 0.0);
    CHECK(s.discontinuities == 0);
    CHECK(s.dropped == 0);
    CHECK(s.malformed == 0);
    CHECK(s.keyframe_requests == 0);
  }
}

}  // namespace nagare::test::elements::hls
