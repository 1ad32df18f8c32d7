// The $tls_* variables computed from real OpenSSL sessions: a server and a client SSL run the
// handshake in memory over a BIO pair, then every variable is checked against what the
// `openssl x509` command prints for the same certificate (or, where the CLI prints another
// format, against the certificate's known content).
#include "tls_mgm/tls_vars.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "core/cfg/config.h"
#include "core/cfg/schema.h"
#include "tests/unit/support/test_certs.h"
#include "tls_mgm/openssl_ptr.h"

namespace sipsd {
namespace {

using test::unit_cert;

using CrlPtr = std::unique_ptr<X509_CRL, OpenSslDeleter<&X509_CRL_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, OpenSslDeleter<&BN_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, OpenSslDeleter<&X509_EXTENSION_free>>;

// ---- certificates ---------------------------------------------------------------------------

X509Ptr read_cert(const std::string& path) {
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  EXPECT_TRUE(bio) << path;
  if (!bio) return nullptr;
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

EvpPkeyPtr read_key(const std::string& path) {
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  EXPECT_TRUE(bio) << path;
  if (!bio) return nullptr;
  return EvpPkeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

struct Identity {
  X509Ptr cert;
  EvpPkeyPtr key;
};

Identity load_identity(const char* cert, const char* key) {
  return Identity{read_cert(unit_cert(cert)), read_key(unit_cert(key))};
}

void add_name(X509_NAME* name, const char* field, const char* value) {
  ASSERT_EQ(X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                       reinterpret_cast<const unsigned char*>(value), -1, -1, 0),
            1)
      << field;
}

struct CertSpec {
  std::vector<std::pair<const char*, const char*>> subject;  // in order
  const char* serial_hex = "01";
  const char* san = nullptr;  // X509v3 config syntax, e.g. "DNS:a, IP:1.2.3.4"
  long not_before_days = -1;
  long not_after_days = 30;
};

// A certificate for `spec`: signed by `issuer` (cert and key), or self-signed when issuer is
// null.
Identity make_cert(const CertSpec& spec, const Identity* issuer) {
  Identity id;
  id.key.reset(EVP_EC_gen("P-256"));
  id.cert.reset(X509_new());
  X509* c = id.cert.get();
  X509_set_version(c, 2);
  BIGNUM* bn = nullptr;
  BN_hex2bn(&bn, spec.serial_hex);
  BignumPtr owned(bn);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c));
  X509_gmtime_adj(X509_getm_notBefore(c), spec.not_before_days * 86400);
  X509_gmtime_adj(X509_getm_notAfter(c), spec.not_after_days * 86400);
  X509_NAME* name = X509_get_subject_name(c);
  for (const auto& [field, value] : spec.subject) add_name(name, field, value);
  X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer->cert.get()) : name);
  X509_set_pubkey(c, id.key.get());
  if (spec.san) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer ? issuer->cert.get() : c, c, nullptr, nullptr, 0);
    ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, spec.san));
    EXPECT_TRUE(ext) << spec.san;
    if (ext) X509_add_ext(c, ext.get(), -1);
  }
  EXPECT_GT(X509_sign(c, issuer ? issuer->key.get() : id.key.get(), EVP_sha256()), 0);
  return id;
}

// A scratch directory for certificates the CLI must read.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "tls_vars_test.XXXXXX").string();
    path_ = mkdtemp(tmpl.data()) ? tmpl : "";
    EXPECT_FALSE(path_.empty());
  }
  ~TempDir() {
    if (!path_.empty()) std::filesystem::remove_all(path_);
  }
  std::string write(const std::string& name, X509* cert) const {
    std::string p = path_ + "/" + name;
    BioPtr bio(BIO_new_file(p.c_str(), "w"));
    EXPECT_TRUE(bio && PEM_write_bio_X509(bio.get(), cert) == 1) << p;
    return p;
  }

 private:
  std::string path_;
};

