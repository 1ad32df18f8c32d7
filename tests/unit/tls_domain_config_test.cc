#include "tls_mgm/tls_domain_config.h"

#include <openssl/ssl.h>

#include <gtest/gtest.h>

namespace sipsd {
namespace {

Config cfg_with(std::vector<std::pair<std::string, ModParamValue>> params) {
  Config cfg;
  cfg.path = "/etc/sipsd/sipsd.cfg";
  int line = 1;
  for (auto& [name, value] : params) {
    ModParam p;
    p.module = "tls_mgm";
    p.name = name;
    p.value = value;
    p.pos = CfgPos{"sipsd.cfg", line++, 30};
    cfg.tls_mgm_params.push_back(p);
  }
  return cfg;
}

TEST(TlsMethod, OpenSipsSpellings) {
  int lo = -1, hi = -1;
  bool below = true;
  ASSERT_TRUE(parse_tls_method("SSLv23", &lo, &hi, &below));
  EXPECT_EQ(lo, TLS1_2_VERSION);  // sipsd's floor
  EXPECT_EQ(hi, 0);
  EXPECT_FALSE(below);
  ASSERT_TRUE(parse_tls_method("tlsany", &lo, &hi, &below));
  EXPECT_EQ(lo, TLS1_2_VERSION);
  ASSERT_TRUE(parse_tls_method("TLSv1_3", &lo, &hi, &below));
  EXPECT_EQ(lo, TLS1_3_VERSION);
  EXPECT_EQ(hi, TLS1_3_VERSION);
  ASSERT_TRUE(parse_tls_method("TLSv1_2-TLSv1_3", &lo, &hi, &below));
  EXPECT_EQ(lo, TLS1_2_VERSION);
  EXPECT_EQ(hi, TLS1_3_VERSION);
  ASSERT_TRUE(parse_tls_method("-", &lo, &hi, &below));
  EXPECT_EQ(lo, TLS1_2_VERSION);
  EXPECT_EQ(hi, 0);
  ASSERT_TRUE(parse_tls_method("TLSv1_2-", &lo, &hi, &below));
  EXPECT_EQ(hi, 0);
  // Below 1.2 only when named, and flagged.
  ASSERT_TRUE(parse_tls_method("TLSv1", &lo, &hi, &below));
  EXPECT_EQ(lo, TLS1_VERSION);
  EXPECT_TRUE(below);
  ASSERT_TRUE(parse_tls_method("TLSv1_1-TLSv1_2", &lo, &hi, &below));
  EXPECT_TRUE(below);
}

TEST(TlsMethod, Rejects) {
  int lo, hi;
  bool below;
  for (const char* bad : {"", "TLSv1_4", "SSLv3", "TLSv1_1", "TLSv1_3-TLSv1_2", "foo-bar"})
    EXPECT_FALSE(parse_tls_method(bad, &lo, &hi, &below)) << bad;
}

TEST(TlsDomainConfig, ParsesOneServerDomainWithDefaults) {
  std::vector<std::string> warnings;
  auto domains = parse_tls_domains(cfg_with({{"server_domain", std::string("edge")},
                                             {"certificate", std::string("[edge]/certs/edge.pem")},
                                             {"verify_cert", std::string("[edge]0")},
                                             {"tls_method", std::string("[edge]TLSv1_3")}}),
                                   &warnings);
  ASSERT_TRUE(domains.ok()) << domains.message();
  ASSERT_EQ(domains->size(), 1u);
  const TlsDomainConfig& d = (*domains)[0];
  EXPECT_EQ(d.name, "edge");
  EXPECT_EQ(d.certificate.path, "/certs/edge.pem");
  EXPECT_EQ(d.private_key.path, "/etc/sipsd/tls/ckey.pem");  // OpenSIPS-style default
  EXPECT_FALSE(d.verify_cert);
  EXPECT_TRUE(d.require_cert);
  EXPECT_EQ(d.min_version, TLS1_3_VERSION);
  EXPECT_TRUE(warnings.empty());
}

TEST(TlsDomainConfig, ErrorsNameThePlaceAndTheProblem) {
  std::vector<std::string> w;
  auto undeclared = parse_tls_domains(cfg_with({{"certificate", std::string("[edge]/x.pem")}}), &w);
  ASSERT_FALSE(undeclared.ok());
  EXPECT_NE(undeclared.message().find("sipsd.cfg:1:30"), std::string::npos);
  EXPECT_NE(undeclared.message().find("'edge', which is not declared"), std::string::npos);

  auto no_brackets = parse_tls_domains(
      cfg_with({{"server_domain", std::string("edge")}, {"certificate", std::string("/x.pem")}}),
      &w);
  ASSERT_FALSE(no_brackets.ok());
  EXPECT_NE(no_brackets.message().find("[default]/x.pem"), std::string::npos)
      << no_brackets.message();

  auto bad_flag = parse_tls_domains(
      cfg_with({{"server_domain", std::string("e")}, {"verify_cert", std::string("[e]yes")}}), &w);
  ASSERT_FALSE(bad_flag.ok());
  EXPECT_NE(bad_flag.message().find("expects 0 or 1"), std::string::npos);

  auto twice = parse_tls_domains(
      cfg_with({{"server_domain", std::string("e")}, {"server_domain", std::string("e")}}), &w);
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.message().find("declared twice"), std::string::npos);

  auto method = parse_tls_domains(
      cfg_with({{"server_domain", std::string("e")}, {"tls_method", std::string("[e]TLSv2")}}), &w);
  ASSERT_FALSE(method.ok());
  EXPECT_NE(method.message().find("tls_method \"TLSv2\""), std::string::npos);

  auto later = parse_tls_domains(
      cfg_with({{"server_domain", std::string("e")}, {"crl_dir", std::string("[e]/crl")}}), &w);
  ASSERT_FALSE(later.ok());
  EXPECT_NE(later.message().find("not supported yet"), std::string::npos);
}

TEST(TlsDomainConfig, OldVersionsAreAllowedOnlyWithAWarning) {
  std::vector<std::string> w;
  auto d = parse_tls_domains(
      cfg_with({{"server_domain", std::string("e")}, {"tls_method", std::string("[e]TLSv1")}}), &w);
  ASSERT_TRUE(d.ok()) << d.message();
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("below 1.2"), std::string::npos);
  EXPECT_NE(w[0].find("sipsd.cfg:2:30"), std::string::npos);
}

}  // namespace
}  // namespace sipsd
