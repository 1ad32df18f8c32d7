// Running the route script makes no heap allocation per message once its per-process buffers
// have grown: neither the default cfg nor a typical proxy script.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "bench/micro/sample_proxy_cfg.h"
#include "core/cfg/config.h"
#include "core/cfg/script.h"
#include "tests/alloc/allocation_counter.h"

namespace sipsd {
namespace {

// The routes of etc/sipsd.cfg (the bench loads the file itself; here the routes are what
// matters), with xlog rendered: the logger level is raised so the format is built.
constexpr const char* kDefaultRoutes = R"(
loadmodule "proto_tcp.so"
loadmodule "sl.so"
loadmodule "sipmsgops.so"
socket = tcp:127.0.0.1:0
route {
    xlog("L_INFO", "$rm $ru from $si:$sp over $proto\n");
    if (is_method("OPTIONS")) { sl_send_reply(200, "OK"); exit; }
    if (is_method("ACK")) { exit; }
    sl_send_reply(501, "Not Implemented");
}
)";

// Ten runs to let the scratch buffers grow, then the count over a hundred.
long allocations_per_100_runs(const Script& script, bench::ProxyEnv& env, ScriptVars& vars) {
  for (int i = 0; i < 10; ++i) {
    env.reset();
    script.run(script.main_route(), env, vars);
  }
  std::optional<test::AllocationCounter> counter(std::in_place);
  for (int i = 0; i < 100; ++i) {
    env.reset();
    script.run(script.main_route(), env, vars);
  }
  return counter->count();
}

TEST(ScriptAlloc, DefaultCfgRunDoesNotAllocate) {
  const int saved = logger().level();
  logger().set_level(static_cast<int>(LogLevel::kDebug));
  Result<Config> cfg = load_config_text(kDefaultRoutes, "default.cfg");
  ASSERT_TRUE(cfg.ok()) << cfg.message();
  bench::ProxyEnv env;  // answers $rm $ru $si $sp; counts nothing here
  ScriptVars vars;
  for (std::string_view method : {"OPTIONS", "INVITE", "ACK"}) {
    env.method = method;
    EXPECT_EQ(allocations_per_100_runs(*cfg->script, env, vars), 0) << method;
  }
  logger().set_level(saved);
}

TEST(ScriptAlloc, ProxyCfgRunDoesNotAllocate) {
  Result<Config> cfg = load_config_text(bench::kProxyCfg, "proxy.cfg");
  ASSERT_TRUE(cfg.ok()) << cfg.message();
  bench::ProxyEnv env;
  ScriptVars vars;
  EXPECT_EQ(allocations_per_100_runs(*cfg->script, env, vars), 0);
  EXPECT_EQ(env.relays, 110);
  EXPECT_EQ(env.replies, 0);

  // The counter does see the script's allocations (the check can fail): a fresh ScriptVars
  // grows its buffers.
  std::optional<test::AllocationCounter> counter(std::in_place);
  ScriptVars fresh;
  env.reset();
  cfg->script->run(cfg->script->main_route(), env, fresh);
  EXPECT_GT(counter->count(), 0);
}

}  // namespace
}  // namespace sipsd
