#include "tests/integration/openssl_server.h"

#include <chrono>
#include <cstdlib>

#include "tests/integration/test_env.h"

namespace sipsd::test {

using namespace std::chrono_literals;

Result<SServer> start_s_server(const std::vector<std::string>& extra, const std::string& cert,
                               const std::string& key) {
  std::vector<std::string> argv = {"openssl", "s_server",
                                   "-accept", "127.0.0.1:0",
                                   "-cert",   cert.empty() ? test_cert("cert.pem") : cert,
                                   "-key",    key.empty() ? test_cert("ckey.pem") : key,
                                   "-rev"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  ChildOptions o;
  o.stop_grace = 500ms;
  auto child = Child::start(argv, o);
  if (!child) return make_error(child.message());
  auto line = child->wait_for_line("ACCEPT ", 5s);
  if (!line) return make_error("s_server did not report its port: " + child->describe());
  size_t colon = line->rfind(':');
  int port = colon == std::string::npos ? 0 : std::atoi(line->c_str() + colon + 1);
  if (port <= 0 || port > 65535) return make_error("cannot parse port from '" + *line + "'");
  SServer s{std::move(child.value()), static_cast<uint16_t>(port)};
  return s;
}

}  // namespace sipsd::test
