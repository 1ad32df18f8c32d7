#include "tls_mgm/ssl_ctx_builder.h"

#include <openssl/pem.h>

#include "tls_mgm/openssl_errors.h"

namespace sipsd {

namespace {

constexpr unsigned char kSessionIdContext[] = "sipsd";

Error ctx_error(const tls::TlsDomain& d, const char* what) {
  return make_error(strprintf("tls_mgm domain '%s': %s: %s", d.name().c_str(), what,
                              openssl_drain_errors().c_str()));
}

BioPtr mem_bio(const std::string& s) {
  return BioPtr(BIO_new_mem_buf(s.data(), static_cast<int>(s.size())));
}

}  // namespace

Result<SslCtxPtr> build_server_ctx(const tls::TlsDomain& d) {
  openssl_clear_errors();
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return ctx_error(d, "SSL_CTX_new");
  SSL_CTX* c = ctx.get();

  int min_version = d.min_version() != 0 ? d.min_version() : TLS1_2_VERSION;
  if (!SSL_CTX_set_min_proto_version(c, min_version)) return ctx_error(d, "tls_method minimum");
  if (d.max_version() != 0 && !SSL_CTX_set_max_proto_version(c, d.max_version()))
    return ctx_error(d, "tls_method maximum");
  SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                             SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_IGNORE_UNEXPECTED_EOF);
  // Idle connections give their record buffers back; writes may be partial and retried from
  // a moved buffer (the connection's output queue).
  SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                          SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_session_id_context(c, kSessionIdContext, sizeof kSessionIdContext - 1);

  // Certificate chain, leaf first.
  BioPtr cert_bio = mem_bio(d.certificate_pem());
  X509Ptr leaf(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  if (!leaf || SSL_CTX_use_certificate(c, leaf.get()) != 1) return ctx_error(d, "certificate");
  while (X509* extra = PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr)) {
    if (SSL_CTX_add0_chain_cert(c, extra) != 1) {
      X509_free(extra);
      return ctx_error(d, "certificate chain");
    }
  }
  openssl_clear_errors();  // the end of the PEM file

  BioPtr key_bio = mem_bio(d.private_key_pem());
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (!key || SSL_CTX_use_PrivateKey(c, key.get()) != 1 || SSL_CTX_check_private_key(c) != 1)
    return ctx_error(d, "private_key");

  if (!d.ciphers_list().empty() && SSL_CTX_set_cipher_list(c, d.ciphers_list().c_str()) != 1)
    return ctx_error(d, "ciphers_list");

  if (d.verify_cert()) {
    int mode = SSL_VERIFY_PEER;
    if (d.require_cert()) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(c, mode, nullptr);
    if (!d.ca_list_pem().empty()) {
      X509_STORE* store = SSL_CTX_get_cert_store(c);
      BioPtr ca_bio = mem_bio(d.ca_list_pem());
      while (X509* ca = PEM_read_bio_X509(ca_bio.get(), nullptr, nullptr, nullptr)) {
        X509Ptr owned(ca);
        if (X509_STORE_add_cert(store, ca) != 1) return ctx_error(d, "ca_list");
        // Tell clients which CAs we accept (CertificateRequest).
        if (SSL_CTX_add_client_CA(c, ca) != 1) return ctx_error(d, "ca_list");
      }
      openssl_clear_errors();
    }
    if (!d.ca_dir().empty() && SSL_CTX_load_verify_dir(c, d.ca_dir().c_str()) != 1)
      return ctx_error(d, "ca_dir");
  } else {
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
  }
  return ctx;
}

}  // namespace sipsd
