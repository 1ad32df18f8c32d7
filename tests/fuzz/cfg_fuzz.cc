// libFuzzer target for the cfg loader: lexer, include flattening, parser, checks and the script
// compiler must turn any input into a Config or an error message — never a crash, a hang or a
// leak. Built with -DSIPSD_FUZZ=ON (clang). Suggested run, from a scratch directory (an
// include_file in the input may name a file relative to the current directory):
//   ./cfg_fuzz -max_total_time=60 corpus/
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/cfg/config.h"
#include "core/cfg/script.h"

namespace {

class NullEnv : public sipsd::ScriptEnv {
 public:
  std::optional<std::string_view> pv(sipsd::PvId id) override {
    switch (id) {
      case sipsd::PvId::kRm:
        return "INVITE";
      case sipsd::PvId::kSp:
        return "5060";
      case sipsd::PvId::kProto:
        return "tls";
      default:
        return std::nullopt;
    }
  }
  int sl_send_reply(int, std::string_view) override { return 1; }
  void xlog(sipsd::LogLevel, std::string_view) override {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  sipsd::Result<sipsd::Config> cfg = sipsd::load_config_text(text, "fuzz.cfg");
  if (cfg.ok() && cfg->script) {
    NullEnv env;
    (void)cfg->script->run_request(env);
  }
  return 0;
}