// What `openssl x509 -noout -nameopt compat -subject -issuer -serial -dates -fingerprint
// -sha256 -ext subjectAltName` prints, as key -> value ("subject", "serial", "sha256
// Fingerprint", ...; "san" holds the subjectAltName line).
std::map<std::string, std::string> openssl_cli(const std::string& pem) {
  std::string cmd = "openssl x509 -in '" + pem +
                    "' -noout -nameopt compat -subject -issuer -serial -dates -fingerprint "
                    "-sha256 -ext subjectAltName 2>&1";
  std::map<std::string, std::string> out;
  FILE* f = popen(cmd.c_str(), "r");
  EXPECT_NE(f, nullptr);
  if (!f) return out;
  char line[4096];
  bool san_next = false;
  while (fgets(line, sizeof line, f)) {
    std::string l(line);
    while (!l.empty() && (l.back() == '\n' || l.back() == ' ')) l.pop_back();
    if (san_next) {
      out["san"] = l.substr(l.find_first_not_of(' '));
      san_next = false;
    } else if (l.starts_with("X509v3 Subject Alternative Name")) {
      san_next = true;
    } else if (size_t eq = l.find('='); eq != std::string::npos) {
      out[l.substr(0, eq)] = l.substr(eq + 1);
    }
  }
  EXPECT_EQ(pclose(f), 0) << cmd;
  return out;
}

// The first "PREFIX:value" item of the CLI's subjectAltName line ("DNS:a, email:b, ...").
std::string first_san(const std::string& san_line, const std::string& prefix) {
  size_t p = 0;
  while (p < san_line.size()) {
    size_t comma = san_line.find(", ", p);
    std::string item =
        san_line.substr(p, comma == std::string::npos ? std::string::npos : comma - p);
    if (item.starts_with(prefix + ":")) return item.substr(prefix.size() + 1);
    p = comma == std::string::npos ? san_line.size() : comma + 2;
  }
  return "";
}

std::string hex_to_decimal(const std::string& hex) {
  BIGNUM* bn = nullptr;
  EXPECT_GT(BN_hex2bn(&bn, hex.c_str()), 0) << hex;
  BignumPtr owned(bn);
  char* dec = BN_bn2dec(bn);
  std::string s(dec);
  OPENSSL_free(dec);
  return s;
}

// ---- sessions -------------------------------------------------------------------------------

struct ServerOptions {
  bool request_cert = true;
  bool accept_any = false;  // a verify callback that lets every error through
  bool crl = false;         // check ca.pem's CRL (crl/ca.crl)
  int max_version = 0;      // 0 = the library's highest
};

SslCtxPtr server_ctx(const ServerOptions& o) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  SSL_CTX* c = ctx.get();
  EXPECT_EQ(SSL_CTX_use_certificate_chain_file(c, unit_cert("cert.pem").c_str()), 1);
  EXPECT_EQ(SSL_CTX_use_PrivateKey_file(c, unit_cert("ckey.pem").c_str(), SSL_FILETYPE_PEM), 1);
  EXPECT_EQ(SSL_CTX_load_verify_locations(c, unit_cert("ca.pem").c_str(), nullptr), 1);
  if (o.max_version) SSL_CTX_set_max_proto_version(c, o.max_version);
  if (o.crl) {
    BioPtr bio(BIO_new_file(unit_cert("crl/ca.crl").c_str(), "r"));
    CrlPtr crl(bio ? PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    EXPECT_TRUE(crl);
    X509_STORE* store = SSL_CTX_get_cert_store(c);
    X509_STORE_add_crl(store, crl.get());
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
  }
  if (o.request_cert) {
    SSL_verify_cb callback = nullptr;
    if (o.accept_any) callback = [](int, X509_STORE_CTX*) { return 1; };
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, callback);
  }
  return ctx;
}

// The client verifies the server against ca.pem; `id` is its certificate (none when null).
SslCtxPtr client_ctx(const Identity* id) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  SSL_CTX* c = ctx.get();
  EXPECT_EQ(SSL_CTX_load_verify_locations(c, unit_cert("ca.pem").c_str(), nullptr), 1);
  SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
  if (id) {
    EXPECT_EQ(SSL_CTX_use_certificate(c, id->cert.get()), 1);
    EXPECT_EQ(SSL_CTX_use_PrivateKey(c, id->key.get()), 1);
  }
  return ctx;
}

struct Session {
  SslPtr server;
  SslPtr client;
  TlsConnView server_view() const { return TlsConnView::of(server.get()); }
  TlsConnView client_view() const { return TlsConnView::of(client.get()); }
};

