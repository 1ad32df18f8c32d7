#include "core/worker/myself.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <string>

#include "core/base/ascii.h"
#include "core/sip/uri.h"

namespace sipsd {

namespace {

// Binary form of a numeric address; family 0 when `ip` is not one.
struct Addr {
  int family = 0;
  unsigned char bytes[16] = {};
};

Addr to_addr(std::string_view ip) {
  Addr a;
  if (ip.size() > 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
  std::string s(ip);
  if (inet_pton(AF_INET, s.c_str(), a.bytes) == 1) {
    a.family = AF_INET;
  } else if (inet_pton(AF_INET6, s.c_str(), a.bytes) == 1) {
    a.family = AF_INET6;
  }
  return a;
}

}  // namespace

namespace {

bool same_host(const Addr& want, std::string_view host, std::string_view have_text) {
  if (want.family != 0) {
    const Addr have = to_addr(have_text);
    return have.family == want.family &&
           memcmp(have.bytes, want.bytes, want.family == AF_INET ? 4 : 16) == 0;
  }
  return ascii_iequals(host, have_text);
}

}  // namespace

int Myself::socket_of(std::string_view host, uint16_t port) const {
  const Addr want = to_addr(host);
  for (size_t i = 0; i < sockets_->size(); ++i) {
    const SocketAddr& s = (*sockets_)[i];
    if ((port == 0 || s.port == port) && same_host(want, host, s.ip)) return static_cast<int>(i);
    if (!s.adv_ip.empty() && (port == 0 || s.shown_port() == port) &&
        same_host(want, host, s.adv_ip))
      return static_cast<int>(i);
  }
  if (aliases_ == nullptr) return -1;
  for (const AliasSpec& a : *aliases_) {
    if ((port != 0 && a.port != 0 && a.port != port) || !same_host(want, host, a.host)) continue;
    // The alias names this server: answer a listener of its protocol (any when it has none).
    for (size_t i = 0; i < sockets_->size(); ++i) {
      if (a.any_proto || (*sockets_)[i].proto == a.proto) return static_cast<int>(i);
    }
  }
  return -1;
}

int Myself::socket_of_uri(std::string_view text) const {
  if (ascii_istarts_with(text, "sip:") || ascii_istarts_with(text, "sips:")) {
    sip::Uri u;
    if (!sip::parse_uri(text, &u).ok()) return -1;
    return socket_of(u.host, u.port);
  }
  // host, host:port, [v6], [v6]:port
  std::string_view host = text;
  uint16_t port = 0;
  size_t colon = std::string_view::npos;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return -1;
    host = text.substr(0, close + 1);
    if (close + 1 < text.size() && text[close + 1] == ':') colon = close + 1;
  } else if (text.find(':') == text.rfind(':')) {
    colon = text.find(':');
    if (colon != std::string_view::npos) host = text.substr(0, colon);
  }
  if (colon != std::string_view::npos) {
    std::string_view p = text.substr(colon + 1);
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
    if (ec != std::errc() || end != p.data() + p.size()) return -1;
  }
  return socket_of(host, port);
}

}  // namespace sipsd
