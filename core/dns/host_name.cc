#include "core/dns/host_name.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "core/base/ascii.h"
#include "core/base/printable.h"

namespace sipsd::dns {

namespace {

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

}  // namespace

std::optional<std::string> ip_literal(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    if (host.find(':') == std::string_view::npos) return std::nullopt;  // "[1.2.3.4]"
  }
  if (host.empty() || host.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  const std::string text(host);
  unsigned char buf[sizeof(struct in6_addr)];
  if (inet_pton(AF_INET, text.c_str(), buf) == 1) return text;
  if (inet_pton(AF_INET6, text.c_str(), buf) == 1) {
    char out[INET6_ADDRSTRLEN];
    if (inet_ntop(AF_INET6, buf, out, sizeof out) != nullptr) return std::string(out);
  }
  return std::nullopt;
}

Result<std::string> dns_name(std::string_view host) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (host.empty()) return make_error("empty host name");
  if (host.size() > kMaxNameLength)
    return make_error(strprintf("host name longer than %zu characters (%zu): '%s'", kMaxNameLength,
                                host.size(), printable_name(host).c_str()));
  size_t label_start = 0;
  for (size_t i = 0; i <= host.size(); ++i) {
    if (i == host.size() || host[i] == '.') {
      size_t len = i - label_start;
      if (len == 0)
        return make_error(strprintf("empty label in host name '%s'", printable_name(host).c_str()));
      if (len > kMaxLabelLength)
        return make_error(strprintf("label longer than %zu characters in host name '%s'",
                                    kMaxLabelLength, printable_name(host).c_str()));
      label_start = i + 1;
    } else if (!name_char(host[i])) {
      return make_error(strprintf("character '%s' not allowed in host name '%s'",
                                  printable_name(host.substr(i, 1)).c_str(),
                                  printable_name(host).c_str()));
    }
  }
  return ascii_to_lower(host);
}

std::string printable_name(std::string_view s) {
  return printable(s, 64);
}

}  // namespace sipsd::dns
