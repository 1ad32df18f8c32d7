// `sipsd -c -f FILE` and start-up errors: exit status, and messages that name the place.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "tests/integration/sipsd_server.h"
#include "tests/integration/subprocess.h"
#include "tests/integration/test_env.h"

namespace sipsd::test {
namespace {

using namespace std::chrono_literals;

class CfgCheck : public ::testing::Test {
 protected:
  std::string write_cfg(const std::string& text) {
    std::string path = dir_.file("test.cfg");
    std::ofstream(path) << text;
    return path;
  }
  RunResult sipsd(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {SIPSD_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    RunOptions ro;
    ro.timeout = 15s;
    return run(argv, ro);
  }
  std::string base_cfg(std::vector<std::string> tls_domain = {}) {
    SipsdOptions o;
    o.tls_domain = std::move(tls_domain);
    return SipsdServer::render_cfg(o, test_certs_dir());
  }
  TempDir dir_{"sipsd-cfg"};
};

TEST_F(CfgCheck, GoodConfigPassesWithoutBinding) {
  // Occupy a port: -c must not try to bind it.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<struct sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<struct sockaddr*>(&a), &len);
  std::string cfg = base_cfg();
  cfg = std::regex_replace(cfg, std::regex("socket=tcp:127.0.0.1:0"),
                           "socket=tcp:127.0.0.1:" + std::to_string(ntohs(a.sin_port)));
  RunResult r = sipsd({"-c", "-f", write_cfg(cfg)});
  close(fd);
  EXPECT_TRUE(r.ok()) << r.describe();
  EXPECT_NE(r.err.find("ok, exiting"), std::string::npos) << r.err;
}

TEST_F(CfgCheck, TheShippedConfigParses) {
  // etc/sipsd.cfg with its certificate paths pointed at the test certificates.
  std::ifstream in(std::string(SIPSD_SOURCE_DIR) + "/etc/sipsd.cfg");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string cfg =
      std::regex_replace(ss.str(), std::regex("\\]tls/"), "]" + test_certs_dir() + "/");
  RunResult r = sipsd({"-c", "-f", write_cfg(cfg)});
  EXPECT_TRUE(r.ok()) << r.describe();
}

TEST_F(CfgCheck, MisspelledParameterNamesTheSpotAndSuggests) {
  std::string cfg = base_cfg();
  cfg += "modparam(\"proto_tls\", \"tls_prot\", 5061)\n";
  RunResult r = sipsd({"-c", "-f", write_cfg(cfg)});
  ASSERT_TRUE(r.started);
  EXPECT_EQ(r.status.code, 1) << r.describe();
  EXPECT_NE(r.err.find("test.cfg:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("did you mean 'tls_port'"), std::string::npos) << r.err;
}

TEST_F(CfgCheck, MissingCertificateNamesDomainAndFile) {
  std::string certs = test_certs_dir();
  std::string cfg = base_cfg({
      "modparam(\"tls_mgm\", \"certificate\", \"[default]/nonexistent/cert.pem\")",
      "modparam(\"tls_mgm\", \"private_key\", \"[default]" + certs + "/ckey.pem\")",
      "modparam(\"tls_mgm\", \"verify_cert\", \"[default]0\")",
  });
  RunResult r = sipsd({"-c", "-f", write_cfg(cfg)});
  EXPECT_EQ(r.status.code, 1) << r.describe();
  EXPECT_NE(r.err.find("domain 'default'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("/nonexistent/cert.pem"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("No such file"), std::string::npos) << r.err;
}

TEST_F(CfgCheck, KeyThatDoesNotMatchTheCertificateIsRefused) {
  std::string certs = test_certs_dir();
  std::string cfg = base_cfg({
      "modparam(\"tls_mgm\", \"certificate\", \"[default]" + certs + "/cert.pem\")",
      "modparam(\"tls_mgm\", \"private_key\", \"[default]" + certs + "/other-key.pem\")",
      "modparam(\"tls_mgm\", \"verify_cert\", \"[default]0\")",
  });
  RunResult r = sipsd({"-c", "-f", write_cfg(cfg)});
  EXPECT_EQ(r.status.code, 1) << r.describe();
  EXPECT_NE(r.err.find("does not match the certificate"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("other-key.pem"), std::string::npos) << r.err;
}

TEST_F(CfgCheck, WorldReadableKeyStopsTheServerAtStart) {
  std::string certs = test_certs_dir();
  std::string cfg = base_cfg({
      "modparam(\"tls_mgm\", \"certificate\", \"[default]" + certs + "/cert.pem\")",
      "modparam(\"tls_mgm\", \"private_key\", \"[default]" + certs + "/key-world-readable.pem\")",
      "modparam(\"tls_mgm\", \"verify_cert\", \"[default]0\")",
  });
  // Not just -c: a real start refuses too, before binding anything.
  RunResult r = sipsd({"-f", write_cfg(cfg)});
  EXPECT_EQ(r.status.code, 1) << r.describe();
  EXPECT_NE(r.err.find("readable by other users"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("domain 'default'"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("listening on"), std::string::npos) << r.err;
}

TEST_F(CfgCheck, UnknownModuleAndSyntaxErrorsExitNonZero) {
  RunResult r = sipsd({"-c", "-f", write_cfg("loadmodule \"proto_tsl.so\"\n")});
  EXPECT_EQ(r.status.code, 1) << r.describe();
  EXPECT_NE(r.err.find("test.cfg:1:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("proto_tls"), std::string::npos) << r.err;  // the suggestion

  RunResult r2 = sipsd({"-c", "-f", dir_.file("does-not-exist.cfg")});
  EXPECT_EQ(r2.status.code, 1) << r2.describe();
}

// Every tls_mgm problem of a cfg in one run: parameter errors and each domain's file errors.
TEST_F(CfgCheck, EveryTlsMgmProblemInOneRun) {
  std::string certs = test_certs_dir();
  std::string cfg = base_cfg({
      "modparam(\"tls_mgm\", \"certificate\", \"[default]" + certs + "/cert.pem\")",
      "modparam(\"tls_mgm\", \"private_key\", \"[default]" + certs + "/ckey.pem\")",
      "modparam(\"tls_mgm\", \"verify_cert\", \"[default]2\")",
      "modparam(\"tls_mgm\", \"ca_list\", \"[nowhere]" + certs + "/ca.pem\")",
      "modparam(\"tls_mgm\", \"tls_method\", \"[default]TLSv9\")",
  });
  RunResult r = sipsd({"-c", "-f", write_cfg(cfg)});
  EXPECT_EQ(r.status.code, 1) << r.describe();
  EXPECT_NE(r.err.find("verify_cert"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("'nowhere'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("TLSv9"), std::string::npos) << r.err;

  // Parameters fine, two domains whose files are wrong: both named.
  std::string files = base_cfg({
      "modparam(\"tls_mgm\", \"certificate\", \"[default]/nonexistent/a.pem\")",
      "modparam(\"tls_mgm\", \"private_key\", \"[default]" + certs + "/ckey.pem\")",
      "modparam(\"tls_mgm\", \"client_domain\", \"peers\")",
      "modparam(\"tls_mgm\", \"ca_list\", \"[peers]/nonexistent/b.pem\")",
  });
  RunResult r2 = sipsd({"-c", "-f", write_cfg(files)});
  EXPECT_EQ(r2.status.code, 1) << r2.describe();
  EXPECT_NE(r2.err.find("/nonexistent/a.pem"), std::string::npos) << r2.err;
  EXPECT_NE(r2.err.find("/nonexistent/b.pem"), std::string::npos) << r2.err;
}

// A TLS listener that no server domain's match_ip_address covers: every handshake on it would
// fail, so -c and a start refuse the cfg.
TEST_F(CfgCheck, TlsListenerNoServerDomainCoversIsAnError) {
  std::string certs = test_certs_dir();
  std::string cfg = base_cfg({
      "modparam(\"tls_mgm\", \"match_ip_address\", \"[default]10.9.9.9:5061\")",
      "modparam(\"tls_mgm\", \"certificate\", \"[default]" + certs + "/cert.pem\")",
      "modparam(\"tls_mgm\", \"private_key\", \"[default]" + certs + "/ckey.pem\")",
  });
  const std::string path = write_cfg(cfg);
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"-c", "-f", path}, std::vector<std::string>{"-f", path}}) {
    RunResult r = sipsd(args);
    EXPECT_EQ(r.status.code, 1) << r.describe();
    EXPECT_NE(r.err.find("TLS listener tls:127.0.0.1:0 is served by no tls_mgm server domain"),
              std::string::npos)
        << r.err;
    EXPECT_EQ(r.err.find("listening on"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace sipsd::test
