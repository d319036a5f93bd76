// Reads an element's read-only `stats` GstStructure in a test: checks its
// name and field count, then hands out fields by name, failing the test on
// a field that is missing or of the wrong type.
#pragma once

#include <gst/gst.h>

#include <catch2/catch.hpp>

#include <cstdint>

#include "common/gst_ptr.hpp"

namespace nagare::test::elements {

class StatsReader {
 public:
  StatsReader(GstElement* element, const char* name, gint fields) {
    GstStructure* raw = nullptr;
    g_object_get(element, "stats", &raw, nullptr);
    REQUIRE(raw);
    stats_ = GstPtr<GstStructure>::adopt(raw);
    CHECK(gst_structure_has_name(raw, name));
    CHECK(gst_structure_n_fields(raw) == fields);
  }

  void get(const char* field, std::uint64_t& out) const {
    guint64 value = 0;
    INFO("stats field " << field);
    REQUIRE(gst_structure_get_uint64(stats_.get(), field, &value));
    out = value;
  }
  void get(const char* field, double& out) const {
    INFO("stats field " << field);
    REQUIRE(gst_structure_get_double(stats_.get(), field, &out));
  }

 private:
  GstPtr<GstStructure> stats_;
};

}  // namespace nagare::test::elements
