// nagare: runs channels (one in the foreground, or many behind the HTTP
// service) and publishes a test stream.
//
//   nagare run CHANNEL.json --output DIR [--pipeline FILE] [--print-pipeline] [--key-dir DIR]
//              [--archive-destination ID=DIR[,ID=DIR…]]
//   nagare serve --listen HOST:PORT --data-dir DIR [--token T] [--public-url URL]
//                [--rtp-ports LOW-HIGH] [--rtp-bind ADDR] [--pipeline FILE]
//                [--stun-server stun:HOST:PORT] [--webrtc-ports LOW-HIGH] [--key-frame-interval S]
//                [--serve-keys] [--archive-destination ID=DIR[,ID=DIR…]] [--webhook-timeout S]
//                [--webhook-queue N]
//   nagare publish-test (CHANNEL_API_URL [--token T] | VIDEO_PORT AUDIO_PORT | --whip URL --token CHANNEL_ID)
//                       [--host ADDR] [--seconds N]
#include <glib-unix.h>
#include <gst/gst.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "channel.hpp"
#include "channel_config.hpp"
#include "files.hpp"
#include "hooks.hpp"
#include "log.hpp"
#include "pipelines.hpp"
#include "publish_test.hpp"
#include "server.hpp"

namespace nagare::launcher {

namespace {

constexpr const char* kUsage =
    "usage:\n"
    "  nagare run CHANNEL.json --output DIR [--pipeline FILE] [--print-pipeline] [--key-dir DIR]\n"
    "             [--archive-destination ID=DIR[,ID=DIR...]]\n"
    "  nagare serve [--listen HOST:PORT] --data-dir DIR [--token TOKEN] [--public-url URL]\n"
    "               [--rtp-ports LOW-HIGH] [--rtp-bind ADDR] [--pipeline FILE]\n"
    "               [--stun-server stun:HOST:PORT] [--webrtc-ports LOW-HIGH] [--key-frame-interval S]\n"
    "               [--serve-keys] [--archive-destination ID=DIR[,ID=DIR...]] [--webhook-timeout S]\n"
    "               [--webhook-queue N]\n"
    "  nagare publish-test (http://HOST:PORT/api/channels/CHANNEL_ID [--token T] | VIDEO_PORT AUDIO_PORT\n"
    "                       | --whip WHIP_URL --token CHANNEL_ID) [--host ADDR] [--seconds N]\n";

// --name VALUE and --flag options after the subcommand; the rest positional.
struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;

  bool has(const std::string& name) const { return options.count(name) != 0; }
  std::string get(const std::string& name, const std::string& fallback = "") const {
    auto it = options.find(name);
    return it == options.end() ? fallback : it->second;
  }
};

bool parse_args(int argc, char** argv, const std::vector<std::string>& flags, const std::vector<std::string>& valued,
                Args& args) {
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    }
    if (a.rfind("--", 0) != 0) {
      args.positional.push_back(a);
      continue;
    }
    const std::string name = a.substr(2);
    if (std::find(flags.begin(), flags.end(), name) != flags.end()) {
      args.options[name] = "1";
    } else if (std::find(valued.begin(), valued.end(), name) != valued.end()) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "nagare: %s needs a value\n%s", a.c_str(), kUsage);
        return false;
      }
      args.options[name] = argv[++i];
    } else {
      std::fprintf(stderr, "nagare: unknown option %s\n%s", a.c_str(), kUsage);
      return false;
    }
  }
  return true;
}

std::string absolute(const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  char cwd[PATH_MAX];
  return getcwd(cwd, sizeof cwd) ? std::string(cwd) + "/" + path : path;
}

// A whole number in [low, high], or nothing.
std::optional<unsigned long> whole_number(const std::string& text, unsigned long low, unsigned long high) {
  char* end = nullptr;
  const unsigned long n = std::strtoul(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || n < low || n > high) return std::nullopt;
  return n;
}