// Runs the handshake in memory; both ends finished or a failure.
testing::AssertionResult handshake(SSL_CTX* server_ctx, SSL_CTX* client_ctx, const char* sni,
                                   Session* s) {
  s->server.reset(SSL_new(server_ctx));
  s->client.reset(SSL_new(client_ctx));
  BIO* server_bio = nullptr;
  BIO* client_bio = nullptr;
  if (BIO_new_bio_pair(&server_bio, 0, &client_bio, 0) != 1) {
    return testing::AssertionFailure() << "BIO_new_bio_pair";
  }
  SSL_set_bio(s->server.get(), server_bio, server_bio);
  SSL_set_bio(s->client.get(), client_bio, client_bio);
  SSL_set_accept_state(s->server.get());
  SSL_set_connect_state(s->client.get());
  if (sni) SSL_set_tlsext_host_name(s->client.get(), sni);
  bool server_done = false, client_done = false;
  for (int round = 0; round < 50 && !(server_done && client_done); ++round) {
    for (auto [ssl, done, who] : {std::tuple{s->client.get(), &client_done, "client"},
                                  std::tuple{s->server.get(), &server_done, "server"}}) {
      if (*done) continue;
      int rc = SSL_do_handshake(ssl);
      if (rc == 1) {
        *done = true;
        continue;
      }
      int err = SSL_get_error(ssl, rc);
      if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
        return testing::AssertionFailure() << who << " handshake failed: SSL_get_error " << err
                                           << ", verify result " << SSL_get_verify_result(ssl);
      }
    }
  }
  if (!(server_done && client_done)) return testing::AssertionFailure() << "handshake stalled";
  return testing::AssertionSuccess();
}

// One variable by its script name ("$tls_peer_subject_cn"), copied out.
std::optional<std::string> pv(const TlsConnView& conn, std::string_view name) {
  PvId id{};
  EXPECT_TRUE(cfg::find_pv(name.substr(1), &id)) << name;
  EXPECT_TRUE(is_tls_pv(id)) << name;
  std::string scratch;
  std::optional<std::string_view> v = tls_pv(conn, id, &scratch);
  if (!v) return std::nullopt;
  return std::string(*v);
}

std::vector<std::string> tls_pv_names() {
  std::vector<std::string> out;
  for (std::string_view n : cfg::pv_names()) {
    if (n.starts_with("$tls_")) out.emplace_back(n);
  }
  return out;
}

// ---- tests ----------------------------------------------------------------------------------

TEST(TlsVars, EveryTlsNameMapsToItsOwnId) {
  std::vector<std::string> names = tls_pv_names();
  EXPECT_EQ(names.size(), kTlsPvCount);
  std::set<PvId> ids;
  for (const std::string& n : names) {
    PvId id{};
    ASSERT_TRUE(cfg::find_pv(std::string_view(n).substr(1), &id)) << n;
    EXPECT_TRUE(is_tls_pv(id)) << n;
    EXPECT_EQ(cfg::pv_module(id), "tls_mgm") << n;
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), kTlsPvCount);
  EXPECT_FALSE(is_tls_pv(PvId::kRm));
  EXPECT_FALSE(is_tls_pv(PvId::kUa));
  EXPECT_EQ(cfg::pv_module(PvId::kSi), "");
}

TEST(TlsVars, NotTlsIsNullEverywhere) {
  TlsConnView plain;
  plain.sni = "sip.example.com";
  plain.domain = "edge";
  for (const std::string& n : tls_pv_names()) EXPECT_EQ(pv(plain, n), std::nullopt) << n;
  EXPECT_FALSE(tls_peer_verified(plain));
  std::string scratch;
  EXPECT_EQ(tls_pv(plain, PvId::kRm, &scratch), std::nullopt);
}

