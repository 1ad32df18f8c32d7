#include "core/dns/resolver_config.h"

#include <gtest/gtest.h>

namespace sipsd::dns {
namespace {

TEST(ResolverConfig, FromTheCfg) {
  Result<Config> cfg = load_config_text(
      "loadmodule \"proto_tcp.so\"\nloadmodule \"tls_mgm.so\"\nloadmodule \"proto_tls.so\"\n"
      "modparam(\"proto_tls\", \"tls_port\", 5071)\n"
      "socket = tls:127.0.0.1:5061\nsocket = tcp:127.0.0.1:5060\nsocket = tls:127.0.0.1:5062\n"
      "dns_try_naptr = no\ndns_try_ipv6 = yes\ndns_retr_time = 2\ndns_retr_no = 3\n"
      "dns_servers = \"127.0.0.1:5353\"\ndns_max_pending = 7\n",
      "r.cfg");
  ASSERT_TRUE(cfg.ok()) << cfg.message();
  ResolverParams p = resolver_params(*cfg);
  EXPECT_FALSE(p.try_naptr);
  EXPECT_TRUE(p.try_ipv6);
  EXPECT_EQ(p.retr_time_s, 2);
  EXPECT_EQ(p.retr_no, 3);
  EXPECT_EQ(p.servers, "127.0.0.1:5353");
  EXPECT_EQ(p.max_pending, 7u);
  EXPECT_EQ(p.default_port, 5060);
  EXPECT_EQ(p.tls_default_port, 5071);
  EXPECT_EQ(p.supported, (std::vector<Proto>{Proto::kTls, Proto::kTcp}));
}

}  // namespace
}  // namespace sipsd::dns
