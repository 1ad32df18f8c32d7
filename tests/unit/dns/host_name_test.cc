#include "core/dns/host_name.h"

#include <gtest/gtest.h>

namespace sipsd::dns {
namespace {

TEST(HostName, IpLiterals) {
  EXPECT_EQ(ip_literal("10.1.2.3"), "10.1.2.3");
  EXPECT_EQ(ip_literal("[2001:DB8:0::1]"), "2001:db8::1");
  EXPECT_EQ(ip_literal("::1"), "::1");
  EXPECT_EQ(ip_literal("1.2.3"), std::nullopt);
  EXPECT_EQ(ip_literal("[1.2.3.4]"), std::nullopt);
  EXPECT_EQ(ip_literal("b.example"), std::nullopt);
  EXPECT_EQ(ip_literal(""), std::nullopt);
  EXPECT_EQ(ip_literal(std::string(100, ':')), std::nullopt);
}

TEST(HostName, NamesAreLowerCasedAndChecked) {
  EXPECT_EQ(*dns_name("Proxy.B.Example."), "proxy.b.example");
  EXPECT_EQ(*dns_name("_sip._udp.b-1.example"), "_sip._udp.b-1.example");
  EXPECT_EQ(dns_name(".").message(), "empty host name");
  EXPECT_EQ(dns_name(".example").message(), "empty label in host name '.example'");
  std::string label63(63, 'a');
  EXPECT_TRUE(dns_name(label63 + ".example").ok());
  EXPECT_FALSE(dns_name(label63 + "a.example").ok());
  std::string name253;
  while (name253.size() < 253) name253 += "a.";
  name253.resize(253);  // ends in 'a'
  EXPECT_TRUE(dns_name(name253).ok());
  EXPECT_TRUE(dns_name(name253 + ".").ok());
  EXPECT_EQ(
      dns_name(name253 + "b").message().rfind("host name longer than 253 characters (254)", 0), 0u);
  EXPECT_EQ(dns_name("a/b").message(), "character '/' not allowed in host name 'a/b'");
}

TEST(HostName, PrintableNameIsShortAndSafe) {
  EXPECT_EQ(printable_name("a\nb"), "a\\nb");
  EXPECT_EQ(printable_name(std::string(100, 'x')), std::string(64, 'x') + "...[+36 bytes]");
}

}  // namespace
}  // namespace sipsd::dns
