// tls_mgm's modparams turned into domain descriptions: OpenSIPS's "[domain]value" syntax, a
// domain declared (server_domain / client_domain) before its attributes, OpenSIPS defaults.
// Nothing is read from disk here; tls_loader.h does that.
#pragma once

#include <string>
#include <vector>

#include "core/config.h"
#include "core/result.h"

namespace sipsd {

enum class TlsDomainKind { kServer, kClient };

// A path-valued attribute and where the cfg set it (for errors that name file:line:col).
struct CfgPath {
  std::string path;  // resolved (absolute or relative to the current directory)
  CfgPos pos;
  bool set() const { return !path.empty(); }
};

struct TlsDomainConfig {
  std::string name;
  TlsDomainKind kind = TlsDomainKind::kServer;
  CfgPos pos;  // the server_domain / client_domain line
  std::vector<std::string> match_ip_address{"*"};
  std::vector<std::string> match_sip_domain{"*"};
  CfgPath certificate;  // default <cfg dir>/tls/cert.pem (server domains)
  CfgPath private_key;  // default <cfg dir>/tls/ckey.pem
  CfgPath ca_list;
  CfgPath ca_dir;  // default /etc/pki/CA/, used only if it exists
  bool verify_cert = true;
  bool require_cert = true;  // server default 1, client default 0
  int min_version = 0;       // OpenSSL protocol version constants; 0 = no bound
  int max_version = 0;
  std::string ciphers_list;
};

// Parses every modparam("tls_mgm", ...) of `cfg`. Warnings (e.g. TLS below 1.2 explicitly
// allowed) are appended to *warnings with their position.
Result<std::vector<TlsDomainConfig>> parse_tls_domains(const Config& cfg,
                                                       std::vector<std::string>* warnings);

// "SSLv23", "TLSv1_2", "TLSv1_2-TLSv1_3", "-", ... (OpenSIPS tls_method). The floor is
// TLS 1.2 unless a lower version is named explicitly (then *below_1_2 is set).
bool parse_tls_method(std::string_view value, int* min_version, int* max_version, bool* below_1_2);

}  // namespace sipsd
