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
  sipsd::ScriptValue pv_get(const sipsd::PvRef& ref) override {
    switch (ref.id) {
      case sipsd::PvId::kRm:
        return sipsd::ScriptValue::of(std::string_view("INVITE"));
      case sipsd::PvId::kSp:
        return sipsd::ScriptValue::of(int64_t{5060});
      case sipsd::PvId::kProto:
        return sipsd::ScriptValue::of(std::string_view("tls"));
      case sipsd::PvId::kRu:
        return sipsd::ScriptValue::of(std::string_view("sip:alice@example.com:5061;lr"));
      default:
        return sipsd::ScriptValue::null();
    }
  }
  bool pv_set(const sipsd::PvRef&, const sipsd::ScriptValue&) override { return true; }
  int call(sipsd::FuncId, std::span<const sipsd::ScriptValue> args) override {
    return args.empty() ? 1 : -1;
  }
  void xlog(sipsd::LogLevel, std::string_view) override {}
  sipsd::AvpStore& avps() override { return avps_; }

 private:
  sipsd::AvpStore avps_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  sipsd::LoadOptions options;
  options.allow_unimplemented = true;  // every function and variable the compiler knows
  sipsd::Result<sipsd::Config> cfg = sipsd::load_config_text(text, "fuzz.cfg", options);
  if (cfg.ok() && cfg->script) {
    NullEnv env;
    sipsd::ScriptVars vars;
    const sipsd::Script& s = *cfg->script;
    for (size_t t = 0; t < sipsd::kRouteTypeCount; ++t) {
      const auto type = static_cast<sipsd::RouteType>(t);
      for (size_t i = 0; i < s.route_count(type); ++i) {
        (void)s.run(sipsd::RouteRef{type, static_cast<int>(i)}, env, vars);
      }
    }
  }
  return 0;
}