// --archive-destination, if given, into `out`; false (said on stderr) when
// it does not parse.
bool archive_destinations(const Args& args, const char* command, std::map<std::string, std::string>& out) {
  if (!args.has("archive-destination")) return true;
  std::string error;
  auto destinations = parse_destinations(args.get("archive-destination"), &error);
  if (!destinations) {
    std::fprintf(stderr, "nagare %s: %s\n", command, error.c_str());
    return false;
  }
  out = std::move(*destinations);
  return true;
}

// Ends the main loop on SIGINT or SIGTERM, after `stop` has finished.
void on_signals(GMainLoop* loop, std::function<void(std::function<void()>)> stop) {
  struct Ctx {
    GMainLoop* loop;
    std::function<void(std::function<void()>)> stop;
    bool stopping = false;
  };
  auto* ctx = new Ctx{loop, std::move(stop)};  // lives as long as the process
  for (int sig : {SIGINT, SIGTERM}) {
    g_unix_signal_add(
        sig,
        [](gpointer data) -> gboolean {
          auto* c = static_cast<Ctx*>(data);
          if (c->stopping) return G_SOURCE_CONTINUE;
          c->stopping = true;
          c->stop([loop = c->loop] { g_main_loop_quit(loop); });
          return G_SOURCE_CONTINUE;
        },
        ctx);
  }
}

int run(int argc, char** argv) {
  Args args;
  if (!parse_args(argc, argv, {"print-pipeline"}, {"output", "pipeline", "key-dir", "archive-destination"}, args)) {
    return 2;
  }
  if (args.positional.size() != 1) {
    std::fprintf(stderr, "nagare run: give one CHANNEL.json\n%s", kUsage);
    return 2;
  }
  const std::string& file = args.positional[0];
  const auto text = read_file(file);
  if (!text) {
    std::fprintf(stderr, "nagare: %s: %s\n", file.c_str(), std::strerror(errno));
    return 1;
  }
  auto parsed = parse_channel_config(*text);
  if (!parsed.config) {
    std::fprintf(stderr, "nagare: %s: %s\n", file.c_str(), parsed.error.what().c_str());
    return 1;
  }
  ChannelConfig& config = *parsed.config;
  // serve hands out ports; a channel run on its own must say where RTP comes.
  const char* missing = config.input.video_port == 0   ? "video_port"
                        : config.input.audio_port == 0 ? "audio_port"
                                                       : nullptr;
  if (missing) {
    std::fprintf(stderr, "nagare: %s: input.rtp.%s: is required by nagare run\n", file.c_str(), missing);
    return 1;
  }
  if (!args.has("output")) {
    std::fprintf(stderr, "nagare run: --output DIR is required\n%s", kUsage);
    return 2;
  }
  const std::string output = absolute(args.get("output"));

  std::string error;
  auto pipeline = load_pipeline(args.get("pipeline"), &error);
  if (!pipeline) {
    std::fprintf(stderr, "nagare: %s\n", error.c_str());
    return 1;
  }
  if (config.encrypt && config.encrypt_key_uri.empty()) {
    std::fprintf(stderr, "nagare: %s: encrypt: nagare run serves no keys; give encrypt_key_uri\n", file.c_str());
    return 1;
  }
  const std::string key_dir = args.has("key-dir") ? absolute(args.get("key-dir")) : "";
  if (args.has("print-pipeline")) {
    auto description = expand(pipeline->tmpl, config, {output, 1, config.encrypt_key_uri, key_dir}, &error);
    if (!description) {
      std::fprintf(stderr, "nagare: %s: %s\n", pipeline->name.c_str(), error.c_str());
      return 1;
    }
    std::fputs(description->c_str(), stdout);
    return 0;
  }
  if (const int e = make_dirs(output)) {
    std::fprintf(stderr, "nagare: %s: %s\n", output.c_str(), std::strerror(e));
    return 1;
  }
  log_line("run", "pipeline: " + pipeline->name);

  HooksOptions hooks_options;
  hooks_options.work_dir = std::string(g_get_tmp_dir()) + "/nagare-run-" + std::to_string(::getpid());
  if (!archive_destinations(args, "run", hooks_options.archive_destinations)) return 2;
  ChannelHooks hooks(hooks_options);
  if (const std::string why = hooks.refusal(config); !why.empty()) {
    std::fprintf(stderr, "nagare: %s: %s\n", file.c_str(), why.c_str());
    return 1;
  }
  GMainLoop* loop = g_main_loop_new(nullptr, FALSE);
  Channel::Options channel_options{"run", config, pipeline->tmpl, output, 1};
  const std::string label = output.substr(output.find_last_of('/') + 1);
  hooks.wire(channel_options, "", label, "");
  channel_options.key_dir = key_dir;  // nagare run serves no keys: only where the user asks
  Channel channel(std::move(channel_options));
  channel.start();
  on_signals(loop, [&channel, &hooks](std::function<void()> done) {
    log_line("run", "stopping: ending the playlists");
    channel.stop([&hooks, done = std::move(done)] { hooks.finish(done); });
  });
  g_main_loop_run(loop);
  g_main_loop_unref(loop);
  return 0;
}

