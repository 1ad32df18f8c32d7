// MessageEnv: the auth and auth_db script functions (OpenSIPS names and return codes) on top
// of auth::Authorizer, and $au/$ad/$aU/$ar.
#include <time.h>

#include "core/base/ascii.h"
#include "core/base/log.h"
#include "core/shm/stats.h"
#include "core/sip/reply_builder.h"
#include "core/sip/sl_reply.h"
#include "core/sip/uri.h"
#include "core/worker/script_env.h"

namespace sipsd {

namespace {

int64_t unix_now() {
  return static_cast<int64_t>(time(nullptr));
}

}  // namespace

int MessageEnv::auth_authorize(std::string_view realm, std::string_view table, bool proxy) {
  const sip::Message* m = message();
  if (m == nullptr || sv_.auth == nullptr || sc_.kind != tm::RouteKind::kRequest) return -5;
  auth_ = sv_.auth->authorize(*m, realm, table, proxy, unix_now());
  auth_stale_ = auth_.rc == auth::kStaleNonce;
  const char* fn = proxy ? "proxy_authorize" : "www_authorize";
  const std::string_view label = sc_.from ? std::string_view(sc_.from->label) : std::string_view();
  if (auth_.rc == auth::kBadCredentials) {
    LOG_NOTICE("auth", "%.*s: %s(): %s: answered 400", static_cast<int>(label.size()), label.data(),
               fn, auth_.why.c_str());
    sl_send_reply(400, "Bad Request");
    return 0;
  }
  if (auth_.rc < 0 && auth_.rc != auth::kNoCredentials) {
    LOG_INFO("auth", "%.*s: %s(): %s (%d)", static_cast<int>(label.size()), label.data(), fn,
             auth_.why.c_str(), auth_.rc);
  }
  return auth_.rc;
}

int MessageEnv::auth_challenge(std::span<const ScriptValue> args, bool proxy) {
  const sip::Message* m = message();
  if (m == nullptr || sv_.auth == nullptr || sc_.from == nullptr || sc_.sink == nullptr) return -1;
  auto arg = [&](size_t i) {
    return i < args.size() && args[i].is_str() ? args[i].str() : std::string_view();
  };
  std::string qop_text;
  if (args.size() > 1 && args[1].is_int()) qop_text = std::to_string(args[1].int_value());
  std::string_view qop = qop_text.empty() ? arg(1) : std::string_view(qop_text);
  const char* fn = proxy ? "proxy_challenge" : "www_challenge";
  auto headers = sv_.auth->challenge(*m, arg(0), qop, arg(2), auth_stale_, proxy, unix_now());
  if (!headers.ok()) {
    LOG_ERR("auth", "%s(): %s", fn, headers.message().c_str());
    return -1;
  }
  std::vector<sip::HeaderField> fields;
  const std::string_view name = proxy ? "Proxy-Authenticate" : "WWW-Authenticate";
  for (const std::string& h : *headers) fields.push_back(sip::HeaderField{name, h});
  char tag_buf[sip::kSlTagLength];
  sip::LocalReply r;
  r.code = proxy ? 407 : 401;
  r.reason = proxy ? "Proxy Authentication Required" : "Unauthorized";
  r.to_tag = sip::sl_to_tag(*m, tag_buf);
  r.headers = fields;
  sip::ReplyParams p;
  p.source_ip = sc_.from->src_ip;
  p.source_port = sc_.from->src_port;
  p.server = sv_.server_header;
  if (!sip::build_reply(*m, r, p, &scratch2_)) return -1;
  sc_.sink->send_reply(scratch2_);
  stat_add(Stat::kSlSentReplies);
  stat_add(Stat::kSlSentErrReplies);
  stat_add(Stat::kSl4xx);
  return 0;  // the challenge is the answer: the script stops (OpenSIPS)
}

int MessageEnv::consume_credentials() {
  const sip::Message* m = message();
  sip::MessageEditor* ed = editor();
  if (m == nullptr || ed == nullptr || auth_.rc != auth::kAuthorized || auth_.header_index < 0)
    return -1;
  const auto& hs = m->headers();
  if (static_cast<size_t>(auth_.header_index) >= hs.size()) return -1;
  return ed->remove_header(hs[static_cast<size_t>(auth_.header_index)]) == sip::EditStatus::kOk
             ? 1
             : -1;
}

int MessageEnv::db_is_authorized(bool to) {
  // OpenSIPS's default (use_uri_table = 0): the To/From user must be the authorized user
  // (and, with use_domain, the host its domain or realm).
  const sip::Message* m = message();
  if (m == nullptr || sv_.auth == nullptr || auth_.rc != auth::kAuthorized ||
      auth_.username.empty())
    return -1;
  const sip::NameAddr* na = to ? m->to() : m->from();
  if (na == nullptr) return -1;
  sip::Uri u;
  if (!sip::parse_uri(na->uri, &u).ok()) return -1;
  if (u.user != auth_.user) return -1;
  if (sv_.auth->params().use_domain) {
    std::string_view want = auth_.domain.empty() ? std::string_view(auth_.realm) : auth_.domain;
    if (!ascii_iequals(u.host, want)) return -1;
  }
  return 1;
}

ScriptValue MessageEnv::auth_pv(PvId id) const {
  if (auth_.rc != auth::kAuthorized || auth_.username.empty()) return ScriptValue::null();
  const std::string* v = id == PvId::kAuthUser     ? &auth_.user
                         : id == PvId::kAuthDomain ? &auth_.domain
                         : id == PvId::kAuthRealm  ? &auth_.realm
                                                   : &auth_.username;
  return v->empty() ? ScriptValue::null() : ScriptValue::of(std::string_view(*v));
}

}  // namespace sipsd
