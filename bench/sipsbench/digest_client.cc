#include "bench/sipsbench/digest_client.h"

#include <strings.h>

#include "core/auth/digest.h"
#include "core/base/result.h"

namespace sipsd::bench {

std::string expand_index(std::string_view pattern, int i) {
  std::string out(pattern);
  std::string idx = std::to_string(i);
  for (size_t p = out.find("{i}"); p != std::string::npos; p = out.find("{i}", p + idx.size()))
    out.replace(p, 3, idx);
  return out;
}

std::string challenge_param(std::string_view v, std::string_view name) {
  size_t p = 0;
  // Bounded: every pass moves p past one parameter (or returns).
  while (p < v.size()) {
    while (p < v.size() && (v[p] == ' ' || v[p] == ',' || v[p] == '\t')) ++p;
    size_t eq = v.find('=', p);
    if (eq == std::string_view::npos) return "";
    std::string_view key = v.substr(p, eq - p);
    while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.remove_suffix(1);
    p = eq + 1;
    while (p < v.size() && v[p] == ' ') ++p;
    std::string value;
    if (p < v.size() && v[p] == '"') {
      ++p;
      while (p < v.size() && v[p] != '"') {
        if (v[p] == '\\' && p + 1 < v.size()) ++p;
        value += v[p++];
      }
      ++p;
    } else {
      size_t e = v.find(',', p);
      if (e == std::string_view::npos) e = v.size();
      value = std::string(v.substr(p, e - p));
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.pop_back();
      p = e;
    }
    if (key.size() == name.size() && strncasecmp(key.data(), name.data(), key.size()) == 0)
      return value;
  }
  return "";
}

bool parse_md5_challenge(std::string_view value, DigestChallenge* out) {
  if (value.size() <= 7 || strncasecmp(value.data(), "Digest ", 7) != 0) return false;
  std::string_view params = value.substr(7);
  std::string alg = challenge_param(params, "algorithm");
  if (!alg.empty() && strcasecmp(alg.c_str(), "MD5") != 0) return false;
  out->nonce = challenge_param(params, "nonce");
  if (out->nonce.empty()) return false;
  out->realm = challenge_param(params, "realm");
  out->opaque = challenge_param(params, "opaque");
  // qop is a quoted list ("auth,auth-int"): offered when one element is exactly auth.
  std::string qop = challenge_param(params, "qop");
  out->qop_auth = false;
  size_t start = 0;
  while (start <= qop.size()) {
    size_t comma = qop.find(',', start);
    if (comma == std::string::npos) comma = qop.size();
    std::string_view item(qop.data() + start, comma - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.size() == 4 && strncasecmp(item.data(), "auth", 4) == 0) out->qop_auth = true;
    start = comma + 1;
  }
  out->stale = strcasecmp(challenge_param(params, "stale").c_str(), "true") == 0;
  return true;
}

bool find_md5_challenge(const sip::Message& msg, DigestChallenge* out) {
  sip::HeaderType want = msg.status_code() == 407 ? sip::HeaderType::kProxyAuthenticate
                                                  : sip::HeaderType::kWwwAuthenticate;
  for (const sip::Header& h : msg.headers()) {
    if (h.type == want && parse_md5_challenge(h.value, out)) return true;
  }
  return false;
}

std::string digest_credentials(const DigestChallenge& ch, const DigestAnswer& a) {
  std::string nc = strprintf("%08x", a.nc);
  // Views of strings that outlive `in` (a `qop ? nc : ""` would view a dead temporary).
  std::string_view none;
  auth::DigestInput in{a.method,
                       a.uri,
                       ch.nonce,
                       ch.qop_auth ? a.cnonce : none,
                       ch.qop_auth ? std::string_view(nc) : none,
                       ch.qop_auth ? std::string_view("auth") : none,
                       none};
  std::string resp = auth::compute_response(auth::Algorithm::kMd5, a.ha1, in);
  std::string out = "Digest username=\"";
  out.append(a.user);
  out += "\", realm=\"" + ch.realm + "\", nonce=\"" + ch.nonce + "\", uri=\"";
  out.append(a.uri);
  out += "\", response=\"" + resp + "\", algorithm=MD5";
  if (ch.qop_auth) {
    out += ", qop=auth, nc=" + nc + ", cnonce=\"";
    out.append(a.cnonce);
    out += "\"";
  }
  if (!ch.opaque.empty()) out += ", opaque=\"" + ch.opaque + "\"";
  return out;
}

}  // namespace sipsd::bench
