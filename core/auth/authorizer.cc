#include "core/auth/authorizer.h"

#include "core/auth/credentials.h"
#include "core/auth/digest.h"
#include "core/auth/nonce.h"
#include "core/base/ascii.h"
#include "core/shm/stats.h"
#include "core/sip/uri.h"

namespace sipsd::auth {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

uint32_t parse_nc(std::string_view nc) {
  uint32_t v = 0;
  for (char c : nc) {
    v <<= 4;
    if (c >= '0' && c <= '9')
      v |= static_cast<uint32_t>(c - '0');
    else
      v |= static_cast<uint32_t>(ascii_lower(c) - 'a' + 10);
  }
  return v;
}

// "auth", "auth-int", "auth,auth-int", "auth-int,auth", "0", "1" -> mask; -1 if invalid.
int qop_mask(std::string_view qop) {
  qop = trim(qop);
  if (qop.empty() || qop == "0") return 0;
  if (qop == "1") return kQopAuth;
  int mask = 0;
  while (!qop.empty()) {
    size_t comma = qop.find(',');
    std::string_view q = trim(qop.substr(0, comma));
    qop = comma == std::string_view::npos ? std::string_view() : qop.substr(comma + 1);
    if (ascii_iequals(q, "auth"))
      mask |= kQopAuth;
    else if (ascii_iequals(q, "auth-int"))
      mask |= kQopAuthInt;
    else if (!q.empty())
      return -1;
  }
  return mask;
}

}  // namespace

std::string Authorizer::default_realm(const sip::Message& msg, bool proxy) const {
  const sip::NameAddr* na =
      !proxy && msg.method_id() == sip::Method::kRegister ? msg.to() : msg.from();
  if (na == nullptr) return {};
  sip::Uri u;
  if (!sip::parse_uri(na->uri, &u).ok()) return {};
  std::string_view host = u.host;
  if (!p_->realm_prefix.empty() && host.size() > p_->realm_prefix.size() &&
      ascii_istarts_with(host, p_->realm_prefix))
    host.remove_prefix(p_->realm_prefix.size());
  return std::string(host);
}

AuthOutcome Authorizer::authorize(const sip::Message& msg, std::string_view realm_arg,
                                  std::string_view table, bool proxy, int64_t now) {
  AuthOutcome out;
  const sip::Method m = msg.method_id();
  if (m == sip::Method::kAck || m == sip::Method::kCancel) {
    out.rc = kAuthorized;
    return out;
  }
  std::string realm = realm_arg.empty() ? default_realm(msg, proxy) : std::string(realm_arg);
  if (realm.empty()) {
    out.rc = kBadCredentials;
    out.why = "no realm";
    stat_add(Stat::kAuthMalformed);
    return out;
  }
  if (table != "subscriber") {
    out.rc = kAuthError;
    out.why = "only the subscriber table is cached";
    return out;
  }
  // The credentials for this realm.
  const sip::HeaderType want =
      proxy ? sip::HeaderType::kProxyAuthorization : sip::HeaderType::kAuthorization;
  const auto& hs = msg.headers();
  Credentials cred;
  int found = -1;
  for (size_t i = 0; i < hs.size(); ++i) {
    if (hs[i].type != want) continue;
    Status st = parse_credentials(hs[i].value, &cred);
    if (!st.ok()) {
      out.rc = kBadCredentials;
      out.why = "malformed credentials: " + st.message();
      stat_add(Stat::kAuthMalformed);
      return out;
    }
    if (cred.realm == realm) {
      found = static_cast<int>(i);
      break;
    }
  }
  if (found < 0) {
    out.rc = kNoCredentials;
    out.why = "no credentials for realm " + realm;
    return out;
  }
  std::optional<Algorithm> alg = cred.algorithm.empty() ? std::optional<Algorithm>(Algorithm::kMd5)
                                                        : parse_algorithm(cred.algorithm);
  if (!alg) {
    out.rc = kBadCredentials;
    out.why = "unknown algorithm";
    stat_add(Stat::kAuthMalformed);
    return out;
  }
  int client_qop = 0;
  if (!cred.qop.empty()) {
    client_qop = qop_mask(cred.qop);
    if (client_qop != kQopAuth && client_qop != kQopAuthInt) {
      out.rc = kBadCredentials;
      out.why = "bad qop";
      stat_add(Stat::kAuthMalformed);
      return out;
    }
  }
  NonceFields nf;
  NonceStatus ns = read_nonce(shared_->secret(), cred.nonce, &nf);
  if (ns != NonceStatus::kOk) {
    out.rc = kInvalidPassword;
    out.why = ns == NonceStatus::kForged ? "forged nonce" : "malformed nonce";
    stat_add(Stat::kAuthForgedNonces);
    return out;
  }
  // The user.
  std::string_view username = cred.username;
  std::string_view user = username, domain;
  if (size_t at = username.find('@'); at != std::string_view::npos) {
    user = username.substr(0, at);
    domain = username.substr(at + 1);
  }
  Subscriber sub;
  if (!shared_->find_subscriber(user, domain.empty() ? std::string_view(realm) : domain,
                                p_->use_domain, &sub)) {
    out.rc = kUserUnknown;
    out.why = "user '" + std::string(username.substr(0, 64)) + "' unknown";
    stat_add(Stat::kAuthUnknownUsers);
    return out;
  }
  std::string ha1;
  if (p_->calculate_ha1) {
    ha1 = compute_ha1(base_algorithm(*alg), username, realm, sub.password);
  } else {
    switch (base_algorithm(*alg)) {
      case Algorithm::kSha256:
        ha1 = sub.ha1_sha256;
        break;
      case Algorithm::kSha512t256:
        ha1 = sub.ha1_sha512t256;
        break;
      default:
        ha1 = sub.ha1_md5;
        break;
    }
  }
  if (ha1.empty()) {
    out.rc = kAuthError;
    out.why = "no " + std::string(algorithm_name(base_algorithm(*alg))) + " HA1 stored for '" +
              sub.username + "'";
    return out;
  }
  std::string body_hash;
  if (client_qop == kQopAuthInt) body_hash = hash_hex(base_algorithm(*alg), msg.body());
  DigestInput in{msg.method(), cred.uri, cred.nonce, cred.cnonce, cred.nc, cred.qop, body_hash};
  const std::string expect = compute_response(*alg, ha1, in);
  if (!hex_equal(expect, cred.response)) {
    out.rc = kInvalidPassword;
    out.why = "wrong response for '" + sub.username + "'";
    stat_add(Stat::kAuthFailedResponses);
    return out;
  }
  // The password is right: now the nonce's freshness.
  if (nf.expires < now) {
    out.rc = kStaleNonce;
    out.why = "nonce expired";
    stat_add(Stat::kAuthStaleNonces);
    return out;
  }
  if (nf.algorithm != *alg || (client_qop & nf.qop) != client_qop ||
      (nf.qop != 0 && client_qop == 0)) {
    out.rc = kStaleNonce;
    out.why = "nonce issued for another algorithm or qop";
    stat_add(Stat::kAuthStaleNonces);
    return out;
  }
  if (!p_->disable_nonce_check) {
    const uint32_t nc = client_qop ? parse_nc(cred.nc) : 1;
    switch (shared_->use_nonce_count(nf.index, nc)) {
      case AuthShared::NcCheck::kOk:
        break;
      case AuthShared::NcCheck::kForgotten:
        out.rc = kStaleNonce;
        out.why = "nonce no longer in the nonce index";
        stat_add(Stat::kAuthStaleNonces);
        return out;
      case AuthShared::NcCheck::kReplayed:
        out.rc = kStaleNonce;
        out.why = "nonce count already used (replay)";
        stat_add(Stat::kAuthReplayedNonces);
        return out;
    }
  }
  out.rc = kAuthorized;
  out.header_index = found;
  out.user = std::string(user);
  out.domain = std::string(domain);
  out.username = std::string(username);
  out.realm = realm;
  stat_add(Stat::kAuthAuthorized);
  return out;
}

