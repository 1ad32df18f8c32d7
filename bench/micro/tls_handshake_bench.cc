// Full TLS handshakes in one process: an OpenSSL client and a server SSL_CTX built exactly as a
// worker builds it (tls_mgm/ssl_ctx_builder.h, with the shared session-ticket keys of
// tls_mgm/ticket_keys.h installed), over a non-blocking AF_UNIX socketpair, both ends driven
// alternately on this thread until both are done: no scheduler or network noise.
//
// Server certificates: a self-signed ECDSA P-256 or RSA-2048 certificate generated at start-up
// with the OpenSSL 3 API (once per key type). Protocol pinned to TLS 1.2 or TLS 1.3, default
// groups (X25519) and cipher preference. "Resumed" offers a session saved from an earlier full
// handshake (a stateless ticket, sealed with the installed keys: TLS 1.3 PSK with (EC)DHE, or
// TLS 1.2 ticket resumption).
//
// Each iteration is one complete handshake with a fresh socketpair and fresh SSL objects; the
// time is the client's and the server's work together (the client does not verify the
// certificate chain, but does check the server's signature). items_per_second = handshakes/s.
#include <benchmark/benchmark.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>

#include "core/base/unique_fd.h"
#include "tls_mgm/openssl_ptr.h"
#include "tls_mgm/ssl_ctx_builder.h"
#include "tls_mgm/ticket_keys.h"
#include "tls_mgm/tls_snapshot.pb.h"

namespace sipsd::bench {
namespace {

using X509NamePtr = std::unique_ptr<X509_NAME, OpenSslDeleter<&X509_NAME_free>>;
using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, OpenSslDeleter<&X509_EXTENSION_free>>;

constexpr const char* kServerName = "sip.example.com";

enum class KeyType { kEcdsaP256, kRsa2048 };

// A self-signed server certificate and its key, PEM-encoded.
struct ServerIdentity {
  std::string certificate_pem;
  std::string private_key_pem;
  std::string error;  // non-empty when generation failed
};

std::string drain_openssl_errors(const char* what) {
  std::string out = what;
  for (int guard = 0; guard < 16; ++guard) {
    unsigned long e = ERR_get_error();
    if (e == 0) break;
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out += ": ";
    out += buf;
  }
  return out;
}

std::string bio_contents(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

ServerIdentity generate_identity(KeyType type) {
  ServerIdentity id;
  EvpPkeyPtr key(type == KeyType::kEcdsaP256
                     ? EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")
                     : EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048)));
  X509Ptr cert(X509_new());
  if (!key || !cert) {
    id.error = drain_openssl_errors("key generation");
    return id;
  }
  X509NamePtr name(X509_NAME_new());
  X509ExtensionPtr san(
      X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, "DNS:sip.example.com"));
  bool ok = name && san && X509_set_version(cert.get(), X509_VERSION_3) == 1 &&
            ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1) == 1 &&
            X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) != nullptr &&
            X509_gmtime_adj(X509_getm_notAfter(cert.get()), 7 * 24 * 3600) != nullptr &&
            X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_ASC,
                                       reinterpret_cast<const unsigned char*>(kServerName), -1, -1,
                                       0) == 1 &&
            X509_set_subject_name(cert.get(), name.get()) == 1 &&
            X509_set_issuer_name(cert.get(), name.get()) == 1 &&
            X509_add_ext(cert.get(), san.get(), -1) == 1 &&
            X509_set_pubkey(cert.get(), key.get()) == 1 &&
            X509_sign(cert.get(), key.get(), EVP_sha256()) > 0;
  BioPtr cert_bio(BIO_new(BIO_s_mem()));
  BioPtr key_bio(BIO_new(BIO_s_mem()));
  ok = ok && cert_bio && key_bio && PEM_write_bio_X509(cert_bio.get(), cert.get()) == 1 &&
       PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) ==
           1;
  if (!ok) {
    id.error = drain_openssl_errors("self-signed certificate");
    return id;
  }
  id.certificate_pem = bio_contents(cert_bio.get());
  id.private_key_pem = bio_contents(key_bio.get());
  return id;
}

