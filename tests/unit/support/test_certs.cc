#include "tests/unit/support/test_certs.h"

#include <cstdio>
#include <cstdlib>

namespace sipsd::test {

const std::string& unit_certs_dir() {
  static const std::string dir = [] {
    std::string d = std::string(SIPSD_BUILD_DIR) + "/test-certs";
    std::string cmd = std::string(SIPSD_SOURCE_DIR) + "/tests/gen_certs.sh " + d + " >/dev/null";
    if (std::system(cmd.c_str()) != 0) {
      fprintf(stderr, "cannot create the test certificates: %s failed\n", cmd.c_str());
      std::exit(2);
    }
    return d;
  }();
  return dir;
}

std::string unit_cert(std::string_view name) {
  return unit_certs_dir() + "/" + std::string(name);
}

}  // namespace sipsd::test
