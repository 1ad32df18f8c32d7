#include "core/base/sockaddr_text.h"

#include <gtest/gtest.h>

namespace sipsd {
namespace {

std::vector<std::string> texts(const std::vector<IpPort>& v) {
  std::vector<std::string> out;
  for (const IpPort& p : v) out.push_back(ip_port_text(p.ip, p.port));
  return out;
}

TEST(ParseIpPortList, Forms) {
  auto list = parse_ip_port_list("127.0.0.1, 10.0.0.2:5353,::1,[2001:db8::1],[::2]:54", 53);
  ASSERT_TRUE(list.ok()) << list.message();
  EXPECT_EQ(texts(*list), (std::vector<std::string>{"127.0.0.1:53", "10.0.0.2:5353", "[::1]:53",
                                                    "[2001:db8::1]:53", "[::2]:54"}));
}

TEST(ParseIpPortList, ErrorsNameTheItem) {
  EXPECT_EQ(parse_ip_port_list("", 53).message(), "empty address in list");
  EXPECT_EQ(parse_ip_port_list("1.2.3.4,", 53).message(), "empty address in list");
  EXPECT_EQ(parse_ip_port_list("1.2.3.4:", 53).message(), "'1.2.3.4:': empty port");
  EXPECT_EQ(parse_ip_port_list("1.2.3.4:0", 53).message(),
            "'1.2.3.4:0': bad port (allowed: 1..65535)");
  EXPECT_EQ(parse_ip_port_list("1.2.3.4:5x", 53).message(),
            "'1.2.3.4:5x': bad port (allowed: 1..65535)");
  EXPECT_EQ(parse_ip_port_list("dns.example:53", 53).message(),
            "'dns.example:53': not a numeric IP address");
  EXPECT_EQ(parse_ip_port_list("[::1", 53).message(), "'[::1': missing ']'");
  EXPECT_EQ(parse_ip_port_list("[::1]53", 53).message(), "'[::1]53': expected ':port' after ']'");
  EXPECT_EQ(parse_ip_port_list("[1.2.3.4]", 53).message(), "'[1.2.3.4]': not an IPv6 address");
  EXPECT_EQ(parse_ip_port_list("::g", 53).message(), "'::g': not an IPv6 address");
  EXPECT_EQ(parse_ip_port_list("1.1.1.1,2.2.2.2,3.3.3.3", 53, 2).message(),
            "too many addresses (at most 2)");
}

}  // namespace
}  // namespace sipsd
