#include "tests/integration/dnsmasq.h"

#include <unistd.h>

#include <chrono>

#include "tests/integration/test_env.h"

namespace sipsd::test {

namespace {

constexpr const char* kDnsmasq = "/usr/sbin/dnsmasq";

}  // namespace

Result<Dnsmasq> Dnsmasq::start(const std::vector<std::string>& records) {
  using namespace std::chrono_literals;
  std::string last_error = "no attempt";
  for (int attempt = 0; attempt < 5; ++attempt) {
    uint16_t port = free_tcp_port();
    if (port == 0) continue;
    std::vector<std::string> argv = {kDnsmasq,
                                     "--conf-file=/dev/null",
                                     "--port=" + std::to_string(port),
                                     "--listen-address=127.0.0.1",
                                     "--bind-interfaces",
                                     "--no-resolv",
                                     "--no-hosts",
                                     "--no-daemon",
                                     "--pid-file=",
                                     "--log-facility=-",
                                     "--log-queries",
                                     "--cache-size=0"};
    if (geteuid() == 0) argv.push_back("--user=root");  // else it would switch to nobody
    argv.insert(argv.end(), records.begin(), records.end());
    Result<Child> child = Child::start(argv);
    if (!child.ok()) return make_error(child.message());
    if (child->wait_for_line("started, version", 5s))
      return Dnsmasq(std::move(child).value(), port);
    last_error = child->describe();
  }
  return make_error("dnsmasq did not start: " + last_error);
}

int Dnsmasq::queries(const std::string& type, const std::string& name) const {
  const std::string needle = "query[" + type + "] " + name + " from";
  const std::string log = child_.out() + child_.err();
  int n = 0;
  for (size_t p = log.find(needle); p != std::string::npos; p = log.find(needle, p + 1)) ++n;
  return n;
}

}  // namespace sipsd::test
