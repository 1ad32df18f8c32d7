// ServerTlsContexts built from snapshots of the test PKI, proven by real handshakes: a server SSL
// from new_ssl() against a plain OpenSSL client over a socketpair. The ClientHello callback
// picks the domain by SNI (its certificate, and its verify/require settings), refuses an
// unknown name with unrecognized_name, and the local address picks the candidates.
#include "tls_mgm/server_tls_contexts.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <string>

#include "tests/unit/support/tls_peer.h"
#include "tls_mgm/openssl_errors.h"

namespace sipsd {
namespace {

using test::plain_client;
using test::plain_client_ctx;
using test::server_domain;
using test::verify_clients;

constexpr const char* kLocal = "127.0.0.1:5061";

std::shared_ptr<const ServerTlsContexts> build(const tls::TlsSnapshot& snap) {
  auto set = ServerTlsContexts::build(snap, nullptr);
  EXPECT_TRUE(set.ok()) << set.message();
  return set.ok() ? *set : nullptr;
}

struct Outcome {
  bool ok = false;  // both sides finished, and the client read nothing fatal after
  std::string client_error;
  std::string server_error;
  TlsSelection sel;       // what the ClientHello chose
  std::string peer_cn;    // the server certificate the client got
  int peer_key_type = 0;  // EVP_PKEY_EC / EVP_PKEY_RSA
  bool client_cert_seen = false;
  long client_verify = X509_V_OK;  // the server's verdict on the client certificate
};

// One connection to `set` on `local` with `sni`, the client presenting cert/key if given.
Outcome connect(const ServerTlsContexts& set, const std::string& sni, const char* cert = nullptr,
                const char* key = nullptr, const char* local = kLocal) {
  Outcome o;
  test::SocketPair fds = test::socket_pair();
  SslCtxPtr client_ctx = plain_client_ctx(cert, key);
  EXPECT_TRUE(fds.server && client_ctx);
  std::string err;
  SslPtr server = set.new_ssl(local, &o.sel, &err);
  EXPECT_TRUE(server) << err;
  if (!server || !client_ctx) return o;
  SSL_set_fd(server.get(), fds.server.get());
  SSL_set_accept_state(server.get());
  SslPtr client = plain_client(client_ctx.get(), fds.client.get(), sni);
  bool client_done = false, server_done = false, failed = false;
  auto step = [&](SSL* ssl, bool* done, std::string* error) {
    if (*done) return;
    openssl_clear_errors();
    int r = SSL_do_handshake(ssl);
    if (r == 1) {
      *done = true;
      return;
    }
    int e = SSL_get_error(ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
    failed = true;
    *error = openssl_drain_errors();
  };
  for (int i = 0; i < 50 && !failed && !(client_done && server_done); ++i) {
    step(client.get(), &client_done, &o.client_error);
    if (!failed) step(server.get(), &server_done, &o.server_error);
  }
  // A server that refused sent an alert: the client reads it, and says what it was.
  if (failed && o.client_error.empty()) step(client.get(), &client_done, &o.client_error);
  if (!failed && client_done && server_done) {
    // TLS 1.3 checks the client's certificate after the client finished: an alert may follow.
    char b;
    int r = SSL_read(client.get(), &b, 1);
    int e = SSL_get_error(client.get(), r);
    if (e != SSL_ERROR_WANT_READ) {
      failed = true;
      o.client_error = openssl_drain_errors();
    }
  }
  o.ok = !failed && client_done && server_done;
  o.peer_cn = test::peer_common_name(client.get());
  if (X509* peer = SSL_get0_peer_certificate(client.get()))
    o.peer_key_type = EVP_PKEY_get_base_id(X509_get0_pubkey(peer));
  o.client_cert_seen = SSL_get0_peer_certificate(server.get()) != nullptr;
  o.client_verify = SSL_get_verify_result(server.get());
  return o;
}

// ECDSA and RSA domains chosen by SNI; the ECDSA one also serves clients without SNI.
tls::TlsSnapshot two_key_types() {
  tls::TlsSnapshot snap;
  snap.set_generation(7);
  *snap.add_server_domains() =
      server_domain("ecdsa", "sip-example.pem", "sip-example-key.pem", {"sip.example.com", "none"});
  *snap.add_server_domains() =
      server_domain("rsa", "other-example.pem", "other-example-key.pem", {"other.example.com"});
  *snap.add_server_domains() =
      server_domain("wild", "wild.pem", "wild-key.pem", {"*.wild.example.com"});
  return snap;
}

TEST(ServerTlsContexts, BuildsOneContextPerDomainWithTheGeneration) {
  auto set = build(two_key_types());
  ASSERT_TRUE(set);
  EXPECT_EQ(set->generation(), 7u);
  EXPECT_EQ(set->size(), 3u);
  EXPECT_FALSE(set->empty());
  EXPECT_EQ(set->domain_name(0), "ecdsa");
  EXPECT_EQ(set->domain_name(1), "rsa");
  EXPECT_EQ(set->domain_name(2), "wild");
  auto none = build(tls::TlsSnapshot());
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST(ServerTlsContexts, SniChoosesTheDomainsCertificate) {
  auto set = build(two_key_types());
  ASSERT_TRUE(set);
  Outcome rsa = connect(*set, "other.example.com");
  ASSERT_TRUE(rsa.ok) << rsa.client_error << " / " << rsa.server_error;
  EXPECT_EQ(rsa.peer_cn, "other.example.com");
  EXPECT_EQ(rsa.peer_key_type, EVP_PKEY_RSA);
  EXPECT_EQ(rsa.sel.domain, 1);
  EXPECT_EQ(rsa.sel.sni_view(), "other.example.com");
  EXPECT_FALSE(rsa.sel.refused);

  Outcome ecdsa = connect(*set, "SIP.Example.COM");  // names are case-insensitive
  ASSERT_TRUE(ecdsa.ok) << ecdsa.client_error << " / " << ecdsa.server_error;
  EXPECT_EQ(ecdsa.peer_cn, "sip.example.com");
  EXPECT_EQ(ecdsa.peer_key_type, EVP_PKEY_EC);
  EXPECT_EQ(ecdsa.sel.domain, 0);
  EXPECT_EQ(ecdsa.sel.sni_view(), "SIP.Example.COM");  // as the client sent it

  Outcome wild = connect(*set, "a.wild.example.com");
  ASSERT_TRUE(wild.ok) << wild.client_error << " / " << wild.server_error;
  EXPECT_EQ(wild.peer_cn, "*.wild.example.com");
  EXPECT_EQ(wild.sel.domain, 2);

  Outcome none = connect(*set, "");  // no SNI: the domain listing "none"
  ASSERT_TRUE(none.ok) << none.client_error << " / " << none.server_error;
  EXPECT_EQ(none.peer_cn, "sip.example.com");
  EXPECT_EQ(none.sel.sni_view(), "");
}

TEST(ServerTlsContexts, UnknownSniIsRefusedWithUnrecognizedName) {
  auto set = build(two_key_types());
  ASSERT_TRUE(set);
  Outcome o = connect(*set, "nobody.example.org");
  EXPECT_FALSE(o.ok);
  EXPECT_TRUE(o.sel.refused);
  EXPECT_EQ(o.sel.sni_view(), "nobody.example.org");
  EXPECT_EQ(o.peer_cn, "") << "a certificate was sent to an unknown name";
  // The client was told why: the unrecognized_name alert.
  EXPECT_NE(o.client_error.find("unrecognized name"), std::string::npos) << o.client_error;
  // "*.wild.example.com" does not match the bare parent name.
  Outcome parent = connect(*set, "wild.example.com");
  EXPECT_FALSE(parent.ok);
  EXPECT_TRUE(parent.sel.refused);
}

TEST(ServerTlsContexts, LocalAddressChoosesTheCandidates) {
  tls::TlsSnapshot snap;
  tls::TlsDomain exact = server_domain("exact", "cert.pem", "ckey.pem", {"*"});
  exact.clear_match_ip_address();
  exact.add_match_ip_address("127.0.0.1:5061");
  *snap.add_server_domains() = exact;
  auto only_exact = build(snap);
  ASSERT_TRUE(only_exact);
  TlsSelection sel;
  std::string err;
  EXPECT_FALSE(only_exact->new_ssl("127.0.0.2:5061", &sel, &err));
  EXPECT_EQ(err, "no tls_mgm server domain matches the local address 127.0.0.2:5061");
  EXPECT_EQ(sel.set, nullptr);

  // With a "*" domain as well: the exact address keeps its own domain, others get "*".
  *snap.add_server_domains() =
      server_domain("any", "sip-example.pem", "sip-example-key.pem", {"*"});
  auto both = build(snap);
  ASSERT_TRUE(both);
  Outcome on_exact = connect(*both, "sip.example.com", nullptr, nullptr, "127.0.0.1:5061");
  ASSERT_TRUE(on_exact.ok) << on_exact.client_error << " / " << on_exact.server_error;
  EXPECT_EQ(on_exact.sel.domain, 0);
  EXPECT_EQ(on_exact.peer_cn, "localhost");
  Outcome elsewhere = connect(*both, "sip.example.com", nullptr, nullptr, "127.0.0.2:5061");
  ASSERT_TRUE(elsewhere.ok) << elsewhere.client_error << " / " << elsewhere.server_error;
  EXPECT_EQ(elsewhere.sel.domain, 1);
  EXPECT_EQ(elsewhere.peer_cn, "sip.example.com");
}

// The initial domain (no SNI) asks for nothing; the SNI switches to a domain whose verify and
// require settings must then apply (OpenSIPS ignored them until PR #4115).
tls::TlsSnapshot client_cert_policies() {
  tls::TlsSnapshot snap;
  *snap.add_server_domains() =
      server_domain("open", "cert.pem", "ckey.pem", {"none", "open.example.com"});
  tls::TlsDomain strict = server_domain("strict", "cert.pem", "ckey.pem", {"strict.example.com"});
  verify_clients(&strict, /*require=*/true);
  *snap.add_server_domains() = strict;
  tls::TlsDomain asks = server_domain("asks", "cert.pem", "ckey.pem", {"asks.example.com"});
  verify_clients(&asks, /*require=*/false);
  *snap.add_server_domains() = asks;
  return snap;
}

TEST(ServerTlsContexts, RequireCertRefusesClientsWithoutAValidCertificate) {
  auto set = build(client_cert_policies());
  ASSERT_TRUE(set);
  Outcome good = connect(*set, "strict.example.com", "client.pem", "client-key.pem");
  ASSERT_TRUE(good.ok) << good.client_error << " / " << good.server_error;
  EXPECT_EQ(good.sel.domain, 1);
  EXPECT_TRUE(good.client_cert_seen);
  EXPECT_EQ(good.client_verify, X509_V_OK);

  Outcome without = connect(*set, "strict.example.com");
  EXPECT_FALSE(without.ok);
  EXPECT_NE(without.server_error.find("peer did not return a certificate"), std::string::npos)
      << without.server_error;

  Outcome wrong_ca = connect(*set, "strict.example.com", "client-ca2.pem", "client-ca2-key.pem");
  EXPECT_FALSE(wrong_ca.ok);
  EXPECT_NE(wrong_ca.client_verify, X509_V_OK);
  EXPECT_NE(wrong_ca.server_error.find("certificate verify failed"), std::string::npos)
      << wrong_ca.server_error;
}

TEST(ServerTlsContexts, VerifyCertWithoutRequireCertChecksOnlyWhatIsPresented) {
  auto set = build(client_cert_policies());
  ASSERT_TRUE(set);
  Outcome without = connect(*set, "asks.example.com");
  ASSERT_TRUE(without.ok) << without.client_error << " / " << without.server_error;
  EXPECT_FALSE(without.client_cert_seen);

  Outcome good = connect(*set, "asks.example.com", "client.pem", "client-key.pem");
  ASSERT_TRUE(good.ok) << good.client_error << " / " << good.server_error;
  EXPECT_TRUE(good.client_cert_seen);
  EXPECT_EQ(good.client_verify, X509_V_OK);

  Outcome wrong_ca = connect(*set, "asks.example.com", "client-ca2.pem", "client-ca2-key.pem");
  EXPECT_FALSE(wrong_ca.ok) << "a certificate that does not verify must be refused";
}

TEST(ServerTlsContexts, VerifyCertOffAsksForNoCertificate) {
  auto set = build(client_cert_policies());
  ASSERT_TRUE(set);
  for (const char* sni : {"", "open.example.com"}) {
    Outcome o = connect(*set, sni, "client-ca2.pem", "client-ca2-key.pem");
    ASSERT_TRUE(o.ok) << sni << ": " << o.client_error << " / " << o.server_error;
    EXPECT_EQ(o.sel.domain, 0);
    EXPECT_FALSE(o.client_cert_seen) << "the server asked for a client certificate";
  }
}

TEST(ServerTlsContexts, ADomainThatCannotBeBuiltFailsTheWholeSet) {
  tls::TlsSnapshot snap = two_key_types();
  *snap.add_server_domains() = server_domain("bad", "cert.pem", "other-key.pem", {"bad.example"});
  auto set = ServerTlsContexts::build(snap, nullptr);
  ASSERT_FALSE(set.ok());
  EXPECT_NE(set.message().find("domain 'bad'"), std::string::npos) << set.message();
}

}  // namespace
}  // namespace sipsd
