#include "core/auth/nonce.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstring>

namespace sipsd::auth {
namespace {

constexpr size_t kPayload = 16;
constexpr size_t kRaw = 32;

void put_u64(unsigned char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}
uint64_t get_u64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{p[i]} << (8 * i);
  return v;
}

bool mac(std::string_view secret, const unsigned char* payload, unsigned char* out16) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), payload, kPayload, md,
            &len) ||
      len < 16)
    return false;
  memcpy(out16, md, 16);
  return true;
}

}  // namespace

std::string make_nonce(std::string_view secret, const NonceFields& f) {
  unsigned char raw[kRaw] = {};
  put_u64(raw, static_cast<uint64_t>(f.expires));
  for (int i = 0; i < 4; ++i) raw[8 + i] = static_cast<unsigned char>(f.index >> (8 * i));
  raw[12] = static_cast<unsigned char>(f.algorithm);
  raw[13] = f.qop;
  RAND_bytes(raw + 14, 2);
  if (!mac(secret, raw, raw + kPayload)) return {};
  unsigned char b64[kNonceLength + 1];
  int n = EVP_EncodeBlock(b64, raw, kRaw);
  return std::string(reinterpret_cast<char*>(b64), static_cast<size_t>(n));
}

NonceStatus read_nonce(std::string_view secret, std::string_view nonce, NonceFields* out) {
  if (nonce.size() != kNonceLength) return NonceStatus::kMalformed;
  for (char c : nonce) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '+' || c == '/' || c == '=';
    if (!ok) return NonceStatus::kMalformed;
  }
  unsigned char raw[kNonceLength];
  int n = EVP_DecodeBlock(raw, reinterpret_cast<const unsigned char*>(nonce.data()),
                          static_cast<int>(nonce.size()));
  if (n < static_cast<int>(kRaw)) return NonceStatus::kMalformed;
  unsigned char expect[16];
  if (!mac(secret, raw, expect) || CRYPTO_memcmp(expect, raw + kPayload, 16) != 0)
    return NonceStatus::kForged;
  if (raw[12] >= kAlgorithmCount) return NonceStatus::kForged;
  out->expires = static_cast<int64_t>(get_u64(raw));
  out->index = 0;
  for (int i = 0; i < 4; ++i) out->index |= uint32_t{raw[8 + i]} << (8 * i);
  out->algorithm = static_cast<Algorithm>(raw[12]);
  out->qop = raw[13];
  return NonceStatus::kOk;
}

}  // namespace sipsd::auth
