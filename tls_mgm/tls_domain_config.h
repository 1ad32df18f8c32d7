// tls_mgm's modparams turned into domain descriptions: OpenSIPS's "[domain]value" syntax, a
// domain declared (server_domain / client_domain) before its attributes, OpenSIPS defaults.
// Nothing is read from disk here; tls_loader.h does that.
//
// A name may be declared once as a server domain and once as a client domain; an attribute
// "[name]value" then applies to the one declared last before it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"
#include "core/cfg/config.h"

namespace sipsd {

enum class TlsDomainKind { kServer, kClient };
const char* tls_domain_kind_name(TlsDomainKind kind);  // "server" / "client"

// A path-valued attribute and where the cfg set it (for errors that name file:line:col).
struct CfgPath {
  // Resolved (absolute or relative to the current directory); for PEM held in memory, a label
  // that names where it came from (the database row and column), for messages.
  std::string path;
  CfgPos pos;
  // PEM material from the tls_mgm table: the loader reads this instead of a file.
  std::optional<std::string> content;
  bool set() const { return !path.empty(); }
  bool in_memory() const { return content.has_value(); }
};

constexpr int kDefaultVerifyDepth = 3;  // OpenSIPS hard-codes 3
constexpr int kMaxVerifyDepth = 100;    // verify_depth: 0..100 intermediate CAs

struct TlsDomainConfig {
  std::string name;
  TlsDomainKind kind = TlsDomainKind::kServer;
  bool from_db = false;  // a row of the tls_mgm table (its PEM is in memory)
  CfgPos pos;            // the server_domain / client_domain line
  // Canonical "ip:port" keys (tls_mgm/ip_key.h) and/or "*" (any address). A list written with
  // "*" first is just {"*"}, as in OpenSIPS.
  std::vector<std::string> match_ip_address{"*"};
  // Lower-cased shell globs; "*" = anything including no SNI; "none" = no SNI only.
  std::vector<std::string> match_sip_domain{"*"};
  CfgPath certificate;  // server default <cfg dir>/tls/cert.pem; clients: none by default
  CfgPath private_key;  // server default <cfg dir>/tls/ckey.pem; clients: none by default
  CfgPath ca_list;
  CfgPath ca_dir;  // default /etc/pki/CA/, used only if it exists
  CfgPath crl_dir;
  CfgPath dh_params;
  bool crl_check_all = false;
  bool verify_cert = true;
  bool require_cert = true;           // server default 1, client default 0
  std::string tls_method = "SSLv23";  // as written
  int min_version = 0;                // OpenSSL protocol version constants; 0 = no bound
  int max_version = 0;
  std::string ciphers_list;  // TLS <= 1.2
  std::string ciphersuites;  // TLS 1.3
  std::string ec_curve;      // one curve or a colon-separated groups list
  int verify_depth = kDefaultVerifyDepth;

  // Where the cfg last set `param` of this domain; the declaration when it never did.
  const CfgPos& pos_of(std::string_view param) const;
  // Whether the cfg set `param` (false: the default applies).
  bool is_set(std::string_view param) const;
  // Bookkeeping for pos_of: (parameter, position) in cfg order.
  std::vector<std::pair<std::string, CfgPos>> set_at;
};

// Module-wide tls_mgm parameters (no "[domain]").
constexpr int kDefaultTicketKeyInterval = 43200;  // seconds
constexpr int kMinTicketKeyInterval = 60;
constexpr int kMaxTicketKeyInterval = 604800;

struct TlsMgmGlobals {
  // Secret from which session-ticket keys are derived (shared by several hosts); "" = random
  // keys. Resolved like other cfg paths.
  std::string ticket_key_file;
  CfgPos ticket_key_file_pos;
  int ticket_key_interval = kDefaultTicketKeyInterval;  // seconds, 60..604800
  CfgPos ticket_key_interval_pos;
  // OpenSIPS's client_tls_domain_avp / client_sip_domain_avp: the AVPs (names as written,
  // "tls_dom" or "$avp(tls_dom)"; "" = unset) whose value at relay time picks the client domain
  // of a new outbound TLS connection by name, or the SIP domain its match_sip_domain is
  // matched against (unset or empty: "*", so only a domain listing "*" matches).
  std::string client_tls_domain_avp;
  std::string client_sip_domain_avp;
};

// True for the tls_mgm parameters that are module-wide (parse_tls_globals), not per domain.
bool is_tls_mgm_global_param(std::string_view name);

// Parses every per-domain modparam("tls_mgm", ...) of `cfg` (module-wide ones are skipped):
// server and client domains in declaration order. Errors read
// "file:line:col: tls_mgm: domain 'x': parameter 'y' ...". Warnings (e.g. TLS below 1.2
// explicitly allowed) are appended to *warnings with their position.
// Lines joined with '\n' (one error message listing several problems).
std::string join_lines(const std::vector<std::string>& lines);

Result<std::vector<TlsDomainConfig>> parse_tls_domains(const Config& cfg,
                                                       std::vector<std::string>* warnings);

// The module-wide tls_mgm parameters (ticket_key_file, ticket_key_interval, the client domain
// AVPs); the last setting of each wins.
Result<TlsMgmGlobals> parse_tls_globals(const Config& cfg);

// "SSLv23", "TLSv1_2", "TLSv1_2-TLSv1_3", "-", ... (OpenSIPS tls_method). The floor is
// TLS 1.2 unless a lower version is named explicitly (then *below_1_2 is set).
bool parse_tls_method(std::string_view value, int* min_version, int* max_version, bool* below_1_2);

}  // namespace sipsd
