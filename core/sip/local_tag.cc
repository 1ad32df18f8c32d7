#include "core/sip/local_tag.h"

#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <initializer_list>

namespace sipsd::sip {
namespace {

constexpr char kHex[] = "0123456789abcdef";

constexpr std::array<uint16_t, 256> make_crc_table() {
  std::array<uint16_t, 256> t{};
  for (unsigned i = 0; i < 256; ++i) {
    auto c = static_cast<uint16_t>(i << 8);
    for (int k = 0; k < 8; ++k) {
      c = static_cast<uint16_t>((c & 0x8000) ? (c << 1) ^ 0x1021 : c << 1);
    }
    t[i] = c;
  }
  return t;
}

constexpr std::array<uint16_t, 256> kCrcTable = make_crc_table();

void write_hex(const unsigned char* bytes, size_t n, char* out) {
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[bytes[i] >> 4];
    out[2 * i + 1] = kHex[bytes[i] & 0xf];
  }
}

// Two FNV-1a 64-bit hashes with different offsets: only used when MD5 is unavailable.
void fnv128(std::string_view data, unsigned char out[16]) {
  uint64_t h[2] = {0xcbf29ce484222325ULL, 0x84222325cbf29ce4ULL};
  for (uint64_t& v : h) {
    for (char c : data) {
      v ^= static_cast<unsigned char>(c);
      v *= 0x100000001b3ULL;
    }
  }
  for (int k = 0; k < 2; ++k) {
    for (int i = 0; i < 8; ++i) out[8 * k + i] = static_cast<unsigned char>(h[k] >> (8 * i));
  }
}

}  // namespace

uint16_t crc16_ccitt(std::initializer_list<std::string_view> pieces) {
  uint16_t crc = 0xFFFF;
  for (std::string_view s : pieces) {
    for (char c : s) {
      crc = static_cast<uint16_t>((crc << 8) ^
                                  kCrcTable[((crc >> 8) ^ static_cast<unsigned char>(c)) & 0xff]);
    }
  }
  return crc;
}

LocalTagGenerator::LocalTagGenerator(std::string_view signature, std::string_view address,
                                     uint16_t port, char separator) {
  // The MD5 input: signature, address and port (decimal) one after the other.
  char port_text[8];
  const auto r = std::to_chars(port_text, port_text + sizeof(port_text), port);
  std::string_view parts[] = {signature, address,
                              std::string_view(port_text, static_cast<size_t>(r.ptr - port_text))};
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  bool ok = false;
  if (EVP_MD_CTX* ctx = EVP_MD_CTX_new()) {
    ok = EVP_DigestInit_ex(ctx, EVP_md5(), nullptr) == 1;
    for (std::string_view p : parts) ok = ok && EVP_DigestUpdate(ctx, p.data(), p.size()) == 1;
    ok = ok && EVP_DigestFinal_ex(ctx, digest, &len) == 1 && len == 16;
    EVP_MD_CTX_free(ctx);
  }
  if (!ok) {
    char joined[512];
    size_t n = 0;
    for (std::string_view p : parts) {
      const size_t take = std::min(p.size(), sizeof(joined) - n);
      memcpy(joined + n, p.data(), take);
      n += take;
    }
    fnv128(std::string_view(joined, n), digest);
  }
  write_hex(digest, 16, prefix_.data());
  prefix_[32] = separator;
}

std::string_view LocalTagGenerator::make(const Message& req, char (&buf)[kLength]) const {
  memcpy(buf, prefix_.data(), prefix_.size());
  uint16_t crc = 0xFFFF;
  if (const Via* v = req.top_via()) {
    char port[8];
    size_t port_len = 0;
    if (v->port != 0) {
      const auto r = std::to_chars(port, port + sizeof(port), v->port);
      port_len = static_cast<size_t>(r.ptr - port);
    }
    crc = crc16_ccitt({v->host, std::string_view(port, port_len), v->branch});
  }
  const unsigned char bytes[2] = {static_cast<unsigned char>(crc >> 8),
                                  static_cast<unsigned char>(crc & 0xff)};
  write_hex(bytes, 2, buf + prefix_.size());
  return std::string_view(buf, kLength);
}

bool LocalTagGenerator::matches(const Message& req, std::string_view tag) const {
  char buf[kLength];
  return tag.size() == kLength && tag == make(req, buf);
}

}  // namespace sipsd::sip
