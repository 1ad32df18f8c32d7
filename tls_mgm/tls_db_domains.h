// TLS domains from the database: modparam("tls_mgm", "db_url", …) loads the rows of the
// `tls_mgm` table (OpenSIPS's layout, version 3: domain, type 1 = client / 2 = server,
// match_ip_address, match_sip_domain, method, verify_cert, require_cert, certificate,
// private_key, crl_check_all, crl_dir, ca_list, ca_dir, cipher_list, dh_params, ec_curve) as
// OpenSIPS does: PEM content in the blob columns, NULL keeps a default, a bad row is skipped
// with a warning, and DB domains come ahead of the cfg's domains. Runs in the supervisor only
// (start-up, SIGHUP, MI tls_reload).
//
// Each row becomes the same "[domain]value" parameters a cfg would write (so every check and
// default of the file domains applies); the PEM blobs stay in memory (CfgPath::content, named
// "<db_url> table 'tls_mgm' row id N column certificate" in messages): nothing is written to
// disk, and tls_list shows no file names for these domains, as OpenSIPS.
#pragma once

#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/cfg/config.h"
#include "tls_mgm/tls_domain_config.h"

namespace sipsd {

// db_url / db_table of the cfg's tls_mgm modparams ("" when none).
struct TlsDbParams {
  std::string db_url;
  std::string db_table = "tls_mgm";
  CfgPos pos;
};
TlsDbParams tls_db_params(const Config& cfg);

// The usable domains of the table (bad rows, and rows whose name a cfg domain of the same kind
// already has, are skipped with a warning). Errors: the database cannot be opened or read, or
// the table's version is not 3.
Result<std::vector<TlsDomainConfig>> load_tls_db_domains(
    const Config& cfg, const TlsDbParams& db, const std::vector<TlsDomainConfig>& cfg_domains,
    std::vector<std::string>* warnings);

}  // namespace sipsd
