// nagareh264depay: RTP -> H.264 byte-stream access units (RFC 6184).
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define NAGARE_TYPE_H264_DEPAY (nagare_h264_depay_get_type())
G_DECLARE_FINAL_TYPE(NagareH264Depay, nagare_h264_depay, NAGARE, H264_DEPAY, GstElement)

GST_ELEMENT_REGISTER_DECLARE(nagareh264depay);

G_END_DECLS
