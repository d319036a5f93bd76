// nagarehlssink: H.264 and MP3/AAC in, MPEG-TS segments and an HLS media
// playlist out, cut on the audio-frame grid with no drift.
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define NAGARE_TYPE_HLS_SINK (nagare_hls_sink_get_type())
G_DECLARE_FINAL_TYPE(NagareHlsSink, nagare_hls_sink, NAGARE, HLS_SINK, GstBin)

GST_ELEMENT_REGISTER_DECLARE(nagarehlssink);

G_END_DECLS
