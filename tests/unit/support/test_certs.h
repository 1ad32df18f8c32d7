// The test PKI for unit tests: tests/gen_certs.sh run once per build into
// SIPSD_BUILD_DIR/test-certs (the script locks and skips work when the files are current).
#pragma once

#include <string>
#include <string_view>

namespace sipsd::test {

const std::string& unit_certs_dir();
std::string unit_cert(std::string_view name);  // unit_certs_dir() + "/" + name

}  // namespace sipsd::test
