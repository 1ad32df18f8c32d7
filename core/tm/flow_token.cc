#include "core/tm/flow_token.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <optional>

namespace sipsd::tm {

namespace {

constexpr uint8_t kVersion = 1;
constexpr size_t kMacSize = 10;
constexpr size_t kMaxPayload = 3 + 16 + 2 + 2 + 4;

std::array<unsigned char, kMacSize> mac_of(std::string_view key, const unsigned char* data,
                                           size_t len) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  std::array<unsigned char, kMacSize> out{};
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data, len, md, &md_len) !=
          nullptr &&
      md_len >= kMacSize)
    std::copy(md, md + kMacSize, out.begin());
  return out;
}

void put16(unsigned char* p, uint32_t v) {
  p[0] = static_cast<unsigned char>(v >> 8);
  p[1] = static_cast<unsigned char>(v);
}

void put32(unsigned char* p, uint32_t v) {
  put16(p, v >> 16);
  put16(p + 2, v & 0xffff);
}

uint32_t get16(const unsigned char* p) {
  return static_cast<uint32_t>(p[0]) << 8 | p[1];
}
uint32_t get32(const unsigned char* p) {
  return get16(p) << 16 | get16(p + 2);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

std::string encode_flow_token(std::string_view key, const Flow& flow) {
  unsigned char raw[kMaxPayload + kMacSize];
  size_t n = 0;
  raw[n++] = kVersion;
  raw[n++] = static_cast<unsigned char>(flow.proto);
  if (inet_pton(AF_INET, flow.ip.c_str(), raw + n + 1) == 1) {
    raw[n] = 4;
    n += 1 + 4;
  } else if (inet_pton(AF_INET6, flow.ip.c_str(), raw + n + 1) == 1) {
    raw[n] = 6;
    n += 1 + 16;
  } else {
    return {};
  }
  put16(raw + n, flow.port);
  n += 2;
  put16(raw + n, static_cast<uint32_t>(flow.listener < 0 ? 0xffff : flow.listener));
  n += 2;
  put32(raw + n, flow.conn_id);
  n += 4;
  const auto mac = mac_of(key, raw, n);
  std::copy(mac.begin(), mac.end(), raw + n);
  n += kMacSize;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(kFlowTokenPrefix);
  for (size_t i = 0; i < n; ++i) {
    out += kHex[raw[i] >> 4];
    out += kHex[raw[i] & 15];
  }
  return out;
}

FlowTokenStatus decode_flow_token(std::string_view key, std::string_view user, Flow* out) {
  if (!user.starts_with(kFlowTokenPrefix)) return FlowTokenStatus::kNotAToken;
  std::string_view hex = user.substr(kFlowTokenPrefix.size());
  unsigned char raw[kMaxPayload + kMacSize];
  if (hex.size() % 2 != 0 || hex.size() / 2 > sizeof raw) return FlowTokenStatus::kForged;
  const size_t n = hex.size() / 2;
  for (size_t i = 0; i < n; ++i) {
    int hi = hex_value(hex[2 * i]);
    int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return FlowTokenStatus::kForged;
    raw[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  if (n < 3 || raw[0] != kVersion) return FlowTokenStatus::kForged;
  const size_t ip_len = raw[2] == 4 ? 4 : raw[2] == 6 ? 16 : 0;
  const size_t payload = 3 + ip_len + 2 + 2 + 4;
  if (ip_len == 0 || n != payload + kMacSize) return FlowTokenStatus::kForged;
  const auto mac = mac_of(key, raw, payload);
  if (CRYPTO_memcmp(mac.data(), raw + payload, kMacSize) != 0) return FlowTokenStatus::kForged;
  std::optional<Proto> proto;
  switch (static_cast<Proto>(raw[1])) {
    case Proto::kUdp:
    case Proto::kTcp:
    case Proto::kTls:
      proto = static_cast<Proto>(raw[1]);
      break;
    default:
      break;
  }
  if (!proto) return FlowTokenStatus::kForged;
  char ip[INET6_ADDRSTRLEN];
  if (inet_ntop(ip_len == 4 ? AF_INET : AF_INET6, raw + 3, ip, sizeof ip) == nullptr)
    return FlowTokenStatus::kForged;
  const unsigned char* p = raw + 3 + ip_len;
  out->proto = *proto;
  out->ip = ip;
  out->port = static_cast<uint16_t>(get16(p));
  const uint32_t listener = get16(p + 2);
  out->listener = listener == 0xffff ? -1 : static_cast<int>(listener);
  out->conn_id = get32(p + 4);
  return FlowTokenStatus::kOk;
}

}  // namespace sipsd::tm
