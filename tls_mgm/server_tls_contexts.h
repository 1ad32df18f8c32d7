// A worker's own server SSL_CTXs, one per server domain, built from the published snapshot
// (OpenSSL objects stay in the heap of the process that made them), and the choice of domain
// for each connection: by the local address when the connection arrives, then by the SNI in
// its ClientHello (tls_mgm/domain_matcher.h). The chosen domain's certificate, verify and
// require settings, versions and cipher lists apply. Connections hold a shared_ptr to the set
// they started with, so a newer generation replaces it without disturbing them.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"
#include "tls_mgm/domain_matcher.h"
#include "tls_mgm/openssl_ptr.h"
#include "tls_mgm/ticket_keys.h"
#include "tls_mgm/tls_snapshot.pb.h"

namespace sipsd {

class ServerTlsContexts;

// What the ClientHello decided for one connection; kept by the connection, reachable from its
// SSL while the handshake runs.
struct TlsSelection {
  const ServerTlsContexts* set = nullptr;
  const ServerCandidates* candidates = nullptr;
  int domain = -1;       // the domain in use
  bool refused = false;  // no domain matched the SNI: the handshake was refused
  bool bad_sni = false;  // the server_name extension was malformed
  uint16_t sni_len = 0;
  char sni[kMaxSniLength + 1] = {};  // as the client sent it ("" = no SNI)
  std::string_view sni_view() const { return std::string_view(sni, sni_len); }
};

class ServerTlsContexts {
 public:
  // `tickets` (may be null: per-context ticket keys) seals and opens session tickets; it must
  // outlive the set. `keylog` (may be null) becomes every context's key-log callback (the
  // record hand-off takes the traffic secrets from it). Fails when a context cannot be built
  // or the match rules conflict.
  static Result<std::shared_ptr<const ServerTlsContexts>> build(
      const tls::TlsSnapshot& snap, const TicketKeyStore* tickets,
      SSL_CTX_keylog_cb_func keylog = nullptr);

  uint64_t generation() const { return generation_; }
  bool empty() const { return domains_.empty(); }
  size_t size() const { return domains_.size(); }
  const std::string& domain_name(int d) const { return domains_[static_cast<size_t>(d)].name; }

  // A new SSL for a connection accepted on the canonical local address `local_key`, starting
  // in the domain a client without SNI would get, with `sel` (owned by the connection) filled
  // in and attached; the ClientHello may switch it to another domain. Null with *error set
  // when no domain serves that address.
  SslPtr new_ssl(std::string_view local_key, TlsSelection* sel, std::string* error) const;

 private:
  struct Domain {
    std::string name;
    SslCtxPtr ctx;
    std::string ciphers_list;  // effective_cipher_list(); re-applied on an SNI switch
    std::string ciphersuites;
    std::string groups;
  };
  friend int tls_client_hello_cb(SSL* ssl, int* alert, void* arg);
  // Makes `ssl` use domain d (ClientHello time).
  void switch_domain(SSL* ssl, int from, int to) const;

  uint64_t generation_ = 0;
  std::vector<Domain> domains_;
  std::unique_ptr<ServerDomainMatcher> matcher_;
};

}  // namespace sipsd
