// HTTP digest computations for SIP (RFC 2617, RFC 7616, RFC 8760): the algorithms OpenSIPS's
// auth module offers, HA1 and the request-digest, all as lower-case hex.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sipsd::auth {

enum class Algorithm : uint8_t {
  kMd5,
  kMd5Sess,
  kSha256,
  kSha256Sess,
  kSha512t256,
  kSha512t256Sess,
};
inline constexpr int kAlgorithmCount = 6;

// "MD5", "MD5-sess", "SHA-256", "SHA-256-sess", "SHA-512-256", "SHA-512-256-sess".
std::string_view algorithm_name(Algorithm a);
// Case-insensitive; nullopt for anything else.
std::optional<Algorithm> parse_algorithm(std::string_view name);
// The hash behind an algorithm (MD5, SHA-256 or SHA-512/256) and whether it is a -sess one.
Algorithm base_algorithm(Algorithm a);
bool is_sess(Algorithm a);
// Hex digits of the algorithm's hash: 32 for MD5, 64 for the SHA ones.
size_t hex_length(Algorithm a);

// H(data) in lower-case hex with the algorithm's hash.
std::string hash_hex(Algorithm a, std::string_view data);

// HA1 = H(username ":" realm ":" password) — the value stored in subscriber.ha1 (MD5),
// ha1_sha256 and ha1_sha512t256.
std::string compute_ha1(Algorithm a, std::string_view username, std::string_view realm,
                        std::string_view password);

struct DigestInput {
  std::string_view method;  // the request's method (A2 = method ":" digest-uri)
  std::string_view uri;     // the digest-uri as the client sent it
  std::string_view nonce;
  std::string_view cnonce;
  std::string_view nc;         // 8 hex digits, as sent
  std::string_view qop;        // "" (RFC 2069 compatibility), "auth" or "auth-int"
  std::string_view body_hash;  // auth-int only: H(entity-body) in hex
};

// The request-digest ("response") for a stored HA1 (for -sess algorithms HA1 is turned into
// H(HA1 ":" nonce ":" cnonce) first).
std::string compute_response(Algorithm a, std::string_view ha1, const DigestInput& in);

// Constant-time comparison of two hex strings (case-insensitive).
bool hex_equal(std::string_view a, std::string_view b);

}  // namespace sipsd::auth
