// The one spelling of "address:port" that tls_mgm's match keys use, so that a listener's
// address, a match_ip_address entry and a destination compare equal however they were written
// (IPv6 in any form, OpenSIPS issue #2474): "1.2.3.4:5061", "[2001:db8::1]:5061".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sipsd {

// From a numeric address (IPv4 or IPv6, no brackets) and a port. nullopt if ip is not numeric.
std::optional<std::string> ip_port_key(std::string_view ip, uint16_t port);

// From a cfg spelling: "1.2.3.4:5061", "[2001:db8:0::1]:5061", "2001:db8::1:5061" (the last
// colon separates the port when the rest is an IPv6 address). nullopt if it is not one.
std::optional<std::string> parse_ip_port_key(std::string_view text);

}  // namespace sipsd
