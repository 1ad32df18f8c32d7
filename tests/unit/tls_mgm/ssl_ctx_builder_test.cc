// SSL_CTXs built from snapshot domains, proven by real handshakes between a client SSL and a
// server SSL over an in-memory BIO pair, with the test PKI (tests/gen_certs.sh).
#include "tls_mgm/ssl_ctx_builder.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <fstream>
#include <string>

#include "tests/unit/support/test_certs.h"
#include "tls_mgm/openssl_errors.h"

namespace sipsd {
namespace {

using test::unit_cert;

std::string slurp(const std::string& name) {
  std::ifstream in(unit_cert(name));
  EXPECT_TRUE(in.good()) << name;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A server domain presenting CERT/KEY that verifies clients against ca.pem (the defaults:
// verify_cert=1, require_cert=1).
tls::TlsDomain server_domain(const char* cert = "cert.pem", const char* key = "ckey.pem") {
  tls::TlsDomain d;
  d.set_name("srv");
  d.set_type(tls::DOMAIN_TYPE_SERVER);
  d.set_certificate_pem(slurp(cert));
  d.set_private_key_pem(slurp(key));
  d.set_ca_list_pem(slurp("ca.pem"));
  d.set_verify_cert(true);
  d.set_require_cert(true);
  return d;
}

// A client domain that verifies servers against ca.pem, presenting CERT/KEY when given.
tls::TlsDomain client_domain(const char* cert = nullptr, const char* key = nullptr) {
  tls::TlsDomain d;
  d.set_name("cli");
  d.set_type(tls::DOMAIN_TYPE_CLIENT);
  if (cert != nullptr) {
    d.set_certificate_pem(slurp(cert));
    d.set_private_key_pem(slurp(key));
  }
  d.set_ca_list_pem(slurp("ca.pem"));
  d.set_verify_cert(true);
  return d;
}

SslCtxPtr server_ctx(const tls::TlsDomain& d) {
  Result<SslCtxPtr> ctx = build_server_ctx(d);
  EXPECT_TRUE(ctx.ok()) << ctx.message();
  return ctx.ok() ? std::move(ctx).value() : nullptr;
}
SslCtxPtr client_ctx(const tls::TlsDomain& d) {
  Result<SslCtxPtr> ctx = build_client_ctx(d);
  EXPECT_TRUE(ctx.ok()) << ctx.message();
  return ctx.ok() ? std::move(ctx).value() : nullptr;
}

struct Handshake {
  bool ok = false;
  std::string error;  // OpenSSL's reasons, client and server
  SslPtr client;
  SslPtr server;
  long server_verify = X509_V_OK;  // SSL_get_verify_result on each side
  long client_verify = X509_V_OK;
  std::string cipher() const { return SSL_CIPHER_get_name(SSL_get_current_cipher(server.get())); }
};

// Runs a handshake between two fresh SSLs over a BIO pair until both sides are done or one
// fails. A client that finished may still be refused by the server afterwards (TLS 1.3 checks
// the client certificate after the client's Finished): only both done counts as success.
Handshake handshake(SSL_CTX* client, SSL_CTX* server, SSL_SESSION* resume = nullptr) {
  Handshake h;
  h.client.reset(SSL_new(client));
  h.server.reset(SSL_new(server));
  BIO* cb = nullptr;
  BIO* sb = nullptr;
  BIO_new_bio_pair(&cb, 0, &sb, 0);
  SSL_set_bio(h.client.get(), cb, cb);
  SSL_set_bio(h.server.get(), sb, sb);
  SSL_set_connect_state(h.client.get());
  SSL_set_accept_state(h.server.get());
  if (resume != nullptr) SSL_set_session(h.client.get(), resume);
  openssl_clear_errors();
  bool client_done = false, server_done = false, failed = false;
  auto step = [&](SSL* ssl, bool* done, const char* who) {
    if (*done || failed) return;
    int r = SSL_do_handshake(ssl);
    if (r == 1) {
      *done = true;
      return;
    }
    int e = SSL_get_error(ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
    failed = true;
    h.error += std::string(who) + ": " + openssl_drain_errors() + "; ";
  };
  for (int i = 0; i < 50 && !failed && !(client_done && server_done); ++i) {
    step(h.client.get(), &client_done, "client");
    step(h.server.get(), &server_done, "server");
  }
  if (!failed && client_done && server_done) {
    // The client reads what the server sent after its Finished (TLS 1.3 tickets, or an alert).
    char buf[1];
    int r = SSL_read(h.client.get(), buf, sizeof buf);
    int e = SSL_get_error(h.client.get(), r);
    if (e != SSL_ERROR_WANT_READ) {
      failed = true;
      h.error += "client after handshake: " + openssl_drain_errors();
    }
  }
  h.ok = !failed && client_done && server_done;
  h.server_verify = SSL_get_verify_result(h.server.get());
  h.client_verify = SSL_get_verify_result(h.client.get());
  openssl_clear_errors();
  return h;
}

// A CRL issued by CA (CA.pem / CA-key.pem), valid from an hour ago for a day, revoking nothing.
std::string make_crl(const char* ca) {
  std::string ca_pem = slurp(std::string(ca) + ".pem");
  std::string key_pem = slurp(std::string(ca) + "-key.pem");
  BioPtr ca_bio(BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size())));
  BioPtr key_bio(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  X509Ptr cert(PEM_read_bio_X509(ca_bio.get(), nullptr, nullptr, nullptr));
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  EXPECT_TRUE(cert && key);
  std::unique_ptr<X509_CRL, OpenSslDeleter<&X509_CRL_free>> crl(X509_CRL_new());
  X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2);
  X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(cert.get()));
  std::unique_ptr<ASN1_TIME, OpenSslDeleter<&ASN1_TIME_free>> last(
      X509_time_adj_ex(nullptr, 0, -3600, nullptr));
  std::unique_ptr<ASN1_TIME, OpenSslDeleter<&ASN1_TIME_free>> next(
      X509_time_adj_ex(nullptr, 1, 0, nullptr));
  X509_CRL_set1_lastUpdate(crl.get(), last.get());
  X509_CRL_set1_nextUpdate(crl.get(), next.get());
  X509_CRL_sign(crl.get(), key.get(), EVP_sha256());
  BioPtr out(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_CRL(out.get(), crl.get());
  char* data = nullptr;
  long n = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

TEST(SslCtxBuilder, FixedServerPolicy) {
  SslCtxPtr ctx = server_ctx(server_domain());
  ASSERT_TRUE(ctx);
  uint64_t opts = SSL_CTX_get_options(ctx.get());
  EXPECT_TRUE(opts & SSL_OP_NO_RENEGOTIATION);
  EXPECT_TRUE(opts & SSL_OP_NO_COMPRESSION);
  EXPECT_TRUE(opts & SSL_OP_CIPHER_SERVER_PREFERENCE);
  EXPECT_TRUE(opts & SSL_OP_IGNORE_UNEXPECTED_EOF);
  EXPECT_FALSE(opts & SSL_OP_NO_TICKET);  // resumption is by tickets
  long mode = SSL_CTX_get_mode(ctx.get());
  EXPECT_TRUE(mode & SSL_MODE_RELEASE_BUFFERS);
  EXPECT_TRUE(mode & SSL_MODE_ENABLE_PARTIAL_WRITE);
  EXPECT_TRUE(mode & SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  EXPECT_EQ(SSL_CTX_get_session_cache_mode(ctx.get()), SSL_SESS_CACHE_OFF);
  EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx.get()), TLS1_2_VERSION);  // sipsd's floor
  EXPECT_EQ(SSL_CTX_get_max_proto_version(ctx.get()), 0);
  EXPECT_EQ(SSL_CTX_get_verify_mode(ctx.get()), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT);
  EXPECT_EQ(SSL_CTX_get_verify_depth(ctx.get()), 3);  // OpenSIPS's fixed depth by default
}

TEST(SslCtxBuilder, RequireCertWantsAValidClientCertificate) {
  SslCtxPtr srv = server_ctx(server_domain());
  SslCtxPtr good = client_ctx(client_domain("client.pem", "client-key.pem"));
  Handshake ok = handshake(good.get(), srv.get());
  ASSERT_TRUE(ok.ok) << ok.error;
  X509* peer = SSL_get0_peer_certificate(ok.server.get());
  ASSERT_NE(peer, nullptr);
  EXPECT_EQ(ok.server_verify, X509_V_OK);
  EXPECT_EQ(ok.client_verify, X509_V_OK);  // the client verified the server against ca.pem
  // The CertificateRequest named ca.pem.
  const STACK_OF(X509_NAME)* cas = SSL_get0_peer_CA_list(ok.client.get());
  ASSERT_NE(cas, nullptr);
  ASSERT_EQ(sk_X509_NAME_num(cas), 1);
  char name[128];
  X509_NAME_oneline(sk_X509_NAME_value(cas, 0), name, sizeof name);
  EXPECT_STREQ(name, "/CN=sipsd test CA");

  SslCtxPtr anonymous = client_ctx(client_domain());
  Handshake none = handshake(anonymous.get(), srv.get());
  EXPECT_FALSE(none.ok);
  EXPECT_NE(none.error.find("peer did not return a certificate"), std::string::npos) << none.error;

  SslCtxPtr wrong_ca = client_ctx(client_domain("client-ca2.pem", "client-ca2-key.pem"));
  Handshake ca2 = handshake(wrong_ca.get(), srv.get());
  EXPECT_FALSE(ca2.ok);
  EXPECT_EQ(ca2.server_verify, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);

  SslCtxPtr expired = client_ctx(client_domain("client-expired.pem", "client-expired-key.pem"));
  Handshake exp = handshake(expired.get(), srv.get());
  EXPECT_FALSE(exp.ok);
  EXPECT_EQ(exp.server_verify, X509_V_ERR_CERT_HAS_EXPIRED);
}

TEST(SslCtxBuilder, VerifyWithoutRequireAndNoVerify) {
  tls::TlsDomain optional = server_domain();
  optional.set_require_cert(false);
  SslCtxPtr srv = server_ctx(optional);
  EXPECT_EQ(SSL_CTX_get_verify_mode(srv.get()), SSL_VERIFY_PEER);
  SslCtxPtr anonymous = client_ctx(client_domain());
  Handshake none = handshake(anonymous.get(), srv.get());
  ASSERT_TRUE(none.ok) << none.error;
  EXPECT_EQ(SSL_get0_peer_certificate(none.server.get()), nullptr);
  // A certificate that is presented must still verify.
  SslCtxPtr wrong_ca = client_ctx(client_domain("client-ca2.pem", "client-ca2-key.pem"));
  EXPECT_FALSE(handshake(wrong_ca.get(), srv.get()).ok);

  tls::TlsDomain off = server_domain();
  off.set_verify_cert(false);
  SslCtxPtr srv_off = server_ctx(off);
  EXPECT_EQ(SSL_CTX_get_verify_mode(srv_off.get()), SSL_VERIFY_NONE);
  Handshake not_asked = handshake(wrong_ca.get(), srv_off.get());
  ASSERT_TRUE(not_asked.ok) << not_asked.error;
  EXPECT_EQ(SSL_get0_peer_certificate(not_asked.server.get()), nullptr);  // never requested
}

TEST(SslCtxBuilder, RevokedClientIsRefusedWithTheCrl) {
  SslCtxPtr revoked = client_ctx(client_domain("client-revoked.pem", "client-revoked-key.pem"));
  SslCtxPtr good = client_ctx(client_domain("client.pem", "client-key.pem"));

  // Without the CRL the revoked certificate is just a valid one: the CRL makes the difference.
  SslCtxPtr no_crl = server_ctx(server_domain());
  EXPECT_TRUE(handshake(revoked.get(), no_crl.get()).ok);

  tls::TlsDomain d = server_domain();
  d.set_crl_pem(slurp("crl/ca.crl"));
  SslCtxPtr srv = server_ctx(d);
  X509_VERIFY_PARAM* param = X509_STORE_get0_param(SSL_CTX_get_cert_store(srv.get()));
  EXPECT_TRUE(X509_VERIFY_PARAM_get_flags(param) & X509_V_FLAG_CRL_CHECK);
  EXPECT_FALSE(X509_VERIFY_PARAM_get_flags(param) & X509_V_FLAG_CRL_CHECK_ALL);
  Handshake h = handshake(revoked.get(), srv.get());
  EXPECT_FALSE(h.ok);
  EXPECT_EQ(h.server_verify, X509_V_ERR_CERT_REVOKED);
  Handshake fine = handshake(good.get(), srv.get());
  EXPECT_TRUE(fine.ok) << fine.error;

  d.set_crl_check_all(true);
  SslCtxPtr all = server_ctx(d);
  EXPECT_TRUE(
      X509_VERIFY_PARAM_get_flags(X509_STORE_get0_param(SSL_CTX_get_cert_store(all.get()))) &
      X509_V_FLAG_CRL_CHECK_ALL);
  EXPECT_EQ(handshake(revoked.get(), all.get()).server_verify, X509_V_ERR_CERT_REVOKED);
  EXPECT_TRUE(handshake(good.get(), all.get()).ok);
}

TEST(SslCtxBuilder, CrlCheckAllCoversTheIntermediates) {
  // A client verifies server-chain.pem (leaf <- int-ca <- ca) with only int-ca's CRL: enough for
  // the leaf, not for the whole chain.
  SslCtxPtr srv = server_ctx(server_domain("server-chain.pem", "server-chain-key.pem"));
  tls::TlsDomain leaf_only = client_domain("client.pem", "client-key.pem");
  leaf_only.set_crl_pem(make_crl("int-ca"));
  SslCtxPtr cli = client_ctx(leaf_only);
  Handshake ok = handshake(cli.get(), srv.get());
  EXPECT_TRUE(ok.ok) << ok.error;

  tls::TlsDomain all = leaf_only;
  all.set_crl_check_all(true);
  SslCtxPtr cli_all = client_ctx(all);
  Handshake h = handshake(cli_all.get(), srv.get());
  EXPECT_FALSE(h.ok);
  EXPECT_EQ(h.client_verify, X509_V_ERR_UNABLE_TO_GET_CRL);

  all.set_crl_pem(make_crl("int-ca") + slurp("crl/ca.crl"));
  SslCtxPtr cli_both = client_ctx(all);
  Handshake both = handshake(cli_both.get(), srv.get());
  EXPECT_TRUE(both.ok) << both.error;
}

TEST(SslCtxBuilder, CiphersuitesRestrictTls13) {
  tls::TlsDomain d = server_domain();
  d.set_require_cert(false);
  d.set_ciphersuites("TLS_CHACHA20_POLY1305_SHA256");
  SslCtxPtr srv = server_ctx(d);
  SslCtxPtr any_client = client_ctx(client_domain());
  Handshake h = handshake(any_client.get(), srv.get());
  ASSERT_TRUE(h.ok) << h.error;
  EXPECT_EQ(SSL_version(h.server.get()), TLS1_3_VERSION);
  EXPECT_EQ(h.cipher(), "TLS_CHACHA20_POLY1305_SHA256");

  tls::TlsDomain aes_only = client_domain();
  aes_only.set_min_version(TLS1_3_VERSION);
  aes_only.set_ciphersuites("TLS_AES_128_GCM_SHA256");
  SslCtxPtr cli = client_ctx(aes_only);
  Handshake refused = handshake(cli.get(), srv.get());
  EXPECT_FALSE(refused.ok);
  EXPECT_NE(refused.error.find("no shared cipher"), std::string::npos) << refused.error;
}

TEST(SslCtxBuilder, CiphersListRestrictsTls12) {
  tls::TlsDomain d = server_domain();
  d.set_require_cert(false);
  d.set_min_version(TLS1_2_VERSION);
  d.set_max_version(TLS1_2_VERSION);
  d.set_ciphers_list("ECDHE-ECDSA-AES256-GCM-SHA384");
  SslCtxPtr srv = server_ctx(d);
  SslCtxPtr any_client = client_ctx(client_domain());
  Handshake h = handshake(any_client.get(), srv.get());
  ASSERT_TRUE(h.ok) << h.error;
  EXPECT_EQ(SSL_version(h.server.get()), TLS1_2_VERSION);
  EXPECT_EQ(h.cipher(), "ECDHE-ECDSA-AES256-GCM-SHA384");

  tls::TlsDomain other = client_domain();
  other.set_ciphers_list("ECDHE-ECDSA-AES128-GCM-SHA256");
  SslCtxPtr cli = client_ctx(other);
  EXPECT_FALSE(handshake(cli.get(), srv.get()).ok);
}

TEST(SslCtxBuilder, Tls13OnlyRefusesATls12Client) {
  tls::TlsDomain d = server_domain();
  d.set_require_cert(false);
  d.set_min_version(TLS1_3_VERSION);
  d.set_max_version(TLS1_3_VERSION);
  SslCtxPtr srv = server_ctx(d);
  tls::TlsDomain tls12 = client_domain();
  tls12.set_min_version(TLS1_2_VERSION);
  tls12.set_max_version(TLS1_2_VERSION);
  SslCtxPtr old_client = client_ctx(tls12);
  Handshake h = handshake(old_client.get(), srv.get());
  EXPECT_FALSE(h.ok);
  EXPECT_NE(h.error.find("unsupported protocol"), std::string::npos) << h.error;
  // The floor: a client that offers only TLS 1.1 is refused by a default (SSLv23) server.
  tls::TlsDomain dflt = server_domain();
  dflt.set_require_cert(false);
  SslCtxPtr srv_default = server_ctx(dflt);
  SslCtxPtr plain(SSL_CTX_new(TLS_client_method()));
  SSL_CTX_set_security_level(plain.get(), 0);
  SSL_CTX_set_min_proto_version(plain.get(), TLS1_1_VERSION);
  SSL_CTX_set_max_proto_version(plain.get(), TLS1_1_VERSION);
  EXPECT_FALSE(handshake(plain.get(), srv_default.get()).ok);
}

TEST(SslCtxBuilder, GroupsFromEcCurve) {
  tls::TlsDomain d = server_domain();
  d.set_require_cert(false);
  d.set_ec_curve("P-384");
  SslCtxPtr srv = server_ctx(d);
  SslCtxPtr any_client = client_ctx(client_domain());
  Handshake h = handshake(any_client.get(), srv.get());
  ASSERT_TRUE(h.ok) << h.error;
  EXPECT_EQ(SSL_get_negotiated_group(h.server.get()), NID_secp384r1);

  tls::TlsDomain small = client_domain();
  small.set_ec_curve("X25519:P-256");
  SslCtxPtr cli = client_ctx(small);
  EXPECT_FALSE(handshake(cli.get(), srv.get()).ok);
}

TEST(SslCtxBuilder, DhParamsEnableDheSuites) {
  tls::TlsDomain d = server_domain("server-rsa.pem", "server-rsa-key.pem");
  d.set_require_cert(false);
  d.set_max_version(TLS1_2_VERSION);
  d.set_ciphers_list("DHE-RSA-AES128-GCM-SHA256");
  tls::TlsDomain dhe_client = client_domain();
  dhe_client.set_ciphers_list("DHE-RSA-AES128-GCM-SHA256");
  SslCtxPtr cli = client_ctx(dhe_client);

  SslCtxPtr without = server_ctx(d);
  EXPECT_FALSE(handshake(cli.get(), without.get()).ok);  // no DH group, no DHE suite

  d.set_dh_params_pem(slurp("dh.pem"));
  SslCtxPtr with = server_ctx(d);
  Handshake h = handshake(cli.get(), with.get());
  ASSERT_TRUE(h.ok) << h.error;
  EXPECT_EQ(h.cipher(), "DHE-RSA-AES128-GCM-SHA256");
}

TEST(SslCtxBuilder, VerifyDepthLimitsTheChain) {
  // server-chain.pem: leaf <- int-ca (in the file) <- ca.pem. One intermediate.
  SslCtxPtr srv = server_ctx(server_domain("server-chain.pem", "server-chain-key.pem"));
  tls::TlsDomain zero = client_domain("client.pem", "client-key.pem");
  zero.set_verify_depth(0);
  SslCtxPtr cli0 = client_ctx(zero);
  Handshake h = handshake(cli0.get(), srv.get());
  EXPECT_FALSE(h.ok);
  EXPECT_EQ(h.client_verify, X509_V_ERR_CERT_CHAIN_TOO_LONG);

  tls::TlsDomain one = zero;
  one.set_verify_depth(1);
  SslCtxPtr cli1 = client_ctx(one);
  Handshake h1 = handshake(cli1.get(), srv.get());
  EXPECT_TRUE(h1.ok) << h1.error;
  EXPECT_EQ(SSL_CTX_get_verify_depth(cli1.get()), 1);
}

TEST(SslCtxBuilder, ClientVerificationOfTheServer) {
  // (Without a CA store of its own: OpenSSL would complete the chain it sends from it.)
  tls::TlsDomain s = server_domain("sip-example.pem", "sip-example-key.pem");
  s.set_verify_cert(false);
  s.clear_ca_list_pem();
  SslCtxPtr srv = server_ctx(s);
  tls::TlsDomain other_ca = client_domain("client.pem", "client-key.pem");
  other_ca.set_ca_list_pem(slurp("ca2.pem"));
  SslCtxPtr strict = client_ctx(other_ca);
  EXPECT_EQ(SSL_CTX_get_verify_mode(strict.get()), SSL_VERIFY_PEER);
  Handshake refused = handshake(strict.get(), srv.get());
  EXPECT_FALSE(refused.ok);
  EXPECT_EQ(refused.client_verify, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);

  // verify_cert=0: the handshake goes on, the result is still recorded.
  other_ca.set_verify_cert(false);
  SslCtxPtr lax = client_ctx(other_ca);
  EXPECT_EQ(SSL_CTX_get_verify_mode(lax.get()), SSL_VERIFY_NONE);
  Handshake h = handshake(lax.get(), srv.get());
  ASSERT_TRUE(h.ok) << h.error;
  EXPECT_EQ(h.client_verify, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
}

TEST(SslCtxBuilder, ResumptionWithTheSessionCacheOff) {
  tls::TlsDomain d = server_domain();
  d.set_require_cert(false);
  SslCtxPtr srv = server_ctx(d);
  SslCtxPtr cli = client_ctx(client_domain());
  Handshake first = handshake(cli.get(), srv.get());
  ASSERT_TRUE(first.ok) << first.error;
  SslSessionPtr session(SSL_get1_session(first.client.get()));
  ASSERT_TRUE(session);
  ASSERT_TRUE(SSL_SESSION_is_resumable(session.get()));
  Handshake again = handshake(cli.get(), srv.get(), session.get());
  ASSERT_TRUE(again.ok) << again.error;
  EXPECT_TRUE(SSL_session_reused(again.server.get()));
}

TEST(SslCtxBuilder, Errors) {
  tls::TlsDomain no_cert = server_domain();
  no_cert.clear_certificate_pem();
  Result<SslCtxPtr> a = build_server_ctx(no_cert);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.message(), "tls_mgm: domain 'srv': a server domain needs a certificate");

  tls::TlsDomain bad_curve = server_domain();
  bad_curve.set_ec_curve("P-999");
  Result<SslCtxPtr> b = build_server_ctx(bad_curve);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.message().rfind("tls_mgm: domain 'srv': ec_curve: ", 0), 0u) << b.message();

  tls::TlsDomain mismatch = server_domain();
  mismatch.set_private_key_pem(slurp("other-key.pem"));
  Result<SslCtxPtr> c = build_server_ctx(mismatch);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.message().rfind("tls_mgm: domain 'srv': private_key: ", 0), 0u) << c.message();

  tls::TlsDomain half_client = client_domain("client.pem", "client-key.pem");
  half_client.clear_private_key_pem();
  EXPECT_FALSE(build_client_ctx(half_client).ok());

  tls::TlsDomain bad_crl = client_domain();
  bad_crl.set_crl_pem("garbage");
  Result<SslCtxPtr> d = build_client_ctx(bad_crl);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.message(), "tls_mgm: domain 'cli': crl_dir: no CRL");
}

}  // namespace
}  // namespace sipsd
