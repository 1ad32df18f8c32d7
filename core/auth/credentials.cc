#include "core/auth/credentials.h"

#include "core/base/ascii.h"

namespace sipsd::auth {
namespace {

constexpr size_t kMaxValue = 1024;
constexpr int kMaxParams = 32;

bool is_ws(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void skip_ws(std::string_view s, size_t* i) {
  while (*i < s.size() && is_ws(s[*i])) ++*i;
}

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

}  // namespace

Status parse_credentials(std::string_view v, Credentials* out) {
  *out = Credentials{};
  out->storage.reserve(v.size());  // never reallocates below: views into it stay valid
  size_t i = 0;
  skip_ws(v, &i);
  if (!ascii_istarts_with(v.substr(i), "digest") || i + 6 >= v.size() || !is_ws(v[i + 6])) {
    return make_error("not Digest credentials");
  }
  i += 6;
  int count = 0;
  for (;;) {
    skip_ws(v, &i);
    if (i >= v.size()) break;
    if (v[i] == ',') {
      ++i;
      continue;
    }
    if (++count > kMaxParams) return make_error("too many parameters");
    size_t name_start = i;
    while (i < v.size() && v[i] != '=' && v[i] != ',' && !is_ws(v[i])) ++i;
    std::string_view name = v.substr(name_start, i - name_start);
    skip_ws(v, &i);
    if (i >= v.size() || v[i] != '=') {
      return make_error("parameter '" + std::string(name.substr(0, 64)) + "' has no value");
    }
    ++i;
    skip_ws(v, &i);
    std::string_view value;
    if (i < v.size() && v[i] == '"') {
      ++i;
      size_t start = i;
      bool escaped = false;
      while (i < v.size() && v[i] != '"') {
        if (v[i] == '\\') {
          escaped = true;
          ++i;
        }
        ++i;
      }
      if (i >= v.size()) return make_error("unterminated quoted string");
      value = v.substr(start, i - start);
      ++i;
      if (escaped) {
        size_t at = out->storage.size();
        for (size_t k = 0; k < value.size(); ++k) {
          if (value[k] == '\\' && k + 1 < value.size()) ++k;
          out->storage.push_back(value[k]);
        }
        value = std::string_view(out->storage).substr(at);
      }
    } else {
      size_t start = i;
      while (i < v.size() && v[i] != ',' && !is_ws(v[i])) ++i;
      value = v.substr(start, i - start);
    }
    if (value.size() > kMaxValue) return make_error("a parameter value is too long");
    if (ascii_iequals(name, "username"))
      out->username = value;
    else if (ascii_iequals(name, "realm"))
      out->realm = value;
    else if (ascii_iequals(name, "nonce"))
      out->nonce = value;
    else if (ascii_iequals(name, "uri"))
      out->uri = value;
    else if (ascii_iequals(name, "response"))
      out->response = value;
    else if (ascii_iequals(name, "algorithm"))
      out->algorithm = value;
    else if (ascii_iequals(name, "cnonce"))
      out->cnonce = value;
    else if (ascii_iequals(name, "opaque"))
      out->opaque = value;
    else if (ascii_iequals(name, "qop"))
      out->qop = value;
    else if (ascii_iequals(name, "nc"))
      out->nc = value;
    else if (ascii_iequals(name, "userhash"))
      out->userhash = ascii_iequals(value, "true");
  }
  const char* missing = out->username.empty()   ? "username"
                        : out->nonce.empty()    ? "nonce"
                        : out->uri.empty()      ? "uri"
                        : out->response.empty() ? "response"
                                                : nullptr;
  if (missing) return make_error(std::string("no ") + missing + " parameter");
  if (!out->qop.empty()) {
    if (out->cnonce.empty()) return make_error("qop without cnonce");
    if (out->nc.size() != 8) return make_error("nc must be 8 hex digits");
    for (char c : out->nc)
      if (!is_hex(c)) return make_error("nc must be 8 hex digits");
  }
  return Status::Ok();
}

}  // namespace sipsd::auth
