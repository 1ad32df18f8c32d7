// tls_mgm's MI commands through their TlsMiHost seam: a fake host around a real shared-memory
// region into which the test publishes snapshots with SnapshotStore (as the supervisor does),
// called over JSON-RPC as the FIFO calls them.
#include "tls_mgm/mi_commands.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <time.h>

#include <fstream>
#include <string>
#include <vector>

#include "tests/unit/mi/mi_test_command.h"
#include "tests/unit/support/test_certs.h"
#include "tls_mgm/openssl_ptr.h"
#include "tls_mgm/snapshot_store.h"

namespace sipsd {
namespace {

using test::mi_args;
using test::mi_call;
using test::unit_cert;

std::string slurp(const std::string& name) {
  std::ifstream in(unit_cert(name));
  EXPECT_TRUE(in.good()) << name;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// What the loader would publish for a server domain "edge" serving cert.pem and a client
// domain "peer" without a certificate.
tls::TlsSnapshot two_domains() {
  tls::TlsSnapshot snap;
  tls::TlsDomain* cli = snap.add_client_domains();
  cli->set_name("peer");
  cli->set_type(tls::DOMAIN_TYPE_CLIENT);
  cli->add_match_ip_address("*");
  cli->add_match_sip_domain("*");
  cli->set_ca_list_pem(slurp("ca.pem"));
  cli->set_ca_list_path("/etc/sipsd/tls/ca.pem");
  cli->set_verify_cert(true);
  tls::TlsDomain* srv = snap.add_server_domains();
  srv->set_name("edge");
  srv->set_type(tls::DOMAIN_TYPE_SERVER);
  srv->add_match_ip_address("127.0.0.1:5061");
  srv->add_match_sip_domain("sip.example.com");
  srv->add_match_sip_domain("*.example.com");
  srv->set_certificate_pem(slurp("cert.pem"));
  srv->set_certificate_path("/etc/sipsd/tls/cert.pem");
  srv->set_private_key_pem(slurp("ckey.pem"));
  srv->set_private_key_path("/etc/sipsd/tls/ckey.pem");
  srv->set_require_cert(true);
  srv->set_crl_check_all(true);
  srv->set_crl_dir("/etc/sipsd/tls/crl");
  srv->set_ciphers_list("HIGH");
  srv->set_ec_curve("P-256");
  srv->set_dh_params_path("/etc/sipsd/tls/dh.pem");
  srv->set_tls_method("TLSv1_2-");
  return snap;
}

class FakeTlsHost final : public TlsMiHost {
 public:
  explicit FakeTlsHost(std::unique_ptr<ShmRegion> shm) : shm_(std::move(shm)) {}
  ShmRegion& shm() override { return *shm_; }
  // As the supervisor: publish `next_snapshot` when there is one, else fail with `failure`.
  Status reload_tls() override {
    ++reloads;
    if (!failure.empty()) return make_error(failure);
    Result<uint64_t> g = SnapshotStore(*shm_).publish(next_snapshot);
    if (!g.ok()) return g.error();
    return Status::Ok();
  }

  int reloads = 0;
  std::string failure;
  tls::TlsSnapshot next_snapshot;

 private:
  std::unique_ptr<ShmRegion> shm_;
};

class TlsMiCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ShmRegion::Layout layout;
    layout.tls_slot_size = 64 * 1024;
    auto shm = ShmRegion::create(layout);
    ASSERT_TRUE(shm.ok()) << shm.message();
    host_ = std::make_unique<FakeTlsHost>(std::move(shm).value());
    add_tls_mi_commands(&reg_, host_.get());
  }
  void publish(const tls::TlsSnapshot& snap) {
    auto g = SnapshotStore(host_->shm()).publish(snap);
    ASSERT_TRUE(g.ok()) << g.message();
  }
  Json result(const std::string& method, Json params = Json()) {
    Json reply = mi_call(reg_, method, std::move(params));
    const Json* r = reply.find("result");
    EXPECT_NE(r, nullptr) << method << ": " << reply.dump();
    return r ? *r : Json();
  }
  Json error(const std::string& method, Json params = Json()) {
    Json reply = mi_call(reg_, method, std::move(params));
    const Json* e = reply.find("error");
    EXPECT_NE(e, nullptr) << method << ": " << reply.dump();
    return e ? *e : Json();
  }

