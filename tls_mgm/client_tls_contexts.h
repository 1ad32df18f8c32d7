// A worker's client SSL_CTXs, one per client domain, and the choice of domain for an outbound
// connection: by name (OpenSIPS's client_tls_domain_avp), else by destination address and SIP
// domain (client_sip_domain_avp), as tls_mgm/domain_matcher.h decides.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"
#include "tls_mgm/domain_matcher.h"
#include "tls_mgm/openssl_ptr.h"
#include "tls_mgm/tls_snapshot.pb.h"

namespace sipsd {

class ClientTlsContexts {
 public:
  static Result<std::shared_ptr<const ClientTlsContexts>> build(const tls::TlsSnapshot& snap);

  size_t size() const { return domains_.size(); }
  // The domain named `name` when given, else the one for (dest_key, sip_domain); -1 if none.
  int select(std::string_view name, std::string_view dest_key, std::string_view sip_domain) const;
  SSL_CTX* ctx(int d) const { return domains_[static_cast<size_t>(d)].ctx.get(); }
  const std::string& name(int d) const { return domains_[static_cast<size_t>(d)].name; }
  // Whether the server's certificate must match the name we connect to (verify_cert).
  bool checks_peer(int d) const { return domains_[static_cast<size_t>(d)].verify; }

 private:
  struct Domain {
    std::string name;
    SslCtxPtr ctx;
    bool verify;
  };
  std::vector<Domain> domains_;
  std::unique_ptr<ClientDomainMatcher> matcher_;
};

}  // namespace sipsd