// Generated on first use, then shared (read-only) by every benchmark of that key type.
const ServerIdentity& identity(KeyType type) {
  if (type == KeyType::kEcdsaP256) {
    static const ServerIdentity ec = generate_identity(KeyType::kEcdsaP256);
    return ec;
  }
  static const ServerIdentity rsa = generate_identity(KeyType::kRsa2048);
  return rsa;
}

// Both ends' contexts. The server's ticket callback reads the key store, which therefore lives
// as long as the context (members are destroyed in reverse order: contexts first).
class HandshakeSetup {
 public:
  HandshakeSetup() : store_(slot_) {}
  HandshakeSetup(const HandshakeSetup&) = delete;
  HandshakeSetup& operator=(const HandshakeSetup&) = delete;

  // Empty string on success, else why not.
  std::string init(KeyType type, int version) {
    const ServerIdentity& id = identity(type);
    if (!id.error.empty()) return id.error;

    tls::TlsDomain domain;
    domain.set_name("bench");
    domain.set_type(tls::DOMAIN_TYPE_SERVER);
    domain.set_certificate_pem(id.certificate_pem);
    domain.set_private_key_pem(id.private_key_pem);
    domain.set_min_version(version);
    domain.set_max_version(version);
    Result<SslCtxPtr> server = build_server_ctx(domain);
    if (!server.ok()) return server.message();
    server_ = std::move(server).value();

    Result<TicketKeySource> source = TicketKeySource::create("", 43200);
    if (!source.ok()) return source.message();
    Result<TicketKey> key = source->key_for_period(1);
    if (!key.ok()) return key.message();
    store_.publish(*key, nullptr);
    install_ticket_keys(server_.get(), &store_);

    client_.reset(SSL_CTX_new(TLS_client_method()));
    if (!client_ || SSL_CTX_set_min_proto_version(client_.get(), version) != 1 ||
        SSL_CTX_set_max_proto_version(client_.get(), version) != 1)
      return drain_openssl_errors("client SSL_CTX");
    SSL_CTX_set_verify(client_.get(), SSL_VERIFY_NONE, nullptr);
    return "";
  }

  SSL_CTX* server() const { return server_.get(); }
  SSL_CTX* client() const { return client_.get(); }

 private:
  TicketKeySlot slot_{};
  TicketKeyStore store_;
  SslCtxPtr server_;
  SslCtxPtr client_;
};

// One connection: a socketpair and an SSL object on each end.
struct Connection {
  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  // Freed as if closed cleanly: OpenSSL marks the session of a connection freed without a
  // shutdown as not resumable (ssl_clear_bad_session), and the client's may be the saved one.
  ~Connection() {
    for (SSL* ssl : {client.get(), server.get()}) {
      if (ssl != nullptr) SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    }
  }

  UniqueFd client_fd, server_fd;
  SslPtr client, server;
};

// Handshake rounds (each end moves at most one flight per round) before giving up.
constexpr int kMaxRounds = 32;

// Runs a complete handshake offering `session` (may be null). Empty string on success.
std::string handshake(const HandshakeSetup& setup, SSL_SESSION* session, Connection* c) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0)
    return "socketpair failed";
  c->client_fd.reset(fds[0]);
  c->server_fd.reset(fds[1]);
  c->client.reset(SSL_new(setup.client()));
  c->server.reset(SSL_new(setup.server()));
  if (!c->client || !c->server || SSL_set_fd(c->client.get(), fds[0]) != 1 ||
      SSL_set_fd(c->server.get(), fds[1]) != 1 ||
      SSL_set_tlsext_host_name(c->client.get(), kServerName) != 1 ||
      (session != nullptr && SSL_set_session(c->client.get(), session) != 1))
    return drain_openssl_errors("SSL setup");
  SSL_set_connect_state(c->client.get());
  SSL_set_accept_state(c->server.get());

  bool client_done = false, server_done = false;
  for (int round = 0; round < kMaxRounds && !(client_done && server_done); ++round) {
    for (SSL* ssl : {c->client.get(), c->server.get()}) {
      bool& done = ssl == c->client.get() ? client_done : server_done;
      if (done) continue;
      int r = SSL_do_handshake(ssl);
      if (r == 1) {
        done = true;
        continue;
      }
      int err = SSL_get_error(ssl, r);
      if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
        return drain_openssl_errors(ssl == c->client.get() ? "client handshake"
                                                           : "server handshake");
    }
  }
  return client_done && server_done ? "" : "handshake did not finish";
}

