#include "core/worker/myself.h"

#include <gtest/gtest.h>

#include <vector>

namespace sipsd {
namespace {

// The bound address, the advertised one (socket `as`), and alias= names are all "myself".
TEST(Myself, ListenersAdvertisedAddressesAndAliases) {
  std::vector<SocketAddr> sockets = {
      SocketAddr{Proto::kUdp, "127.0.0.1", 5060, "", 0},
      SocketAddr{Proto::kTls, "127.0.0.1", 5061, "203.0.113.7", 15061},
  };
  std::vector<AliasSpec> aliases = {
      AliasSpec{.any_proto = true, .host = "sip.example.com"},
      AliasSpec{.any_proto = false, .proto = Proto::kTls, .host = "tls.example.com", .port = 5061},
  };
  Myself me(&sockets, &aliases);
  EXPECT_EQ(me.socket_of("127.0.0.1", 5061), 1);
  EXPECT_EQ(me.socket_of("203.0.113.7", 15061), 1);
  EXPECT_EQ(me.socket_of("203.0.113.7", 0), 1);
  EXPECT_EQ(me.socket_of("203.0.113.7", 5061), -1);
  EXPECT_EQ(me.socket_of("SIP.example.com", 0), 0);
  EXPECT_EQ(me.socket_of("sip.example.com", 7000), 0);
  EXPECT_EQ(me.socket_of("tls.example.com", 5061), 1);
  EXPECT_EQ(me.socket_of("tls.example.com", 5060), -1);
  EXPECT_EQ(me.socket_of_uri("sip:bob@sip.example.com"), 0);
  EXPECT_EQ(me.socket_of("other.example.com", 0), -1);
  Myself no_aliases(&sockets);
  EXPECT_EQ(no_aliases.socket_of("sip.example.com", 0), -1);
}

}  // namespace
}  // namespace sipsd
