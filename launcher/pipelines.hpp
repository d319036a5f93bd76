// Which pipeline description a channel runs: the user's (--pipeline FILE),
// or the built-in GPU one when this machine's GStreamer has NVIDIA decode,
// scale and encode, and the CPU one otherwise.
#pragma once

#include <optional>
#include <string>

#include "pipeline_template.hpp"

namespace nagare::launcher {

struct LoadedPipeline {
  std::string name;  // "cpu (built in)", "gpu (built in)" or the file's path
  PipelineTemplate tmpl;
};

// `file` empty: choose a built-in one. nullopt with *error when the file
// cannot be read or parsed.
std::optional<LoadedPipeline> load_pipeline(const std::string& file, std::string* error);

// True when nvh264dec, cudascale and nvh264enc all exist.
bool has_nvidia_video();

// Makes nagare's own elements loadable when the binary runs from the build
// tree (build/launcher/nagare next to build/plugins/) and GST_PLUGIN_PATH
// does not already name them.
void find_own_plugin();

}  // namespace nagare::launcher