int serve(int argc, char** argv) {
  Args args;
  if (!parse_args(argc, argv, {"serve-keys"},
                  {"listen", "data-dir", "token", "public-url", "rtp-ports", "rtp-bind", "pipeline", "stun-server",
                   "webrtc-ports", "key-frame-interval", "archive-destination", "webhook-timeout", "webhook-queue"},
                  args)) {
    return 2;
  }
  if (!args.positional.empty()) {
    std::fprintf(stderr, "nagare serve: unexpected argument %s\n%s", args.positional[0].c_str(), kUsage);
    return 2;
  }
  ServerOptions options;
  options.listen = args.get("listen", "127.0.0.1:8080");
  if (!args.has("data-dir")) {
    std::fprintf(stderr, "nagare serve: --data-dir DIR is required\n%s", kUsage);
    return 2;
  }
  options.data_dir = absolute(args.get("data-dir"));
  options.token = args.get("token");
  options.public_url = args.get("public-url");
  options.rtp_bind = args.get("rtp-bind", "127.0.0.1");
  const std::string ports = args.get("rtp-ports", "20000-20999");
  unsigned lo = 0;
  unsigned hi = 0;
  char tail = 0;
  if (std::sscanf(ports.c_str(), "%u-%u%c", &lo, &hi, &tail) != 2 || lo == 0 || hi > 65535 || lo + 1 > hi) {
    std::fprintf(stderr, "nagare serve: --rtp-ports must be LOW-HIGH with 0 < LOW < HIGH <= 65535\n");
    return 2;
  }
  options.rtp_low = static_cast<std::uint16_t>(lo);
  options.rtp_high = static_cast<std::uint16_t>(hi);
  if (args.has("stun-server")) {
    std::string stun = args.get("stun-server");
    if (stun.rfind("stun:", 0) == 0 && stun.rfind("stun://", 0) != 0) stun = "stun://" + stun.substr(5);
    if (stun.rfind("stun://", 0) != 0 || stun.size() <= 7) {
      std::fprintf(stderr, "nagare serve: --stun-server must be stun:HOST:PORT\n");
      return 2;
    }
    options.webrtc.stun_servers.push_back(stun);
  }
  if (args.has("webrtc-ports")) {
    if (std::sscanf(args.get("webrtc-ports").c_str(), "%u-%u%c", &lo, &hi, &tail) != 2 || lo == 0 || hi > 65535 ||
        lo > hi) {
      std::fprintf(stderr, "nagare serve: --webrtc-ports must be LOW-HIGH with 0 < LOW <= HIGH <= 65535\n");
      return 2;
    }
    options.webrtc.min_port = static_cast<std::uint16_t>(lo);
    options.webrtc.max_port = static_cast<std::uint16_t>(hi);
  }
  if (args.has("key-frame-interval")) {
    const auto seconds = whole_number(args.get("key-frame-interval"), 0, 3600);
    if (!seconds) {
      std::fprintf(stderr, "nagare serve: --key-frame-interval must be seconds, 0-3600 (0: only when needed)\n");
      return 2;
    }
    options.webrtc.key_frame_interval_s = static_cast<unsigned>(*seconds);
  }

  options.serve_keys = args.has("serve-keys");
  if (!archive_destinations(args, "serve", options.archive_destinations)) return 2;
  if (args.has("webhook-timeout")) {
    const auto seconds = whole_number(args.get("webhook-timeout"), 1, 120);
    if (!seconds) {
      std::fprintf(stderr, "nagare serve: --webhook-timeout must be 1-120\n");
      return 2;
    }
    options.webhook.timeout_s = static_cast<unsigned>(*seconds);
  }
  if (args.has("webhook-queue")) {
    const auto events = whole_number(args.get("webhook-queue"), 1, 1'000'000);
    if (!events) {
      std::fprintf(stderr, "nagare serve: --webhook-queue must be 1-1000000\n");
      return 2;
    }
    options.webhook.queue_capacity = *events;
  }
  std::string error;
  auto pipeline = load_pipeline(args.get("pipeline"), &error);
  if (!pipeline) {
    std::fprintf(stderr, "nagare: %s\n", error.c_str());
    return 1;
  }
  log_line("serve", "pipeline: " + pipeline->name);
  options.pipeline = std::move(*pipeline);

  GMainLoop* loop = g_main_loop_new(nullptr, FALSE);
  auto server = Server::start(std::move(options), &error);
  if (!server) {
    std::fprintf(stderr, "nagare serve: %s\n", error.c_str());
    return 1;
  }
  on_signals(loop, [&server](std::function<void()> done) {
    log_line("serve", "stopping: ending every channel's playlists");
    server->stop(std::move(done));
  });
  g_main_loop_run(loop);
  server.reset();
  g_main_loop_unref(loop);
  return 0;
}

