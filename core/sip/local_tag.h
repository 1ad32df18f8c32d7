// To-tags of locally generated replies in OpenSIPS's layout: 37
// characters, a per-server part, a separator, a per-request part.
//
//   <32 hex: MD5 of signature, address, port>  <separator>  <4 hex: CRC-16 of the top Via>
//
// The first part is computed once, from a signature ("OpenSIPS-TM/tags" for tm,
// "OpenSIPS-stateless" for sl) and the first listening socket's address and port. The last part
// is a CRC-16/CCITT (polynomial 0x1021, initial value 0xFFFF) over the request's top Via host,
// port (decimal, "" when absent) and branch, so retransmissions of a request, its CANCEL and the
// ACK of a negative reply (same top Via branch, RFC 3261 §9.1, §17.1.1.3) all map to the same
// tag. The separator is '-' for tm and '.' for sl.
//
// Note: some descriptions put the 4 hex digits first; OpenSIPS's tags.h (init_tags,
// calc_crc_suffix) writes the MD5 part first, as here. Either way the tag is opaque to peers.
//
// make() does not allocate. If the crypto library offers no MD5 (FIPS builds), the per-server
// part falls back to a 128-bit FNV-1a hash of the same inputs.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string_view>

#include "core/sip/message.h"

namespace sipsd::sip {

inline constexpr std::string_view kTmTagSignature = "OpenSIPS-TM/tags";
inline constexpr std::string_view kSlTagSignature = "OpenSIPS-stateless";
inline constexpr char kTmTagSeparator = '-';
inline constexpr char kSlTagSeparator = '.';

class LocalTagGenerator {
 public:
  static constexpr size_t kLength = 37;

  // `address` and `port` of the first listening socket, as configured (e.g. "192.0.2.10", 5061).
  LocalTagGenerator(std::string_view signature, std::string_view address, uint16_t port,
                    char separator);

  // The tag for a request, in buf.
  std::string_view make(const Message& req, char (&buf)[kLength]) const;
  // True when `tag` is the one make(req) gives (e.g. an ACK's To-tag against our own reply,
  // OpenSIPS sl's ACK filter).
  bool matches(const Message& req, std::string_view tag) const;
  // The 33 characters every tag of this generator starts with (per-server part and separator).
  std::string_view prefix() const { return std::string_view(prefix_.data(), prefix_.size()); }

 private:
  std::array<char, 33> prefix_{};
};

// CRC-16/CCITT over the concatenation of the pieces (exposed for tests).
uint16_t crc16_ccitt(std::initializer_list<std::string_view> pieces);

}  // namespace sipsd::sip
