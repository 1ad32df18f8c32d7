// Listening sockets: resolved and bound by the supervisor at start (DNS happens here, never in a
// worker), non-blocking, close-on-exec. A TCP/TLS listener is one listen()ing socket the
// supervisor accepts on. A UDP listener is a group of SO_REUSEPORT sockets on the same address,
// one per UDP worker: the kernel spreads datagrams over them by the sender's address, so every
// datagram of one peer (its retransmissions, its CANCEL) reaches the same worker.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/base/unique_fd.h"
#include "core/cfg/config.h"

namespace sipsd {

struct BoundListener {
  ListenSpec spec;
  UniqueFd fd;                    // TCP/TLS: the listening socket (UDP: unused)
  std::vector<UniqueFd> udp_fds;  // UDP: one socket per UDP worker
  std::string ip;                 // the bound address, numeric
  uint16_t port = 0;              // the bound port (the real one when the cfg asked for port 0)
  bool wildcard = false;
  std::string name() const;  // "tls:127.0.0.1:5061"
};

// `udp_sockets`: how many sockets a UDP listener gets (the number of UDP workers).
Result<BoundListener> bind_listener(const ListenSpec& spec, int backlog, int udp_sockets = 1);

}  // namespace sipsd
