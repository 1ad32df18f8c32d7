// `openssl s_server` as a TLS peer for tests: on 127.0.0.1, on an ephemeral port it reports.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "tests/integration/subprocess.h"

namespace sipsd::test {

struct SServer {
  Child child;
  uint16_t port = 0;
};

// Serves cert/key (default: the test server certificate, cert.pem/ckey.pem) with `-rev`
// (each line echoed reversed, one connection at a time) plus `extra` arguments.
Result<SServer> start_s_server(const std::vector<std::string>& extra = {},
                               const std::string& cert = "", const std::string& key = "");

}  // namespace sipsd::test