TEST(TlsVars, ClientCertificateMatchesTheOpensslCli) {
  SslCtxPtr sctx = server_ctx({});
  Identity alice = load_identity("client.pem", "client-key.pem");
  SslCtxPtr cctx = client_ctx(&alice);
  Session s;
  ASSERT_TRUE(handshake(sctx.get(), cctx.get(), "sip.example.com", &s));
  const TlsConnView srv = s.server_view();

  // The session.
  EXPECT_EQ(pv(srv, "$tls_version"), "TLSv1.3");
  const SSL_CIPHER* cipher = SSL_get_current_cipher(s.server.get());
  ASSERT_NE(cipher, nullptr);
  EXPECT_EQ(pv(srv, "$tls_cipher_info"), SSL_CIPHER_get_name(cipher));
  EXPECT_EQ(pv(srv, "$tls_cipher_bits"), std::to_string(SSL_CIPHER_get_bits(cipher, nullptr)));
  std::optional<std::string> desc = pv(srv, "$tls_description");
  ASSERT_TRUE(desc);
  EXPECT_TRUE(desc->starts_with(SSL_CIPHER_get_name(cipher))) << *desc;
  EXPECT_NE(desc->find("TLSv1.3"), std::string::npos) << *desc;
  EXPECT_NE(desc->back(), '\n');
  EXPECT_EQ(pv(srv, "$tls_sni"), "sip.example.com");  // from the SSL when not given
  EXPECT_EQ(pv(srv, "$tls_domain"), std::nullopt);

  // The peer: client.pem, against the CLI.
  std::map<std::string, std::string> cli = openssl_cli(unit_cert("client.pem"));
  ASSERT_EQ(cli.count("serial"), 1u);
  EXPECT_EQ(pv(srv, "$tls_peer_version"), "2");
  EXPECT_EQ(pv(srv, "$tls_peer_serial"), hex_to_decimal(cli["serial"]));
  EXPECT_EQ(pv(srv, "$tls_peer_fingerprint"), cli["sha256 Fingerprint"]);
  EXPECT_EQ(pv(srv, "$tls_peer_subject"), cli["subject"]);
  EXPECT_EQ(pv(srv, "$tls_peer_subject"), "/CN=alice.example.com");
  EXPECT_EQ(pv(srv, "$tls_peer_issuer"), cli["issuer"]);
  EXPECT_EQ(pv(srv, "$tls_peer_notBefore"), cli["notBefore"]);
  EXPECT_EQ(pv(srv, "$tls_peer_notAfter"), cli["notAfter"]);
  EXPECT_EQ(pv(srv, "$tls_peer_san_hostname"), first_san(cli["san"], "DNS"));
  EXPECT_EQ(pv(srv, "$tls_peer_san_hostname"), "alice.example.com");
  EXPECT_EQ(pv(srv, "$tls_peer_subject_cn"), "alice.example.com");
  EXPECT_EQ(pv(srv, "$tls_peer_issuer_cn"), "sipsd test CA");
  for (const char* absent :
       {"$tls_peer_subject_locality", "$tls_peer_subject_country", "$tls_peer_subject_state",
        "$tls_peer_subject_organization", "$tls_peer_subject_unit", "$tls_peer_subject_serial",
        "$tls_peer_issuer_organization", "$tls_peer_san_email", "$tls_peer_san_uri",
        "$tls_peer_san_ip"}) {
    EXPECT_EQ(pv(srv, absent), std::nullopt) << absent;
  }
  EXPECT_EQ(pv(srv, "$tls_peer_verified"), "1");
  EXPECT_TRUE(tls_peer_verified(srv));
  EXPECT_EQ(pv(srv, "$tls_peer_revoked"), "0");
  EXPECT_EQ(pv(srv, "$tls_peer_expired"), "0");
  EXPECT_EQ(pv(srv, "$tls_peer_selfsigned"), "0");

  // Ours: cert.pem.
  std::map<std::string, std::string> mine = openssl_cli(unit_cert("cert.pem"));
  EXPECT_EQ(pv(srv, "$tls_my_version"), "2");
  EXPECT_EQ(pv(srv, "$tls_my_serial"), hex_to_decimal(mine["serial"]));
  EXPECT_EQ(pv(srv, "$tls_my_subject"), mine["subject"]);
  EXPECT_EQ(pv(srv, "$tls_my_issuer"), mine["issuer"]);
  EXPECT_EQ(pv(srv, "$tls_my_subject_cn"), "localhost");
  EXPECT_EQ(pv(srv, "$tls_my_issuer_cn"), "sipsd test CA");
  EXPECT_EQ(pv(srv, "$tls_my_san_hostname"), first_san(mine["san"], "DNS"));
  EXPECT_EQ(pv(srv, "$tls_my_san_ip"), "127.0.0.1");
  EXPECT_EQ(pv(srv, "$tls_my_san_ip"), first_san(mine["san"], "IP Address"));
  EXPECT_EQ(pv(srv, "$tls_my_san_email"), std::nullopt);

  // The same session from the client's side: the peer is the server.
  const TlsConnView cli_side = s.client_view();
  EXPECT_EQ(pv(cli_side, "$tls_peer_subject_cn"), "localhost");
  EXPECT_EQ(pv(cli_side, "$tls_peer_fingerprint"), mine["sha256 Fingerprint"]);
  EXPECT_EQ(pv(cli_side, "$tls_peer_verified"), "1");
  EXPECT_EQ(pv(cli_side, "$tls_my_subject_cn"), "alice.example.com");
  EXPECT_EQ(pv(cli_side, "$tls_my_serial"), hex_to_decimal(cli["serial"]));
  EXPECT_EQ(pv(cli_side, "$tls_sni"), "sip.example.com");  // the name it sent
}