int publish_test(int argc, char** argv) {
  Args args;
  if (!parse_args(argc, argv, {}, {"host", "seconds", "token", "whip"}, args)) return 2;
  TestPublisher::Options o;
  o.host = args.get("host", "127.0.0.1");
  o.seconds = std::atof(args.get("seconds", "0").c_str());
  if (args.has("whip")) {
    if (!args.positional.empty() || !args.has("token")) {
      std::fprintf(stderr, "nagare publish-test: --whip URL takes --token CHANNEL_ID and nothing else\n%s", kUsage);
      return 2;
    }
    return TestPublisher::run_whip(o, args.get("whip"), args.get("token"));
  }
  if (args.positional.size() == 1) {
    // A channel's API URL: its ports (and host) come from nagare serve.
    if (auto problem =
            TestPublisher::ports_from_channel_url(args.positional[0], args.get("token"), args.has("host"), o)) {
      std::fprintf(stderr, "nagare publish-test: %s\n", problem->c_str());
      return 1;
    }
  } else if (args.positional.size() == 2) {
    o.video_port = std::atoi(args.positional[0].c_str());
    o.audio_port = std::atoi(args.positional[1].c_str());
  } else {
    std::fprintf(stderr, "nagare publish-test: give a channel's API URL, or VIDEO_PORT and AUDIO_PORT\n%s", kUsage);
    return 2;
  }
  if (o.video_port <= 0 || o.video_port > 65535 || o.audio_port <= 0 || o.audio_port > 65535) {
    std::fprintf(stderr, "nagare publish-test: ports must be 1-65535\n");
    return 2;
  }
  return TestPublisher::run(o);
}

}  // namespace

}  // namespace nagare::launcher

int main(int argc, char** argv) {
  using namespace nagare::launcher;
  gst_init(&argc, &argv);
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (std::strcmp(argv[1], "--version") == 0) {
    std::printf("nagare %s\n", VERSION);
    return 0;
  }
  find_own_plugin();
  const std::string command = argv[1];
  if (command == "run") return run(argc, argv);
  if (command == "serve") return serve(argc, argv);
  if (command == "publish-test") return publish_test(argc, argv);
  std::fprintf(stderr, "nagare: unknown command %s\n%s", command.c_str(), kUsage);
  return 2;
}
