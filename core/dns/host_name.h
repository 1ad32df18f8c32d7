// Host names as DNS can ask them, and IP literals, checked before anything is sent: a name
// from a SIP URI or from a DNS record is untrusted input.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/base/result.h"

namespace sipsd::dns {

inline constexpr size_t kMaxNameLength = 253;  // text form, without the trailing dot (RFC 1035)
inline constexpr size_t kMaxLabelLength = 63;

// The numeric text of an IPv4 or IPv6 literal ("[::1]" and "::1" both give "::1"); nullopt
// when `host` is not one.
std::optional<std::string> ip_literal(std::string_view host);

// `host` as a DNS name: lower case, one trailing dot removed. Errors say what is wrong: empty,
// longer than 253 characters, an empty label or one longer than 63, a character other than
// letters, digits, '-' and '_'.
Result<std::string> dns_name(std::string_view host);

// printable(s, 64) (core/base/printable.h), for messages that quote a name from the network.
std::string printable_name(std::string_view s);

}  // namespace sipsd::dns