TEST(TlsVars, SniAndDomainFromTheConnection) {
  SslCtxPtr sctx = server_ctx({});
  Identity alice = load_identity("client.pem", "client-key.pem");
  SslCtxPtr cctx = client_ctx(&alice);
  Session s;
  ASSERT_TRUE(handshake(sctx.get(), cctx.get(), "sip.example.com", &s));
  TlsConnView conn = TlsConnView::of(s.server.get());
  conn.sni = "Sip.Example.COM";  // as the ClientHello hook saw it
  conn.domain = "edge";
  EXPECT_EQ(pv(conn, "$tls_sni"), "Sip.Example.COM");
  EXPECT_EQ(pv(conn, "$tls_domain"), "edge");
}

TEST(TlsVars, NoClientCertificate) {
  SslCtxPtr sctx = server_ctx({});
  SslCtxPtr cctx = client_ctx(nullptr);
  Session s;
  ASSERT_TRUE(handshake(sctx.get(), cctx.get(), nullptr, &s));
  const TlsConnView srv = s.server_view();
  for (const std::string& n : tls_pv_names()) {
    if (n.starts_with("$tls_peer_") && n != "$tls_peer_verified" && n != "$tls_peer_revoked" &&
        n != "$tls_peer_expired" && n != "$tls_peer_selfsigned") {
      EXPECT_EQ(pv(srv, n), std::nullopt) << n;
    }
  }
  EXPECT_EQ(pv(srv, "$tls_peer_verified"), "0");
  EXPECT_FALSE(tls_peer_verified(srv));
  EXPECT_EQ(pv(srv, "$tls_peer_revoked"), "0");
  EXPECT_EQ(pv(srv, "$tls_peer_expired"), "0");
  EXPECT_EQ(pv(srv, "$tls_peer_selfsigned"), "0");
  EXPECT_EQ(pv(srv, "$tls_sni"), std::nullopt);  // the client sent none
  EXPECT_EQ(pv(srv, "$tls_version"), "TLSv1.3");
  EXPECT_EQ(pv(srv, "$tls_my_subject_cn"), "localhost");
  // The client has no certificate of its own.
  EXPECT_EQ(pv(s.client_view(), "$tls_my_subject"), std::nullopt);
  EXPECT_EQ(pv(s.client_view(), "$tls_my_serial"), std::nullopt);
}