  MiRegistry reg_;
  std::unique_ptr<FakeTlsHost> host_;
};

TEST_F(TlsMiCommandsTest, NothingPublishedListsNoDomains) {
  EXPECT_EQ(result("tls_list").dump(), "{\"Domains\":[]}");
  EXPECT_EQ(result("tls_cert_status").dump(), "{\"Domains\":[]}");
}

TEST_F(TlsMiCommandsTest, TlsListShowsEveryPublishedDomainClientsFirst) {
  publish(two_domains());
  Json r = result("tls_list");
  EXPECT_EQ(r.dump(),
            "{\"Domains\":["
            "{\"name\":\"peer\",\"type\":\"TLS_DOMAIN_CLI\",\"IP ADDRESS FILTERS\":[\"*\"],"
            "\"SIP DOMAIN FILTERS\":[\"*\"],\"METHOD\":\"SSLv23\",\"VERIFY_CERT\":true,"
            "\"REQ_CLI_CERT\":false,\"CRL_CHECKALL\":false,\"CERT_FILE\":\"\",\"CRL_DIR\":\"\","
            "\"CA_FILE\":\"/etc/sipsd/tls/ca.pem\",\"CA_DIR\":\"\",\"PKEY_FILE\":\"\","
            "\"CIPHER_LIST\":\"\",\"DH_PARAMS_FILE\":\"\",\"EC_CURVE\":\"\"},"
            "{\"name\":\"edge\",\"type\":\"TLS_DOMAIN_SRV\","
            "\"IP ADDRESS FILTERS\":[\"127.0.0.1:5061\"],"
            "\"SIP DOMAIN FILTERS\":[\"sip.example.com\",\"*.example.com\"],"
            "\"METHOD\":\"TLSv1_2-\",\"VERIFY_CERT\":false,\"REQ_CLI_CERT\":true,"
            "\"CRL_CHECKALL\":true,\"CERT_FILE\":\"/etc/sipsd/tls/cert.pem\","
            "\"CRL_DIR\":\"/etc/sipsd/tls/crl\",\"CA_FILE\":\"\",\"CA_DIR\":\"\","
            "\"PKEY_FILE\":\"/etc/sipsd/tls/ckey.pem\",\"CIPHER_LIST\":\"HIGH\","
            "\"DH_PARAMS_FILE\":\"/etc/sipsd/tls/dh.pem\",\"EC_CURVE\":\"P-256\"}]}");
  EXPECT_EQ(result("tls_mgm:list").dump(), r.dump());  // the 4.0 name
}

TEST_F(TlsMiCommandsTest, TlsCertStatusDescribesEachCertificate) {
  tls::TlsSnapshot snap = two_domains();
  tls::TlsDomain* broken = snap.add_server_domains();  // a certificate that does not parse
  broken->set_name("broken");
  broken->set_type(tls::DOMAIN_TYPE_SERVER);
  broken->set_certificate_pem("not a certificate");
  broken->set_certificate_path("/etc/sipsd/tls/broken.pem");
  publish(snap);

  Json r = result("tls_cert_status");
  const std::vector<Json>& d = r.find("Domains")->items();
  ASSERT_EQ(d.size(), 3u) << r.dump();
  EXPECT_EQ(d[0].dump(), "{\"name\":\"peer\",\"type\":\"client\",\"Certificate\":\"\"}");
  EXPECT_EQ(d[2].dump(),
            "{\"name\":\"broken\",\"type\":\"server\","
            "\"Certificate\":\"/etc/sipsd/tls/broken.pem\"}");

  const Json& edge = d[1];
  std::vector<std::string> keys;
  for (const auto& [k, v] : edge.members()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"name", "type", "Certificate", "Subject", "Issuer",
                                            "SANs", "Not after", "Days left"}));
  EXPECT_EQ(edge.find("Certificate")->as_string(), "/etc/sipsd/tls/cert.pem");
  EXPECT_EQ(edge.find("Subject")->as_string(), "CN=localhost");
  EXPECT_EQ(edge.find("Issuer")->as_string(), "CN=sipsd test CA");
  EXPECT_EQ(edge.find("SANs")->dump(), "[\"IP:127.0.0.1\",\"DNS:localhost\"]");

  // Expiry, from the certificate itself.
  std::string pem = slurp("cert.pem");
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr x(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  ASSERT_TRUE(x);
  struct tm tm = {};
  ASSERT_EQ(ASN1_TIME_to_tm(X509_get0_notAfter(x.get()), &tm), 1);
  char not_after[40];
  strftime(not_after, sizeof not_after, "%Y-%m-%d %H:%M:%S UTC", &tm);
  EXPECT_EQ(edge.find("Not after")->as_string(), not_after);
  int64_t seconds_left = static_cast<int64_t>(timegm(&tm)) - static_cast<int64_t>(time(nullptr));
  int64_t days = edge.find("Days left")->as_int();
  EXPECT_GT(days, 30);
  EXPECT_LE(days, seconds_left / 86400 + 1);
  EXPECT_GE(days, seconds_left / 86400 - 1);
}