Result<std::vector<std::string>> Authorizer::challenge(const sip::Message& msg,
                                                       std::string_view realm_arg,
                                                       std::string_view qop,
                                                       std::string_view algorithms, bool stale,
                                                       bool proxy, int64_t now) {
  std::string realm = realm_arg.empty() ? default_realm(msg, proxy) : std::string(realm_arg);
  if (realm.empty()) return make_error("no realm (the From/To URI has no host)");
  for (char c : realm)
    if (c == '"' || c == '\\' || c == '\r' || c == '\n')
      return make_error("the realm may not contain quotes, backslashes or line breaks");
  int mask = qop_mask(qop);
  if (mask < 0) return make_error("qop must be auth, auth-int or both");
  // Which algorithms; strongest first (RFC 8760 §2.4).
  bool want[kAlgorithmCount] = {};
  bool any = false;
  while (!algorithms.empty()) {
    size_t comma = algorithms.find(',');
    std::string_view a = trim(algorithms.substr(0, comma));
    algorithms =
        comma == std::string_view::npos ? std::string_view() : algorithms.substr(comma + 1);
    if (a.empty()) continue;
    std::optional<Algorithm> alg = parse_algorithm(a);
    if (!alg) return make_error("unknown algorithm '" + std::string(a) + "'");
    want[static_cast<int>(*alg)] = true;
    any = true;
    if (*alg != Algorithm::kMd5 && mask == 0) mask = kQopAuth;
  }
  static constexpr Algorithm kOrder[] = {Algorithm::kSha512t256, Algorithm::kSha512t256Sess,
                                         Algorithm::kSha256,     Algorithm::kSha256Sess,
                                         Algorithm::kMd5,        Algorithm::kMd5Sess};
  std::vector<std::string> out;
  auto one = [&](Algorithm a, bool name_it) {
    bool overwrote = false;
    NonceFields f;
    f.expires = now + p_->nonce_expire;
    f.index = shared_->issue_nonce(f.expires, now, &overwrote);
    if (overwrote) stat_add(Stat::kAuthNonceIndexFull);
    f.algorithm = a;
    f.qop = static_cast<uint8_t>(mask);
    std::string h =
        "Digest realm=\"" + realm + "\", nonce=\"" + make_nonce(shared_->secret(), f) + "\"";
    if (mask == kQopAuth)
      h += ", qop=\"auth\"";
    else if (mask == kQopAuthInt)
      h += ", qop=\"auth-int\"";
    else if (mask == (kQopAuth | kQopAuthInt))
      h += ", qop=\"auth,auth-int\"";
    if (stale) h += ", stale=true";
    if (name_it) h += ", algorithm=" + std::string(algorithm_name(a));
    out.push_back(std::move(h));
  };
  if (!any) {
    one(Algorithm::kMd5, false);
  } else {
    for (Algorithm a : kOrder)
      if (want[static_cast<int>(a)]) one(a, true);
  }
  stat_add(Stat::kAuthChallenges);
  return out;
}

}  // namespace sipsd::auth