TEST(TlsVars, FullDistinguishedNameSansAndLongSerial) {
  Identity ca = load_identity("ca.pem", "ca-key.pem");
  CertSpec spec;
  spec.subject = {{"C", "AT"},
                  {"ST", "Vienna"},
                  {"L", "Wien"},
                  {"O", "Example Org"},
                  {"OU", "Voice"},
                  {"OU", "Edge"},
                  {"CN", "rich.example.com"},
                  {"serialNumber", "A-123"}};
  // 20 bytes: far more than a long holds (OpenSIPS would truncate it).
  spec.serial_hex = "7FEDCBA9876543210FEDCBA9876543210FEDCBA9";
  spec.san =
      "email:rich@example.com, DNS:rich.example.com, DNS:second.example.com, "
      "URI:sip:rich@example.com, email:other@example.com, IP:2001:db8::7, IP:192.0.2.7";
  Identity rich = make_cert(spec, &ca);
  TempDir dir;
  std::map<std::string, std::string> cli = openssl_cli(dir.write("rich.pem", rich.cert.get()));

  SslCtxPtr sctx = server_ctx({});
  SslCtxPtr cctx = client_ctx(&rich);
  Session s;
  ASSERT_TRUE(handshake(sctx.get(), cctx.get(), "sip.example.com", &s));
  const TlsConnView srv = s.server_view();

  EXPECT_EQ(pv(srv, "$tls_peer_serial"), hex_to_decimal(cli["serial"]));
  EXPECT_EQ(pv(srv, "$tls_peer_serial"), "730344845988415097185401048072226831495695551401");
  EXPECT_EQ(pv(srv, "$tls_peer_fingerprint"), cli["sha256 Fingerprint"]);
  EXPECT_EQ(pv(srv, "$tls_peer_subject"), cli["subject"]);
  EXPECT_EQ(pv(srv, "$tls_peer_subject"),
            "/C=AT/ST=Vienna/L=Wien/O=Example Org/OU=Voice/OU=Edge/CN=rich.example.com/"
            "serialNumber=A-123");
  EXPECT_EQ(pv(srv, "$tls_peer_subject_cn"), "rich.example.com");
  EXPECT_EQ(pv(srv, "$tls_peer_subject_country"), "AT");
  EXPECT_EQ(pv(srv, "$tls_peer_subject_state"), "Vienna");
  EXPECT_EQ(pv(srv, "$tls_peer_subject_locality"), "Wien");
  EXPECT_EQ(pv(srv, "$tls_peer_subject_organization"), "Example Org");
  EXPECT_EQ(pv(srv, "$tls_peer_subject_unit"), "Voice");  // the first one
  EXPECT_EQ(pv(srv, "$tls_peer_subject_serial"), "A-123");
  EXPECT_EQ(pv(srv, "$tls_peer_san_email"), first_san(cli["san"], "email"));
  EXPECT_EQ(pv(srv, "$tls_peer_san_email"), "rich@example.com");
  EXPECT_EQ(pv(srv, "$tls_peer_san_hostname"), first_san(cli["san"], "DNS"));
  EXPECT_EQ(pv(srv, "$tls_peer_san_uri"), first_san(cli["san"], "URI"));
  EXPECT_EQ(pv(srv, "$tls_peer_san_uri"), "sip:rich@example.com");
  EXPECT_EQ(pv(srv, "$tls_peer_san_ip"), "2001:db8::7");  // the first one, RFC 5952 form
  EXPECT_EQ(pv(srv, "$tls_peer_notBefore"), cli["notBefore"]);
  EXPECT_EQ(pv(srv, "$tls_peer_notAfter"), cli["notAfter"]);
  EXPECT_EQ(pv(srv, "$tls_peer_verified"), "1");
}

