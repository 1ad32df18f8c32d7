// Socket addresses as text: the numeric IP (IPv6 without brackets) and the port, for log lines,
// the connection table and protobuf messages.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>

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

}  // namespace sipsd
