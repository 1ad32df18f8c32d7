#include "bench/sipsbench/client_tls.h"

#include "tls_mgm/openssl_errors.h"

namespace sipsd::bench {

namespace {

Error ctx_error(const std::string& what) {
  return make_error(what + ": " + openssl_drain_errors());
}

// What both ends of sipsbench's TLS share: --tls-version (default 1.2 to 1.3), partial writes,
// no renegotiation or compression, and read-ahead (one read(2) takes every record that has
// arrived instead of a header read and a body read per record; safe because callers read
// until WANT_READ).
Result<SslCtxPtr> new_ctx(const SSL_METHOD* method, const Options& o) {
  openssl_clear_errors();
  SslCtxPtr ctx(SSL_CTX_new(method));
  if (!ctx) return ctx_error("SSL_CTX_new");
  SSL_CTX* c = ctx.get();
  int min_version = o.tls_version != 0 ? o.tls_version : TLS1_2_VERSION;
  int max_version = o.tls_version != 0 ? o.tls_version : TLS1_3_VERSION;
  if (!SSL_CTX_set_min_proto_version(c, min_version) ||
      !SSL_CTX_set_max_proto_version(c, max_version))
    return ctx_error("TLS protocol versions");
  SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_read_ahead(c, 1);
  return ctx;
}

}  // namespace

Result<SslCtxPtr> build_client_ctx(const Options& o) {
  auto made = new_ctx(TLS_client_method(), o);
  if (!made.ok()) return made;
  SslCtxPtr ctx = std::move(made).value();
  SSL_CTX* c = ctx.get();
  auto fail = ctx_error;
  // Sessions are kept by the caller (SSL_get1_session), not in OpenSSL's client cache.
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);

  if (!o.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(c, o.ca_file.c_str(), nullptr) != 1)
      return fail("--ca " + o.ca_file);
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
  }
  if (!o.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(c, o.cert_file.c_str()) != 1)
      return fail("--cert " + o.cert_file);
    if (SSL_CTX_use_PrivateKey_file(c, o.key_file.c_str(), SSL_FILETYPE_PEM) != 1)
      return fail("--key " + o.key_file);
    if (SSL_CTX_check_private_key(c) != 1) return fail("--key does not match --cert");
  }
  return ctx;
}

Result<SslCtxPtr> build_server_ctx(const Options& o) {
  auto made = new_ctx(TLS_server_method(), o);
  if (!made.ok()) return made;
  SslCtxPtr ctx = std::move(made).value();
  SSL_CTX* c = ctx.get();
  auto fail = ctx_error;
  SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
  if (SSL_CTX_use_certificate_chain_file(c, o.cert_file.c_str()) != 1)
    return fail("--cert " + o.cert_file);
  if (SSL_CTX_use_PrivateKey_file(c, o.key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    return fail("--key " + o.key_file);
  if (SSL_CTX_check_private_key(c) != 1) return fail("--key does not match --cert");
  static const unsigned char kSessionContext[] = "sipsbench-callee";
  SSL_CTX_set_session_id_context(c, kSessionContext, sizeof kSessionContext - 1);
  return ctx;
}

Result<SslPtr> new_client_ssl(SSL_CTX* ctx, const Options& o, int fd, SSL_SESSION* session) {
  openssl_clear_errors();
  SslPtr ssl(SSL_new(ctx));
  if (!ssl) return make_error("SSL_new: " + openssl_drain_errors());
  SSL* s = ssl.get();
  if (SSL_set_fd(s, fd) != 1) return make_error("SSL_set_fd: " + openssl_drain_errors());
  if (!o.sni.empty()) {
    if (SSL_set_tlsext_host_name(s, o.sni.c_str()) != 1 ||
        (!o.ca_file.empty() && SSL_set1_host(s, o.sni.c_str()) != 1))
      return make_error("--sni " + o.sni + ": " + openssl_drain_errors());
  } else if (!o.ca_file.empty()) {
    X509_VERIFY_PARAM* param = SSL_get0_param(s);
    if (X509_VERIFY_PARAM_set1_ip_asc(param, o.target.ip.c_str()) != 1)
      return make_error("verify address " + o.target.ip + ": " + openssl_drain_errors());
  }
  if (session != nullptr && SSL_set_session(s, session) != 1)
    return make_error("SSL_set_session: " + openssl_drain_errors());
  SSL_set_connect_state(s);
  return ssl;
}

}  // namespace sipsd::bench
