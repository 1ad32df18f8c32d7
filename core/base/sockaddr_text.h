// Socket addresses as text: the numeric IP (IPv6 without brackets) and the port, for log lines,
// the connection table and protobuf messages.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"

namespace sipsd {

struct IpPort {
  std::string ip;  // numeric; IPv6 without brackets; "" for a family other than IPv4/IPv6
  uint16_t port = 0;
};

IpPort sockaddr_to_ip_port(const struct sockaddr_storage& ss);

// The local address of a connected or bound socket; ip "" when getsockname() fails.
IpPort local_ip_port(int fd);

// "1.2.3.4:5060", or "[::1]:5060" for IPv6.
std::string ip_port_text(const std::string& ip, uint16_t port);

// A comma-separated list of numeric addresses, each "1.2.3.4", "1.2.3.4:53", "::1",
// "[::1]" or "[::1]:53" (blanks around items are allowed); items without a port get
// `default_port`. Host names, empty items, port 0 and more than `max_items` items are errors
// naming the item. (dns_servers in the cfg; the DNS resolver.)
Result<std::vector<IpPort>> parse_ip_port_list(std::string_view text, uint16_t default_port,
                                               size_t max_items = 16);

}  // namespace sipsd
