#include "tests/integration/test_env.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <system_error>

#include "tests/integration/subprocess.h"

#if !defined(SIPSD_BINARY) || !defined(SIPSD_SOURCE_DIR) || !defined(SIPSD_BUILD_DIR)
#error "CMakeLists.txt defines SIPSD_BINARY, SIPSD_SOURCE_DIR and SIPSD_BUILD_DIR for these tests"
#endif

namespace sipsd::test {

std::string sipsd_binary() {
  return SIPSD_BINARY;
}
std::string source_dir() {
  return SIPSD_SOURCE_DIR;
}
std::string build_dir() {
  return SIPSD_BUILD_DIR;
}

const std::string& test_certs_dir() {
  static std::string dir;
  static std::once_flag once;
  std::call_once(once, [] {
    std::string target = build_dir() + "/test-certs";
    RunOptions o;
    o.timeout = std::chrono::seconds(120);  // generous: it may wait for another process's lock
    RunResult r = run({"sh", source_dir() + "/tests/gen_certs.sh", target}, o);
    if (!r.ok()) {
      std::fprintf(stderr, "integration tests: cannot generate the test certificates:\n%s\n",
                   r.describe().c_str());
      std::exit(2);
    }
    dir = target;
  });
  return dir;
}

std::string test_cert(std::string_view name) {
  return test_certs_dir() + "/" + std::string(name);
}

TempDir::TempDir(std::string_view prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string templ =
      std::string(base && *base ? base : "/tmp") + "/" + std::string(prefix) + ".XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp " << templ << ": " << std::strerror(errno);
    return;
  }
  path_ = templ;
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void copy_private_file(const std::string& from, const std::string& to) {
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing);
  chmod(to.c_str(), 0600);
}

uint16_t free_tcp_port(const std::string& ip) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = 0;
  uint16_t port = 0;
  socklen_t len = sizeof sa;
  if (inet_pton(AF_INET, ip.c_str(), &sa.sin_addr) == 1 &&
      bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0) {
    port = ntohs(sa.sin_port);
  }
  close(fd);
  return port;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace sipsd::test

// The integration tests' main(): a write to a closed socket or pipe must fail with EPIPE, not
// kill the test process (the helpers also guard their own writes).
int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
