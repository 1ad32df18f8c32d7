// Self-verifying nonces: any worker can check one with the secret in shared memory, without
// state of its own. 44 base64 characters (as OpenSIPS's) for 32 bytes:
//   expires (8, unix seconds) | index (4) | algorithm (1) | qop mask (1) | random (2)
//   | HMAC-SHA256(secret, the 16 bytes before), first 16 bytes
// The index names the nonce's slot in the shared nonce index (nonce-count replay checks).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/auth/digest.h"

namespace sipsd::auth {

inline constexpr size_t kNonceLength = 44;

// The qop values a challenge offered (bits).
inline constexpr uint8_t kQopAuth = 1;
inline constexpr uint8_t kQopAuthInt = 2;

struct NonceFields {
  int64_t expires = 0;
  uint32_t index = 0;
  Algorithm algorithm = Algorithm::kMd5;
  uint8_t qop = 0;
};

std::string make_nonce(std::string_view secret, const NonceFields& f);

enum class NonceStatus : uint8_t { kOk, kMalformed, kForged };
// Decodes and authenticates a nonce; expiry is the caller's check.
NonceStatus read_nonce(std::string_view secret, std::string_view nonce, NonceFields* out);

}  // namespace sipsd::auth