TEST_F(TlsMiCommandsTest, TlsReloadPublishesOrSaysWhyNot) {
  publish(two_domains());
  // Success: the host published the next generation; the commands show it.
  host_->next_snapshot = two_domains();
  host_->next_snapshot.mutable_server_domains(0)->set_name("edge2");
  EXPECT_EQ(result("tls_reload").dump(), "\"OK\"");
  EXPECT_EQ(host_->reloads, 1);
  EXPECT_EQ(SnapshotStore(host_->shm()).generation(), 2u);
  EXPECT_EQ(result("tls_list").find("Domains")->items()[1].find("name")->as_string(), "edge2");

  // Failure: a 500 with the host's reason; what was published stays.
  host_->failure = "tls_mgm domain 'edge': private_key does not match certificate";
  EXPECT_EQ(error("tls_mgm:reload").dump(),
            "{\"code\":500,\"message\":\"Failed to reload\",\"data\":\"tls_mgm domain 'edge': "
            "private_key does not match certificate\"}");
  EXPECT_EQ(host_->reloads, 2);
  EXPECT_EQ(SnapshotStore(host_->shm()).generation(), 2u);
  EXPECT_EQ(result("tls_list").find("Domains")->items()[1].find("name")->as_string(), "edge2");
}

TEST_F(TlsMiCommandsTest, TlsTraceShowsOffAndRefusesOn) {
  EXPECT_EQ(result("tls_trace").dump(), "{\"TLS tracing\":\"off\"}");
  EXPECT_EQ(result("tls_trace", mi_args({"off"})).dump(), "\"OK\"");
  EXPECT_EQ(result("tls:trace", mi_args({"OFF"})).dump(), "\"OK\"");
  EXPECT_EQ(error("tls_trace", mi_args({"on"})).dump(),
            "{\"code\":500,\"message\":\"Tracing not available\",\"data\":\"sipsd has no HEP "
            "trace destination (proto_hep) yet\"}");
  EXPECT_EQ(error("tls_trace", mi_args({"maybe"})).dump(),
            "{\"code\":500,\"message\":\"Bad parameter value\",\"data\":\"trace_mode should be "
            "'on' or 'off'\"}");
  EXPECT_EQ(result("tls_trace").dump(), "{\"TLS tracing\":\"off\"}");
}

}  // namespace
}  // namespace sipsd
