// The nagare GStreamer plugin: registers every element.
#include <gst/gst.h>

#include "align/element.hpp"
#include "h264depay/element.hpp"
#include "hlssink/element.hpp"

static gboolean plugin_init(GstPlugin* plugin) {
  gboolean ok = TRUE;
  ok &= GST_ELEMENT_REGISTER(nagareh264depay, plugin);
  ok &= GST_ELEMENT_REGISTER(nagarehlssink, plugin);
  ok &= GST_ELEMENT_REGISTER(nagarealign, plugin);
  return ok;
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, nagare,
                  "nagare: WebRTC-to-HLS live streaming (H.264 depayloader, A/V aligner, HLS segmenter)", plugin_init,
                  VERSION, "LGPL", GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)
