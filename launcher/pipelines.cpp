#include "pipelines.hpp"

#include <gst/gst.h>
#include <unistd.h>
#include <climits>

#include <cerrno>
#include <cstring>

#include "common/gst_ptr.hpp"
#include "embedded.hpp"
#include "files.hpp"

namespace nagare::launcher {

namespace {

bool factory_exists(const char* name) {
  return GstPtr<GstElementFactory>::adopt(gst_element_factory_find(name)).get() != nullptr;
}

}  // namespace

bool has_nvidia_video() {
  return factory_exists("nvh264dec") && factory_exists("cudascale") && factory_exists("nvh264enc");
}

std::optional<LoadedPipeline> load_pipeline(const std::string& file, std::string* error) {
  std::string text;
  LoadedPipeline loaded;
  if (!file.empty()) {
    auto contents = read_file(file);
    if (!contents) {
      *error = file + ": " + std::strerror(errno);
      return std::nullopt;
    }
    text = std::move(*contents);
    loaded.name = file;
  } else {
    const bool gpu = has_nvidia_video();
    text = std::string(*embedded_file(gpu ? "pipelines/gpu.pipeline" : "pipelines/cpu.pipeline"));
    loaded.name = gpu ? "gpu (built in: nvh264dec, cudascale, nvh264enc)"
                      : "cpu (built in: avdec_h264, videoscale, x264enc; no NVIDIA decode+scale+encode here)";
  }
  std::string why;
  auto tmpl = PipelineTemplate::parse(text, &why);
  if (!tmpl) {
    *error = loaded.name + ": " + why;
    return std::nullopt;
  }
  loaded.tmpl = std::move(*tmpl);
  return loaded;
}

void find_own_plugin() {
  if (factory_exists("nagarealign")) return;
  char exe[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return;
  exe[n] = '\0';
  std::string dir(exe);
  dir = dir.substr(0, dir.rfind('/'));
  const std::string plugins = dir.substr(0, dir.rfind('/')) + "/plugins";
  gst_registry_scan_path(gst_registry_get(), plugins.c_str());
}

}  // namespace nagare::launcher
