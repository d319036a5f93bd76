// nagarealign: clock-less A/V alignment and SRT-style latency buffering of
// RTP streams (request pads sink_%u, each with its src_%u).
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define NAGARE_TYPE_ALIGN (nagare_align_get_type())
G_DECLARE_FINAL_TYPE(NagareAlign, nagare_align, NAGARE, ALIGN, GstElement)

#define NAGARE_TYPE_ALIGN_LATENCY_MODE (nagare_align_latency_mode_get_type())
GType nagare_align_latency_mode_get_type(void);

GST_ELEMENT_REGISTER_DECLARE(nagarealign);

G_END_DECLS
