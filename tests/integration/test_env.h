// The integration tests' environment: where the binaries, sources and test certificates are,
// temporary directories, loopback ports. main() for integration_tests lives in test_env.cc.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sipsd::test {

// The test PKI (tests/gen_certs.sh; the header there lists every file), in
// SIPSD_BUILD_DIR/test-certs. The first call in a process runs the script, which does nothing
// when the certificates are already there and current, and serializes concurrent test
// processes with a lock. If the script fails, the test binary exits with its output.
const std::string& test_certs_dir();
// test_certs_dir() + "/" + name, e.g. test_cert("ca.pem").
std::string test_cert(std::string_view name);

std::string sipsd_binary();  // SIPSD_BINARY: the sipsd built with these tests
std::string source_dir();    // SIPSD_SOURCE_DIR
std::string build_dir();     // SIPSD_BUILD_DIR

// A fresh private directory (mode 0700) under $TMPDIR or /tmp, removed with everything in it
// when the object goes away.
class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "sipsd-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

// Copies `from` over `to` and makes the copy mode 0600 (sipsd refuses keys others can read).
void copy_private_file(const std::string& from, const std::string& to);

// A TCP port on `ip` that was free a moment ago (bound to port 0, then released). Racy by
// nature: prefer servers that bind port 0 themselves and report the port, or pre-bound fds.
uint16_t free_tcp_port(const std::string& ip = "127.0.0.1");

// A whole text file (a log, a trace, a cfg); empty when it cannot be read.
std::string read_file(const std::string& path);

}  // namespace sipsd::test
