// Loads and validates what the TLS domains point at (certificates, keys, CA lists) and builds
// the snapshot the supervisor publishes to the workers. Runs in the supervisor only, at start
// (and on reload): it is the only place that reads TLS files from disk.
#pragma once

#include <string>
#include <vector>

#include "core/result.h"
#include "tls_mgm/tls_domain_config.h"
#include "tls_mgm/tls_snapshot.pb.h"

namespace sipsd {

// Every error names the domain, the parameter, the file and where the cfg set it.
Result<tls::TlsSnapshot> load_tls_snapshot(const std::vector<TlsDomainConfig>& domains,
                                           std::vector<std::string>* warnings);

}  // namespace sipsd
