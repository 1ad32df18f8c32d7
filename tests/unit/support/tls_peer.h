// In-process TLS for unit tests: server domains from the test PKI (test_certs.h), a client
// made with plain OpenSSL (nothing of sipsd on that side), and a connected non-blocking
// socketpair to run them over.
#pragma once

#include <fcntl.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <fstream>
#include <initializer_list>
#include <iterator>
#include <string>

#include "core/base/unique_fd.h"
#include "tests/unit/support/test_certs.h"
#include "tls_mgm/openssl_ptr.h"
#include "tls_mgm/tls_snapshot.pb.h"

namespace sipsd::test {

inline std::string read_cert_file(const std::string& name) {
  std::ifstream in(unit_cert(name));
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A server domain `name` presenting cert/key (test PKI names) to the SIP domains given, on
// every local address ("*"); verify_cert and require_cert off, as the tls_mgm defaults
// for a domain without a ca_list.
inline tls::TlsDomain server_domain(const std::string& name, const std::string& cert,
                                    const std::string& key,
                                    std::initializer_list<const char*> sip_domains) {
  tls::TlsDomain d;
  d.set_name(name);
  d.set_type(tls::DOMAIN_TYPE_SERVER);
  d.add_match_ip_address("*");
  for (const char* s : sip_domains) d.add_match_sip_domain(s);
  d.set_certificate_pem(read_cert_file(cert));
  d.set_certificate_path(unit_cert(cert));
  d.set_private_key_pem(read_cert_file(key));
  d.set_private_key_path(unit_cert(key));
  return d;
}

// The domain asks for a client certificate and verifies it against ca.pem; `require`: a client
// without one is refused.
inline void verify_clients(tls::TlsDomain* d, bool require) {
  d->set_ca_list_pem(read_cert_file("ca.pem"));
  d->set_ca_list_path(unit_cert("ca.pem"));
  d->set_verify_cert(true);
  d->set_require_cert(require);
}

// A plain OpenSSL client context trusting ca.pem (the chain is checked, not the name), with a
// client certificate when `cert` is given.
inline SslCtxPtr plain_client_ctx(const char* cert = nullptr, const char* key = nullptr) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return nullptr;
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  if (SSL_CTX_load_verify_locations(ctx.get(), unit_cert("ca.pem").c_str(), nullptr) != 1)
    return nullptr;
  if (cert != nullptr &&
      (SSL_CTX_use_certificate_chain_file(ctx.get(), unit_cert(cert).c_str()) != 1 ||
       SSL_CTX_use_PrivateKey_file(ctx.get(), unit_cert(key).c_str(), SSL_FILETYPE_PEM) != 1))
    return nullptr;
  return ctx;
}

// A client SSL on `fd`, in connect state, sending `sni` unless it is empty.
inline SslPtr plain_client(SSL_CTX* ctx, int fd, const std::string& sni) {
  SslPtr ssl(SSL_new(ctx));
  if (!ssl || SSL_set_fd(ssl.get(), fd) != 1) return nullptr;
  if (!sni.empty()) SSL_set_tlsext_host_name(ssl.get(), sni.c_str());
  SSL_set_connect_state(ssl.get());
  return ssl;
}

struct SocketPair {
  UniqueFd server;
  UniqueFd client;
};

// A connected AF_UNIX stream pair, both ends non-blocking (as sipsd's sockets are).
inline SocketPair socket_pair() {
  int fds[2] = {-1, -1};
  SocketPair p;
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) return p;
  p.server.reset(fds[0]);
  p.client.reset(fds[1]);
  return p;
}

// The common name of the certificate `ssl`'s peer presented; "" when none.
inline std::string peer_common_name(SSL* ssl) {
  X509* peer = SSL_get0_peer_certificate(ssl);
  if (peer == nullptr) return "";
  char cn[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof cn);
  return cn;
}

}  // namespace sipsd::test
