// The route script of the default cfg (etc/sipsd.cfg), loaded with the real config loader.
//
//   BM_Script_DefaultCfg_*      Script::run_request() alone on an already parsed request,
//                               through a ScriptEnv that answers $rm $ru $si $sp $proto from the
//                               Message and records sl_send_reply() (the reply is not built).
//   BM_SipReceiver_DefaultCfg_* the worker's whole per-message path (core/sip_receiver.h): parse,
//                               run the script, build the stateless reply into a discarding sink.
//
// The default cfg's xlog is at L_INFO. The logger is held at NOTICE, as a production log_level=2
// would be, so the script skips xlog without rendering it; the *_XlogRendered variant raises it
// to INFO and renders the line into the ScriptEnv, which drops it (nothing reaches stderr).
#include <benchmark/benchmark.h>

#include <charconv>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bench/micro/sample_messages.h"
#include "core/base/log.h"
#include "core/cfg/config.h"
#include "core/cfg/script.h"
#include "core/sip/message.h"
#include "core/worker/sip_receiver.h"

#ifndef SIPSD_SOURCE_DIR
#error "SIPSD_SOURCE_DIR must name the source tree (bench/CMakeLists.txt sets it)"
#endif

namespace sipsd::bench {
namespace {

constexpr const char* kDefaultCfg = SIPSD_SOURCE_DIR "/etc/sipsd.cfg";
constexpr std::string_view kPeerIp = "198.51.100.7";
constexpr uint16_t kPeerPort = 40312;

// Sets the process log level for one benchmark and puts the previous one back.
class LogLevelScope {
 public:
  explicit LogLevelScope(LogLevel level) : saved_(logger().level()) {
    logger().set_level(static_cast<int>(level));
  }
  ~LogLevelScope() { logger().set_level(saved_); }
  LogLevelScope(const LogLevelScope&) = delete;
  LogLevelScope& operator=(const LogLevelScope&) = delete;

 private:
  int saved_;
};

// The default cfg, compiled. Each benchmark loads it once (not timed); null + SkipWithError
// when it does not load.
std::shared_ptr<const Script> load_default_script(benchmark::State& state) {
  Result<Config> cfg = load_config(kDefaultCfg);
  if (!cfg.ok()) {
    state.SkipWithError(("cannot load " + std::string(kDefaultCfg) + ": " + cfg.message()).c_str());
    return nullptr;
  }
  return cfg->script;
}

// A parsed request that owns the buffer its views point into.
struct ParsedRequest {
  explicit ParsedRequest(std::string_view wire) : buf(wire) {
    ok = sip::parse_message(buf.data(), buf.size(), &msg).status == sip::ParseStatus::kOk;
  }
  ParsedRequest(const ParsedRequest&) = delete;
  ParsedRequest& operator=(const ParsedRequest&) = delete;

  std::string buf;
  sip::Message msg;
  bool ok = false;
};

// What the script sees of a message received over TLS from kPeerIp:kPeerPort.
class BenchEnv final : public ScriptEnv {
 public:
  explicit BenchEnv(const sip::Message& msg) : msg_(msg) {}

  std::optional<std::string_view> pv(PvId id) override {
    switch (id) {
      case PvId::kRm:
        return msg_.method();
      case PvId::kRu:
        return msg_.ruri();
      case PvId::kSi:
        return kPeerIp;
      case PvId::kSp: {
        auto [end, ec] = std::to_chars(port_, port_ + sizeof port_, kPeerPort);
        return std::string_view(port_, static_cast<size_t>(end - port_));
      }
      case PvId::kProto:
        return std::string_view(proto_name(Proto::kTls));
      case PvId::kCi:
        return msg_.call_id();
      case PvId::kUa:
        return msg_.user_agent();
      default:
        return std::nullopt;  // $tls_*: the default cfg reads none
    }
  }
  int sl_send_reply(int code, std::string_view reason) override {
    last_code = code;
    ++replies;
    return 1;
  }
  void xlog(LogLevel level, std::string_view text) override {
    xlog_bytes += static_cast<int64_t>(text.size());
  }

  int last_code = 0;
  int64_t replies = 0;
  int64_t xlog_bytes = 0;

 private:
  const sip::Message& msg_;
  char port_[8] = {};
};

void BM_Script_DefaultCfg(benchmark::State& state, std::string_view wire, LogLevel log_level,
                          int expected_code) {
  LogLevelScope level(log_level);
  std::shared_ptr<const Script> script = load_default_script(state);
  if (!script) return;
  ParsedRequest req(wire);
  if (!req.ok) {
    state.SkipWithError("the request does not parse");
    return;
  }
  BenchEnv env(req.msg);
  for (auto _ : state) {
    ScriptOutcome outcome = script->run_request(env);
    benchmark::DoNotOptimize(outcome);
  }
  if (env.last_code != expected_code || env.replies != static_cast<int64_t>(state.iterations()))
    state.SkipWithError("the default route did not answer as expected");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  if (env.xlog_bytes > 0)
    state.SetLabel("xlog " + std::to_string(env.xlog_bytes / state.iterations()) + " B/msg");
}
BENCHMARK_CAPTURE(BM_Script_DefaultCfg, Options, kOptions, LogLevel::kNotice, 200);
BENCHMARK_CAPTURE(BM_Script_DefaultCfg, Options_XlogRendered, kOptions, LogLevel::kInfo, 200);
BENCHMARK_CAPTURE(BM_Script_DefaultCfg, Invite, kInvite, LogLevel::kNotice, 501);

// Counts the replies the receiver sends; writes nothing.
class CountingSink final : public ReplySink {
 public:
  void send_reply(std::string_view bytes) override {
    ++replies;
    bytes_ += static_cast<int64_t>(bytes.size());
    benchmark::DoNotOptimize(bytes.data());
  }
  int64_t replies = 0;
  int64_t bytes_ = 0;
};

// The worker's path for one framed request (the copy stands for the read into the connection's
// buffer, since the parser works in place).
void BM_SipReceiver_DefaultCfg(benchmark::State& state, std::string_view wire) {
  LogLevelScope level(LogLevel::kNotice);
  std::shared_ptr<const Script> script = load_default_script(state);
  if (!script) return;
  SipReceiver receiver(script, "sipsd (" SIPSD_VERSION ")");
  MessageOrigin origin;
  origin.proto = Proto::kTls;
  origin.src_ip = kPeerIp;
  origin.src_port = kPeerPort;
  origin.label = "tls:198.51.100.7:40312";
  CountingSink sink;
  std::vector<char> buf(wire.size());
  for (auto _ : state) {
    memcpy(buf.data(), wire.data(), wire.size());
    ReceiveVerdict v = receiver.receive(buf.data(), buf.size(), origin, sink);
    benchmark::DoNotOptimize(v);
  }
  if (sink.replies != static_cast<int64_t>(state.iterations()))
    state.SkipWithError("the receiver did not answer every request");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(wire.size()));
}
BENCHMARK_CAPTURE(BM_SipReceiver_DefaultCfg, Options, kOptions);
BENCHMARK_CAPTURE(BM_SipReceiver_DefaultCfg, Invite, kInvite);

}  // namespace
}  // namespace sipsd::bench