// A resumable session from one full handshake. TLS 1.3 tickets arrive after the handshake, so
// the client reads until the socket is drained (SSL_read processes the NewSessionTicket
// messages and then wants more data).
SslSessionPtr saved_session(const HandshakeSetup& setup, std::string* error) {
  Connection c;
  *error = handshake(setup, nullptr, &c);
  if (!error->empty()) return nullptr;
  char buf[256];
  for (int guard = 0; guard < 8; ++guard) {
    if (SSL_read(c.client.get(), buf, sizeof buf) <= 0) break;  // no application data is sent
  }
  ERR_clear_error();
  SslSessionPtr session(SSL_get1_session(c.client.get()));
  if (!session || SSL_SESSION_is_resumable(session.get()) != 1) {
    *error = "the full handshake left no resumable session";
    return nullptr;
  }
  return session;
}

void BM_TlsHandshake(benchmark::State& state, KeyType type, int version, bool resume) {
  HandshakeSetup setup;
  if (std::string error = setup.init(type, version); !error.empty()) {
    state.SkipWithError(error.c_str());
    return;
  }
  SslSessionPtr session;
  if (resume) {
    std::string error;
    session = saved_session(setup, &error);
    if (!session) {
      state.SkipWithError(error.c_str());
      return;
    }
  }
  int64_t not_resumed = 0;
  for (auto _ : state) {
    Connection c;
    std::string error = handshake(setup, session.get(), &c);
    if (!error.empty()) {
      state.SkipWithError(error.c_str());
      break;
    }
    not_resumed += SSL_session_reused(c.server.get()) != (resume ? 1 : 0);
    benchmark::DoNotOptimize(c.server.get());
  }
  if (not_resumed != 0) state.SkipWithError("a handshake did not resume as expected");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

BENCHMARK_CAPTURE(BM_TlsHandshake, Ecdsa_P256_TLS13_Full, KeyType::kEcdsaP256, TLS1_3_VERSION,
                  false);
BENCHMARK_CAPTURE(BM_TlsHandshake, Ecdsa_P256_TLS13_Resumed, KeyType::kEcdsaP256, TLS1_3_VERSION,
                  true);
BENCHMARK_CAPTURE(BM_TlsHandshake, Ecdsa_P256_TLS12_Full, KeyType::kEcdsaP256, TLS1_2_VERSION,
                  false);
BENCHMARK_CAPTURE(BM_TlsHandshake, Ecdsa_P256_TLS12_Resumed, KeyType::kEcdsaP256, TLS1_2_VERSION,
                  true);
BENCHMARK_CAPTURE(BM_TlsHandshake, Rsa2048_TLS13_Full, KeyType::kRsa2048, TLS1_3_VERSION, false);
BENCHMARK_CAPTURE(BM_TlsHandshake, Rsa2048_TLS13_Resumed, KeyType::kRsa2048, TLS1_3_VERSION, true);
BENCHMARK_CAPTURE(BM_TlsHandshake, Rsa2048_TLS12_Full, KeyType::kRsa2048, TLS1_2_VERSION, false);
BENCHMARK_CAPTURE(BM_TlsHandshake, Rsa2048_TLS12_Resumed, KeyType::kRsa2048, TLS1_2_VERSION, true);

}  // namespace
}  // namespace sipsd::bench