TEST(TlsVars, SelfSignedClientCertificate) {
  CertSpec spec;
  spec.subject = {{"CN", "Zo\xC3\xAB's phone"}, {"O", "M\xC3\xBCller GmbH"}};  // UTF-8
  spec.serial_hex = "2A";
  Identity self = make_cert(spec, nullptr);
  SslCtxPtr sctx = server_ctx({.accept_any = true});  // as with verification off
  SslCtxPtr cctx = client_ctx(&self);
  Session s;
  ASSERT_TRUE(handshake(sctx.get(), cctx.get(), "sip.example.com", &s));
  const TlsConnView srv = s.server_view();
  EXPECT_EQ(SSL_get_verify_result(s.server.get()), X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
  EXPECT_EQ(pv(srv, "$tls_peer_selfsigned"), "1");
  EXPECT_EQ(pv(srv, "$tls_peer_verified"), "0");
  EXPECT_FALSE(tls_peer_verified(srv));
  EXPECT_EQ(pv(srv, "$tls_peer_expired"), "0");
  EXPECT_EQ(pv(srv, "$tls_peer_revoked"), "0");
  EXPECT_EQ(pv(srv, "$tls_peer_serial"), "42");
  EXPECT_EQ(pv(srv, "$tls_peer_subject_cn"), "Zo\xC3\xAB's phone");
  EXPECT_EQ(pv(srv, "$tls_peer_issuer_organization"), "M\xC3\xBCller GmbH");
  EXPECT_EQ(pv(srv, "$tls_peer_san_hostname"), std::nullopt);  // no SAN extension at all
}

TEST(TlsVars, ExpiredClientCertificate) {
  SslCtxPtr sctx = server_ctx({.accept_any = true});
  Identity bob = load_identity("client-expired.pem", "client-expired-key.pem");
  SslCtxPtr cctx = client_ctx(&bob);
  Session s;
  ASSERT_TRUE(handshake(sctx.get(), cctx.get(), nullptr, &s));
  const TlsConnView srv = s.server_view();
  EXPECT_EQ(pv(srv, "$tls_peer_expired"), "1");
  EXPECT_EQ(pv(srv, "$tls_peer_verified"), "0");
  EXPECT_EQ(pv(srv, "$tls_peer_selfsigned"), "0");
  EXPECT_EQ(pv(srv, "$tls_peer_subject_cn"), "bob.example.com");
  std::map<std::string, std::string> cli = openssl_cli(unit_cert("client-expired.pem"));
  EXPECT_EQ(pv(srv, "$tls_peer_notAfter"), cli["notAfter"]);
}

TEST(TlsVars, RevokedClientCertificate) {
  SslCtxPtr sctx = server_ctx({.accept_any = true, .crl = true});
  Identity mallory = load_identity("client-revoked.pem", "client-revoked-key.pem");
  SslCtxPtr cctx = client_ctx(&mallory);
  Session s;
  ASSERT_TRUE(handshake(sctx.get(), cctx.get(), nullptr, &s));
  const TlsConnView srv = s.server_view();
  EXPECT_EQ(pv(srv, "$tls_peer_revoked"), "1");
  EXPECT_EQ(pv(srv, "$tls_peer_verified"), "0");
  EXPECT_EQ(pv(srv, "$tls_peer_expired"), "0");
  EXPECT_EQ(pv(srv, "$tls_peer_subject_cn"), "mallory.example.com");

  // Without the CRL the same certificate verifies.
  SslCtxPtr plain = server_ctx({});
  Session s2;
  ASSERT_TRUE(handshake(plain.get(), cctx.get(), nullptr, &s2));
  EXPECT_EQ(pv(s2.server_view(), "$tls_peer_revoked"), "0");
  EXPECT_EQ(pv(s2.server_view(), "$tls_peer_verified"), "1");
}

TEST(TlsVars, Tls12Session) {
  SslCtxPtr sctx = server_ctx({.max_version = TLS1_2_VERSION});
  Identity alice = load_identity("client.pem", "client-key.pem");
  SslCtxPtr cctx = client_ctx(&alice);
  Session s;
  ASSERT_TRUE(handshake(sctx.get(), cctx.get(), "sip.example.com", &s));
  const TlsConnView srv = s.server_view();
  EXPECT_EQ(pv(srv, "$tls_version"), "TLSv1.2");
  std::optional<std::string> cipher = pv(srv, "$tls_cipher_info");
  ASSERT_TRUE(cipher);
  EXPECT_TRUE(cipher->starts_with("ECDHE-ECDSA-")) << *cipher;  // cert.pem is ECDSA
  EXPECT_EQ(pv(srv, "$tls_peer_verified"), "1");
  EXPECT_EQ(pv(srv, "$tls_sni"), "sip.example.com");
}

TEST(TlsVars, CacheKeepsEveryValueForTheWholeRun) {
  SslCtxPtr sctx = server_ctx({});
  Identity alice = load_identity("client.pem", "client-key.pem");
  SslCtxPtr cctx = client_ctx(&alice);
  Session s;
  ASSERT_TRUE(handshake(sctx.get(), cctx.get(), "sip.example.com", &s));
  TlsPvCache cache(s.server_view());
  std::optional<std::string_view> a = cache.get(PvId::kTlsPeerSubjectCn);
  std::optional<std::string_view> b = cache.get(PvId::kTlsMySubjectCn);
  std::optional<std::string_view> c = cache.get(PvId::kTlsPeerSerial);
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(*a, "alice.example.com");  // still valid after the others were computed
  EXPECT_EQ(*b, "localhost");
  EXPECT_EQ(cache.get(PvId::kTlsPeerSubjectCn)->data(), a->data());  // computed once
  EXPECT_EQ(cache.get(PvId::kTlsPeerSanEmail), std::nullopt);
  EXPECT_EQ(cache.get(PvId::kRm), std::nullopt);  // not a $tls_* variable
  cache.reset(TlsConnView{});
  EXPECT_EQ(cache.get(PvId::kTlsPeerSubjectCn), std::nullopt);
  TlsPvCache empty;
  EXPECT_EQ(empty.get(PvId::kTlsVersion), std::nullopt);
}

// How a worker's ScriptEnv answers the $tls_* ids and is_peer_verified(): through the cache.
class TlsEnv : public ScriptEnv {
 public:
  explicit TlsEnv(const TlsConnView& conn) : tls_(conn) {}
  ScriptValue pv_get(const PvRef& ref) override {
    if (is_tls_pv(ref.id)) {
      std::optional<std::string_view> v = tls_.get(ref.id);
      return v ? ScriptValue::of(*v) : ScriptValue::null();
    }
    if (ref.id == PvId::kRm) return ScriptValue::of(std::string_view("INVITE"));
    return ScriptValue::null();
  }
  bool pv_set(const PvRef&, const ScriptValue&) override { return false; }
  int call(FuncId, std::span<const ScriptValue>) override { return 1; }
  void xlog(LogLevel, std::string_view text) override { logs.emplace_back(text); }
  AvpStore& avps() override { return avps_; }
  std::vector<std::string> logs;

  void run(const Script& script) {
    ScriptVars vars;
    script.run(script.main_route(), *this, vars);
  }

 private:
  TlsPvCache tls_;
  AvpStore avps_;
};

TEST(TlsVars, ScriptSeesTheConnection) {
  Result<Config> cfg = load_config_text(
      "loadmodule \"tls_mgm.so\"\nloadmodule \"proto_tls.so\"\nsocket = tls:127.0.0.1:5061\n"
      "route {\n"
      "  if (is_peer_verified()) xlog(\"L_ERR\", \"verified $tls_peer_subject_cn via $tls_sni\");\n"
      "  if ($tls_peer_verified == 1 && $tls_peer_issuer_cn == \"sipsd test CA\") xlog(\"L_ERR\", "
      "\"num\");\n"
      "  if ($tls_peer_subject_cn != $tls_my_subject_cn) xlog(\"L_ERR\", \"differ\");\n"
      "  if ($tls_peer_san_email == NULL) xlog(\"L_ERR\", \"no email\");\n"
      "}\n",
      "t.cfg");
  ASSERT_TRUE(cfg.ok()) << cfg.message();
  SslCtxPtr sctx = server_ctx({});
  Identity alice = load_identity("client.pem", "client-key.pem");
  SslCtxPtr cctx = client_ctx(&alice);
  Session s;
  ASSERT_TRUE(handshake(sctx.get(), cctx.get(), "sip.example.com", &s));
  TlsEnv verified(s.server_view());
  verified.run(*cfg->script);
  EXPECT_EQ(verified.logs, (std::vector<std::string>{"verified alice.example.com via "
                                                     "sip.example.com",
                                                     "num", "differ", "no email"}));

  SslCtxPtr anonymous = client_ctx(nullptr);
  Session s2;
  ASSERT_TRUE(handshake(sctx.get(), anonymous.get(), nullptr, &s2));
  TlsEnv unverified(s2.server_view());
  unverified.run(*cfg->script);
  EXPECT_EQ(unverified.logs, (std::vector<std::string>{"differ", "no email"}));

  TlsEnv plain(TlsConnView{});
  plain.run(*cfg->script);
  EXPECT_EQ(plain.logs, (std::vector<std::string>{"no email"}));  // NULL != NULL is false
}

}  // namespace
}  // namespace sipsd
