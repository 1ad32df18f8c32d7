#include "tls_mgm/ssl_ctx_builder.h"

#include <openssl/pem.h>
#include <openssl/x509_vfy.h>

#include <string>

#include "tls_mgm/openssl_errors.h"
#include "tls_mgm/tls_domain_config.h"

namespace sipsd {

namespace {

constexpr unsigned char kSessionIdContext[] = "sipsd";

using X509CrlPtr = std::unique_ptr<X509_CRL, OpenSslDeleter<&X509_CRL_free>>;

Error ctx_error(const tls::TlsDomain& d, const char* what) {
  std::string why = openssl_drain_errors();
  return make_error(strprintf("tls_mgm: domain '%s': %s: %s", d.name().c_str(), what,
                              why.empty() ? "rejected by OpenSSL" : why.c_str()));
}

BioPtr mem_bio(const std::string& s) {
  return BioPtr(BIO_new_mem_buf(s.data(), static_cast<int>(s.size())));
}

// Mozilla "intermediate" (see effective_cipher_list in the header).
constexpr const char* kDefaultCiphersEcdhe =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr const char* kDefaultCiphersDhe =
    ":DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";

// Versions, cipher and group lists, options and modes shared by server and client contexts.
Status apply_protocol_policy(SSL_CTX* c, const tls::TlsDomain& d) {
  int min_version = d.min_version() != 0 ? d.min_version() : TLS1_2_VERSION;
  if (!SSL_CTX_set_min_proto_version(c, min_version)) return ctx_error(d, "tls_method minimum");
  if (d.max_version() != 0 && !SSL_CTX_set_max_proto_version(c, d.max_version()))
    return ctx_error(d, "tls_method maximum");
  SSL_CTX_set_options(
      c, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
  // Idle connections give their record buffers back; writes may be partial and retried from
  // a moved buffer (the connection's output queue).
  SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                          SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (SSL_CTX_set_cipher_list(c, effective_cipher_list(d).c_str()) != 1)
    return ctx_error(d, d.ciphers_list().empty() ? "default cipher list" : "ciphers_list");
  if (!d.ciphersuites().empty() && SSL_CTX_set_ciphersuites(c, d.ciphersuites().c_str()) != 1)
    return ctx_error(d, "ciphersuites");
  if (!d.ec_curve().empty() && SSL_CTX_set1_groups_list(c, d.ec_curve().c_str()) != 1)
    return ctx_error(d, "ec_curve");
  return Status::Ok();
}

// The certificate chain (leaf first) and its key.
Status apply_certificate(SSL_CTX* c, const tls::TlsDomain& d) {
  BioPtr cert_bio = mem_bio(d.certificate_pem());
  X509Ptr leaf(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  if (!leaf || SSL_CTX_use_certificate(c, leaf.get()) != 1) return ctx_error(d, "certificate");
  while (X509* extra = PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr)) {
    if (SSL_CTX_add0_chain_cert(c, extra) != 1) {
      X509_free(extra);
      return ctx_error(d, "certificate chain");
    }
  }
  openssl_clear_errors();  // the end of the PEM data

  BioPtr key_bio = mem_bio(d.private_key_pem());
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (!key || SSL_CTX_use_PrivateKey(c, key.get()) != 1 || SSL_CTX_check_private_key(c) != 1)
    return ctx_error(d, "private_key");
  return Status::Ok();
}

// The trust store: ca_list, ca_dir, the CRLs and the verify depth. With announce_cas (a server
// that verifies clients) the CAs of ca_list are also named in the CertificateRequest.
Status apply_trust(SSL_CTX* c, const tls::TlsDomain& d, bool announce_cas) {
  X509_STORE* store = SSL_CTX_get_cert_store(c);
  if (!d.ca_list_pem().empty()) {
    BioPtr ca_bio = mem_bio(d.ca_list_pem());
    int n = 0;
    while (X509* ca = PEM_read_bio_X509(ca_bio.get(), nullptr, nullptr, nullptr)) {
      X509Ptr owned(ca);
      ++n;
      if (X509_STORE_add_cert(store, ca) != 1) return ctx_error(d, "ca_list");
      // Tell clients which CAs we accept (CertificateRequest).
      if (announce_cas && SSL_CTX_add_client_CA(c, ca) != 1) return ctx_error(d, "ca_list");
    }
    openssl_clear_errors();
    if (n == 0) return make_error("tls_mgm: domain '" + d.name() + "': ca_list: no certificate");
  }
  if (!d.ca_dir().empty() && SSL_CTX_load_verify_dir(c, d.ca_dir().c_str()) != 1)
    return ctx_error(d, "ca_dir");
  if (!d.crl_pem().empty()) {
    BioPtr crl_bio = mem_bio(d.crl_pem());
    int n = 0;
    while (X509_CRL* raw = PEM_read_bio_X509_CRL(crl_bio.get(), nullptr, nullptr, nullptr)) {
      X509CrlPtr crl(raw);
      ++n;
      if (X509_STORE_add_crl(store, crl.get()) != 1) return ctx_error(d, "crl_dir");
    }
    openssl_clear_errors();
    if (n == 0) return make_error("tls_mgm: domain '" + d.name() + "': crl_dir: no CRL");
    unsigned long flags = X509_V_FLAG_CRL_CHECK;
    if (d.crl_check_all()) flags |= X509_V_FLAG_CRL_CHECK_ALL;
    if (X509_STORE_set_flags(store, flags) != 1) return ctx_error(d, "crl_dir");
  }
  SSL_CTX_set_verify_depth(c, effective_verify_depth(d));
  return Status::Ok();
}

}  // namespace

std::string effective_cipher_list(const tls::TlsDomain& d) {
  if (!d.ciphers_list().empty()) return d.ciphers_list();
  std::string list = kDefaultCiphersEcdhe;
  if (!d.dh_params_pem().empty()) list += kDefaultCiphersDhe;
  return list;
}

int effective_verify_depth(const tls::TlsDomain& d) {
  return d.has_verify_depth() ? d.verify_depth() : kDefaultVerifyDepth;
}

Result<SslCtxPtr> build_server_ctx(const tls::TlsDomain& d) {
  openssl_clear_errors();
  if (d.certificate_pem().empty())
    return make_error("tls_mgm: domain '" + d.name() + "': a server domain needs a certificate");
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return ctx_error(d, "SSL_CTX_new");
  SSL_CTX* c = ctx.get();

  if (Status st = apply_protocol_policy(c, d); !st.ok()) return make_error(st.message());
  SSL_CTX_set_options(c, SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (!d.dh_params_pem().empty()) {
    BioPtr dh_bio = mem_bio(d.dh_params_pem());
    EvpPkeyPtr dh(PEM_read_bio_Parameters(dh_bio.get(), nullptr));
    if (!dh || SSL_CTX_set0_tmp_dh_pkey(c, dh.get()) != 1) return ctx_error(d, "dh_params");
    (void)dh.release();  // owned by the context now
  }
  // No server-side session cache: it would be per worker. Resumption uses stateless tickets,
  // whose keys are shared by all workers (tls_mgm/ticket_keys.h).
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_session_id_context(c, kSessionIdContext, sizeof kSessionIdContext - 1);

  if (Status st = apply_certificate(c, d); !st.ok()) return make_error(st.message());
  if (Status st = apply_trust(c, d, d.verify_cert()); !st.ok()) return make_error(st.message());

  int mode = SSL_VERIFY_NONE;
  if (d.verify_cert()) {
    mode = SSL_VERIFY_PEER;
    if (d.require_cert()) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  }
  SSL_CTX_set_verify(c, mode, nullptr);
  return ctx;
}

Result<SslCtxPtr> build_client_ctx(const tls::TlsDomain& d) {
  openssl_clear_errors();
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return ctx_error(d, "SSL_CTX_new");
  SSL_CTX* c = ctx.get();

  if (Status st = apply_protocol_policy(c, d); !st.ok()) return make_error(st.message());
  if (!d.certificate_pem().empty()) {
    if (Status st = apply_certificate(c, d); !st.ok()) return make_error(st.message());
  }
  if (Status st = apply_trust(c, d, false); !st.ok()) return make_error(st.message());
  SSL_CTX_set_verify(c, d.verify_cert() ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  return ctx;
}

}  // namespace sipsd
