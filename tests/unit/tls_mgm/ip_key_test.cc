#include "tls_mgm/ip_key.h"

#include <gtest/gtest.h>

namespace sipsd {
namespace {

TEST(IpKey, OneSpellingForEveryForm) {
  EXPECT_EQ(ip_port_key("127.0.0.1", 5061).value_or(""), "127.0.0.1:5061");
  EXPECT_EQ(ip_port_key("2001:0db8:0000::0001", 5061).value_or(""), "[2001:db8::1]:5061");
  EXPECT_EQ(ip_port_key("::ffff:10.0.0.1", 5061).value_or(""), "10.0.0.1:5061");
  EXPECT_FALSE(ip_port_key("example.com", 5061).has_value());
  EXPECT_FALSE(ip_port_key("", 1).has_value());
}

TEST(IpKey, ParsesCfgSpellings) {
  EXPECT_EQ(parse_ip_port_key("10.0.0.7:5061").value_or(""), "10.0.0.7:5061");
  EXPECT_EQ(parse_ip_port_key("[2001:DB8:0:0::1]:5061").value_or(""), "[2001:db8::1]:5061");
  EXPECT_EQ(parse_ip_port_key("2001:db8::1:5061").value_or(""), "[2001:db8::1]:5061");
  for (const char* bad :
       {"10.0.0.7", "10.0.0.7:", ":5061", "10.0.0.7:70000", "host:5061", "10.0.0.7:50x1", "[::1]"})
    EXPECT_FALSE(parse_ip_port_key(bad).has_value()) << bad;
}

}  // namespace
}  // namespace sipsd
