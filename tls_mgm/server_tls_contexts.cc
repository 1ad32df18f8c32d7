#include "tls_mgm/server_tls_contexts.h"

#include <openssl/tls1.h>

#include "tls_mgm/openssl_errors.h"
#include "tls_mgm/ssl_ctx_builder.h"

namespace sipsd {

namespace {

int selection_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// The host_name of a server_name extension (RFC 6066 §3). False when malformed; an extension
// without a host_name entry gives an empty name.
bool parse_sni(const unsigned char* p, size_t len, std::string_view* out) {
  *out = {};
  if (len < 2) return false;
  size_t list = (size_t{p[0]} << 8) | p[1];
  if (list != len - 2) return false;
  p += 2;
  len -= 2;
  while (len >= 3) {
    unsigned type = p[0];
    size_t n = (size_t{p[1]} << 8) | p[2];
    if (n > len - 3) return false;
    if (type == TLSEXT_NAMETYPE_host_name) {
      *out = std::string_view(reinterpret_cast<const char*>(p + 3), n);
      return true;
    }
    p += 3 + n;
    len -= 3 + n;
  }
  return len == 0;
}

}  // namespace

// Runs for every ClientHello, before the version and the cipher are chosen: picks the domain by
// SNI among the connection's candidates and switches the SSL to it, or refuses the handshake
// with unrecognized_name.
int tls_client_hello_cb(SSL* ssl, int* alert, void*) {
  auto* sel = static_cast<TlsSelection*>(SSL_get_ex_data(ssl, selection_index()));
  if (sel == nullptr || sel->set == nullptr) return SSL_CLIENT_HELLO_SUCCESS;
  const unsigned char* ext = nullptr;
  size_t ext_len = 0;
  std::string_view sni;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &ext, &ext_len) == 1 &&
      !parse_sni(ext, ext_len, &sni)) {
    sel->bad_sni = true;
    *alert = SSL_AD_DECODE_ERROR;
    return SSL_CLIENT_HELLO_ERROR;
  }
  sel->sni_len = static_cast<uint16_t>(std::min(sni.size(), kMaxSniLength));
  sni.copy(sel->sni, sel->sni_len);
  sel->sni[sel->sni_len] = '\0';
  int d = sni.size() > kMaxSniLength ? -1 : sel->set->matcher_->match(*sel->candidates, sni);
  if (d < 0) {
    sel->refused = true;
    *alert = SSL_AD_UNRECOGNIZED_NAME;
    return SSL_CLIENT_HELLO_ERROR;
  }
  if (d != sel->domain) {
    sel->set->switch_domain(ssl, sel->domain, d);
    sel->domain = d;
  }
  return SSL_CLIENT_HELLO_SUCCESS;
}

void ServerTlsContexts::switch_domain(SSL* ssl, int from, int to) const {
  const Domain& a = domains_[static_cast<size_t>(from)];
  const Domain& b = domains_[static_cast<size_t>(to)];
  SSL_CTX* ctx = b.ctx.get();
  // SSL_set_SSL_CTX takes the certificate and key; the rest an SSL copied from its first
  // context at SSL_new, so it is applied here (OpenSIPS ignored per-SNI verify settings until
  // 2026, PR #4115).
  SSL_set_SSL_CTX(ssl, ctx);
  SSL_set_verify(ssl, SSL_CTX_get_verify_mode(ctx), SSL_CTX_get_verify_callback(ctx));
  X509_VERIFY_PARAM_set1(SSL_get0_param(ssl), SSL_CTX_get0_param(ctx));
  SSL_set_verify_depth(ssl, SSL_CTX_get_verify_depth(ctx));
  SSL_set_min_proto_version(ssl, SSL_CTX_get_min_proto_version(ctx));
  SSL_set_max_proto_version(ssl, SSL_CTX_get_max_proto_version(ctx));
  if (a.ciphers_list != b.ciphers_list) SSL_set_cipher_list(ssl, b.ciphers_list.c_str());
  if (a.ciphersuites != b.ciphersuites)
    SSL_set_ciphersuites(
        ssl, b.ciphersuites.empty() ? OSSL_default_ciphersuites() : b.ciphersuites.c_str());
  if (a.groups != b.groups && !b.groups.empty()) SSL_set1_groups_list(ssl, b.groups.c_str());
}

Result<std::shared_ptr<const ServerTlsContexts>> ServerTlsContexts::build(
    const tls::TlsSnapshot& snap, const TicketKeyStore* tickets, SSL_CTX_keylog_cb_func keylog) {
  auto set = std::make_shared<ServerTlsContexts>();
  set->generation_ = snap.generation();
  std::vector<DomainMatchRules> rules;
  for (const tls::TlsDomain& d : snap.server_domains()) {
    Result<SslCtxPtr> ctx = build_server_ctx(d);
    if (!ctx.ok()) return ctx.error();
    if (tickets != nullptr) install_ticket_keys(ctx->get(), tickets);
    SSL_CTX_set_client_hello_cb(ctx->get(), tls_client_hello_cb, nullptr);
    if (keylog != nullptr) SSL_CTX_set_keylog_callback(ctx->get(), keylog);
    set->domains_.push_back(Domain{d.name(), std::move(ctx).value(), effective_cipher_list(d),
                                   d.ciphersuites(), d.ec_curve()});
    rules.push_back(DomainMatchRules{d.name(),
                                     {d.match_ip_address().begin(), d.match_ip_address().end()},
                                     {d.match_sip_domain().begin(), d.match_sip_domain().end()}});
  }
  Result<ServerDomainMatcher> matcher = ServerDomainMatcher::build(rules);
  if (!matcher.ok()) return matcher.error();
  set->matcher_ = std::make_unique<ServerDomainMatcher>(std::move(matcher).value());
  return std::shared_ptr<const ServerTlsContexts>(std::move(set));
}

SslPtr ServerTlsContexts::new_ssl(std::string_view local_key, TlsSelection* sel,
                                  std::string* error) const {
  const ServerCandidates* candidates = matcher_->for_listener(local_key);
  if (candidates == nullptr) {
    *error = "no tls_mgm server domain matches the local address " + std::string(local_key);
    return nullptr;
  }
  int d = matcher_->initial(*candidates);
  openssl_clear_errors();
  SslPtr ssl(SSL_new(domains_[static_cast<size_t>(d)].ctx.get()));
  if (!ssl) {
    *error = "SSL_new: " + openssl_drain_errors();
    return nullptr;
  }
  sel->set = this;
  sel->candidates = candidates;
  sel->domain = d;
  SSL_set_ex_data(ssl.get(), selection_index(), sel);
  return ssl;
}

}  // namespace sipsd
