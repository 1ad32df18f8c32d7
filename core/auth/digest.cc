#include "core/auth/digest.h"

#include <openssl/evp.h>

#include <memory>

#include "core/base/ascii.h"

namespace sipsd::auth {
namespace {

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

const EVP_MD* evp_of(Algorithm a) {
  switch (base_algorithm(a)) {
    case Algorithm::kSha256:
      return EVP_sha256();
    case Algorithm::kSha512t256:
      return EVP_sha512_256();
    default:
      return EVP_md5();
  }
}

void to_hex(const unsigned char* p, size_t n, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->resize(2 * n);
  for (size_t i = 0; i < n; ++i) {
    (*out)[2 * i] = kHex[p[i] >> 4];
    (*out)[2 * i + 1] = kHex[p[i] & 15];
  }
}

std::string hash_parts(Algorithm a, std::initializer_list<std::string_view> parts) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  bool ok = ctx && EVP_DigestInit_ex(ctx.get(), evp_of(a), nullptr) == 1;
  bool first = true;
  for (std::string_view p : parts) {
    if (!first) ok = ok && EVP_DigestUpdate(ctx.get(), ":", 1) == 1;
    first = false;
    ok = ok && EVP_DigestUpdate(ctx.get(), p.data(), p.size()) == 1;
  }
  ok = ok && EVP_DigestFinal_ex(ctx.get(), md, &len) == 1;
  std::string out;
  if (ok) to_hex(md, len, &out);
  return out;
}

}  // namespace

std::string_view algorithm_name(Algorithm a) {
  switch (a) {
    case Algorithm::kMd5:
      return "MD5";
    case Algorithm::kMd5Sess:
      return "MD5-sess";
    case Algorithm::kSha256:
      return "SHA-256";
    case Algorithm::kSha256Sess:
      return "SHA-256-sess";
    case Algorithm::kSha512t256:
      return "SHA-512-256";
    case Algorithm::kSha512t256Sess:
      return "SHA-512-256-sess";
  }
  return "MD5";
}

std::optional<Algorithm> parse_algorithm(std::string_view name) {
  for (int i = 0; i < kAlgorithmCount; ++i) {
    auto a = static_cast<Algorithm>(i);
    if (ascii_iequals(name, algorithm_name(a))) return a;
  }
  return std::nullopt;
}

Algorithm base_algorithm(Algorithm a) {
  switch (a) {
    case Algorithm::kMd5Sess:
      return Algorithm::kMd5;
    case Algorithm::kSha256Sess:
      return Algorithm::kSha256;
    case Algorithm::kSha512t256Sess:
      return Algorithm::kSha512t256;
    default:
      return a;
  }
}

bool is_sess(Algorithm a) {
  return base_algorithm(a) != a;
}

size_t hex_length(Algorithm a) {
  return base_algorithm(a) == Algorithm::kMd5 ? 32 : 64;
}

std::string hash_hex(Algorithm a, std::string_view data) {
  return hash_parts(a, {data});
}

std::string compute_ha1(Algorithm a, std::string_view username, std::string_view realm,
                        std::string_view password) {
  return hash_parts(a, {username, realm, password});
}

std::string compute_response(Algorithm a, std::string_view ha1, const DigestInput& in) {
  std::string sess_ha1;
  if (is_sess(a)) {
    sess_ha1 = hash_parts(a, {ha1, in.nonce, in.cnonce});
    ha1 = sess_ha1;
  }
  std::string ha2 = in.qop == "auth-int" ? hash_parts(a, {in.method, in.uri, in.body_hash})
                                         : hash_parts(a, {in.method, in.uri});
  if (in.qop.empty()) return hash_parts(a, {ha1, in.nonce, ha2});
  return hash_parts(a, {ha1, in.nonce, in.nc, in.cnonce, in.qop, ha2});
}

bool hex_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned>(ascii_lower(a[i]) ^ ascii_lower(b[i]));
  }
  return diff == 0;
}

}  // namespace sipsd::auth
