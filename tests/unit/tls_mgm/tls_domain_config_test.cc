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
  EXPECT_EQ(method.message(),
            "sipsd.cfg:2:30: tls_mgm: domain 'e': parameter 'tls_method' value \"TLSv2\" is not "
            "one of SSLv23, TLSany, TLSv1, TLSv1_2, TLSv1_3 or a range such as TLSv1_2-TLSv1_3");

  auto unknown = parse_tls_domains(
      cfg_with({{"server_domain", std::string("e")}, {"crl_dirs", std::string("[e]/crl")}}), &w);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.message(),
            "sipsd.cfg:2:30: tls_mgm: domain 'e': parameter 'crl_dirs' is not a tls_mgm "
            "parameter");
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

using Params = std::vector<std::pair<std::string, ModParamValue>>;

Result<std::vector<TlsDomainConfig>> parse(const Params& params,
                                           std::vector<std::string>* warnings = nullptr) {
  std::vector<std::string> ignored;
  return parse_tls_domains(cfg_with(params), warnings ? warnings : &ignored);
}

std::string parse_error(const Params& params) {
  auto r = parse(params);
  return r.ok() ? std::string("(parsed fine)") : r.message();
}

TEST(TlsDomainConfig, SeveralServerAndClientDomainsWithTheirDefaults) {
  std::vector<std::string> w;
  auto domains = parse({{"server_domain", std::string("sip")},
                        {"match_sip_domain", std::string("[sip]sip.example.com")},
                        {"server_domain", std::string("other")},
                        {"match_sip_domain", std::string("[other]other.example.com")},
                        {"client_domain", std::string("peer")},
                        {"client_domain", std::string("sip")},  // same name, other type
                        {"verify_cert", std::string("[sip]0")},
                        {"match_sip_domain", std::string("[sip]sip.example.com")}},
                       &w);
  ASSERT_TRUE(domains.ok()) << domains.message();
  ASSERT_EQ(domains->size(), 4u);
  const TlsDomainConfig& sip = (*domains)[0];
  const TlsDomainConfig& peer = (*domains)[2];
  const TlsDomainConfig& sip_client = (*domains)[3];
  EXPECT_EQ(sip.kind, TlsDomainKind::kServer);
  EXPECT_EQ(sip.certificate.path, "/etc/sipsd/tls/cert.pem");
  EXPECT_EQ(sip.private_key.path, "/etc/sipsd/tls/ckey.pem");
  EXPECT_TRUE(sip.require_cert);
  EXPECT_TRUE(sip.verify_cert);  // the later client domain 'sip' got the attribute
  EXPECT_EQ(sip.ca_dir.path, "/etc/pki/CA/");
  EXPECT_EQ(sip.verify_depth, 3);
  EXPECT_EQ(sip.tls_method, "SSLv23");
  EXPECT_EQ(sip.min_version, 0);  // the builders apply the 1.2 floor
  EXPECT_FALSE(sip.crl_check_all);

  EXPECT_EQ(peer.kind, TlsDomainKind::kClient);
  EXPECT_FALSE(peer.certificate.set());  // clients have no default certificate
  EXPECT_FALSE(peer.private_key.set());
  EXPECT_FALSE(peer.require_cert);
  EXPECT_TRUE(peer.verify_cert);
  EXPECT_EQ(peer.match_ip_address, std::vector<std::string>{"*"});
  EXPECT_EQ(peer.match_sip_domain, std::vector<std::string>{"*"});

  EXPECT_EQ(sip_client.kind, TlsDomainKind::kClient);
  EXPECT_FALSE(sip_client.verify_cert);
  EXPECT_EQ(sip_client.pos_of("verify_cert").str(), "sipsd.cfg:7:30");
  EXPECT_EQ(sip_client.pos_of("certificate").str(), "sipsd.cfg:6:30");  // the declaration
  EXPECT_EQ(sip_client.match_sip_domain, std::vector<std::string>{"sip.example.com"});
  // Sharing a name across types is allowed, with a warning that says who gets attributes.
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("sipsd.cfg:6:30: tls_mgm: client domain 'sip' has the name of the server "
                      "domain declared at sipsd.cfg:1:30"),
            std::string::npos)
      << w[0];
}

TEST(TlsDomainConfig, EveryAttribute) {
  auto domains = parse({{"server_domain", std::string("d")},
                        {"certificate", std::string("[d]/c/cert.pem")},
                        {"private_key", std::string("[d]/c/key.pem")},
                        {"ca_list", std::string("[d]/c/ca.pem")},
                        {"ca_dir", std::string("[d]/c/cas")},
                        {"crl_dir", std::string("[d]/c/crl")},
                        {"crl_check_all", std::string("[d]1")},
                        {"verify_cert", std::string("[d]1")},
                        {"require_cert", std::string("[d]0")},
                        {"ciphers_list", std::string("[d]ECDHE+AESGCM")},
                        {"ciphersuites", std::string("[d]TLS_AES_256_GCM_SHA384")},
                        {"tls_method", std::string("[d]TLSv1_2-TLSv1_3")},
                        {"dh_params", std::string("[d]/c/dh.pem")},
                        {"ec_curve", std::string("[d]X25519:P-256")},
                        {"verify_depth", std::string("[d]5")}});
  ASSERT_TRUE(domains.ok()) << domains.message();
  const TlsDomainConfig& d = (*domains)[0];
  EXPECT_EQ(d.certificate.path, "/c/cert.pem");
  EXPECT_EQ(d.certificate.pos.str(), "sipsd.cfg:2:30");
  EXPECT_EQ(d.private_key.path, "/c/key.pem");
  EXPECT_EQ(d.ca_list.path, "/c/ca.pem");
  EXPECT_EQ(d.ca_dir.path, "/c/cas");
  EXPECT_EQ(d.crl_dir.path, "/c/crl");
  EXPECT_EQ(d.crl_dir.pos.str(), "sipsd.cfg:6:30");
  EXPECT_TRUE(d.crl_check_all);
  EXPECT_TRUE(d.verify_cert);
  EXPECT_FALSE(d.require_cert);
  EXPECT_EQ(d.ciphers_list, "ECDHE+AESGCM");
  EXPECT_EQ(d.ciphersuites, "TLS_AES_256_GCM_SHA384");
  EXPECT_EQ(d.tls_method, "TLSv1_2-TLSv1_3");
  EXPECT_EQ(d.min_version, TLS1_2_VERSION);
  EXPECT_EQ(d.max_version, TLS1_3_VERSION);
  EXPECT_EQ(d.dh_params.path, "/c/dh.pem");
  EXPECT_EQ(d.ec_curve, "X25519:P-256");
  EXPECT_EQ(d.verify_depth, 5);
  EXPECT_TRUE(d.is_set("ec_curve"));
  EXPECT_FALSE(d.is_set("match_ip_address"));
}

TEST(TlsDomainConfig, MatchIpAddressIsCanonicalised) {
  auto domains = parse({{"server_domain", std::string("d")},
                        {"match_ip_address",
                         std::string("[d] 127.0.0.1:5061, [2001:DB8:0:0::1]:5061,2001:db8::1:5061 "
                                     ",::ffff:10.0.0.1:5062, *")}});
  ASSERT_TRUE(domains.ok()) << domains.message();
  EXPECT_EQ(
      (*domains)[0].match_ip_address,
      (std::vector<std::string>{"127.0.0.1:5061", "[2001:db8::1]:5061", "10.0.0.1:5062", "*"}));

  // A list that starts with "*" is "any", as in OpenSIPS; the rest is ignored with a warning.
  std::vector<std::string> w;
  auto any = parse({{"server_domain", std::string("d")},
                    {"match_ip_address", std::string("[d]*, 10.0.0.1:5061")}},
                   &w);
  ASSERT_TRUE(any.ok()) << any.message();
  EXPECT_EQ((*any)[0].match_ip_address, std::vector<std::string>{"*"});
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("sipsd.cfg:2:30: tls_mgm: domain 'd': parameter 'match_ip_address' "
                      "starts with \"*\""),
            std::string::npos)
      << w[0];

  EXPECT_EQ(
      parse_error({{"server_domain", std::string("d")},
                   {"match_ip_address", std::string("[d]10.0.0.1:5061,sip.example.com:5061")}}),
      "sipsd.cfg:2:30: tls_mgm: domain 'd': parameter 'match_ip_address' entry "
      "\"sip.example.com:5061\" is not an IP:port (e.g. 192.0.2.7:5061 or "
      "[2001:db8::7]:5061) or \"*\"");
  EXPECT_NE(parse_error({{"server_domain", std::string("d")},
                         {"match_ip_address", std::string("[d]10.0.0.1")}})
                .find("entry \"10.0.0.1\" is not an IP:port"),
            std::string::npos);
  EXPECT_NE(parse_error(
                {{"server_domain", std::string("d")}, {"match_ip_address", std::string("[d] , ")}})
                .find("parameter 'match_ip_address' expects a comma-separated list"),
            std::string::npos);
}

TEST(TlsDomainConfig, MatchSipDomainIsLowerCasedWithNoneAndStar) {
  auto domains =
      parse({{"server_domain", std::string("d")},
             {"match_sip_domain", std::string("[d]SIP.Example.COM, *.Wild.example.com,none,*")}});
  ASSERT_TRUE(domains.ok()) << domains.message();
  EXPECT_EQ((*domains)[0].match_sip_domain,
            (std::vector<std::string>{"sip.example.com", "*.wild.example.com", "none", "*"}));
  auto none =
      parse({{"server_domain", std::string("d")}, {"match_sip_domain", std::string("[d]NONE")}});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ((*none)[0].match_sip_domain, std::vector<std::string>{"none"});
  EXPECT_NE(parse_error({{"server_domain", std::string("d")},
                         {"match_sip_domain", std::string("[d]sip example.com")}})
                .find("sipsd.cfg:2:30: tls_mgm: domain 'd': parameter 'match_sip_domain' entry "
                      "\"sip example.com\" is not a domain pattern"),
            std::string::npos);
}

TEST(TlsDomainConfig, DuplicateMatchKeysNameBothDomainsAndPlaces) {
  // Two server domains with the default *,* match.
  EXPECT_EQ(parse_error({{"server_domain", std::string("a")}, {"server_domain", std::string("b")}}),
            "sipsd.cfg:2:30: tls_mgm: domain 'b': parameter 'match_ip_address' matches address * "
            "(any address) with SIP domain '*', as server domain 'a' already does "
            "(match_ip_address at sipsd.cfg:1:30): a connection could not tell the two apart");

  // The same address in two spellings, the same SNI in two cases.
  std::string e =
      parse_error({{"server_domain", std::string("a")},
                   {"match_ip_address", std::string("[a][2001:db8::1]:5061")},
                   {"match_sip_domain", std::string("[a]sip.example.com")},
                   {"server_domain", std::string("b")},
                   {"match_sip_domain", std::string("[b]other.example.com,SIP.example.com")},
                   {"match_ip_address", std::string("[b]10.0.0.1:5061, 2001:DB8:0::1:5061")}});
  EXPECT_EQ(e,
            "sipsd.cfg:6:30: tls_mgm: domain 'b': parameter 'match_ip_address' matches address "
            "[2001:db8::1]:5061 with SIP domain 'sip.example.com', as server domain 'a' already "
            "does (match_sip_domain at sipsd.cfg:3:30): a connection could not tell the two "
            "apart");

  // "*" is a key of its own: it does not clash with a concrete address, nor a server domain
  // with a client domain.
  auto ok = parse({{"server_domain", std::string("a")},
                   {"server_domain", std::string("b")},
                   {"match_ip_address", std::string("[b]127.0.0.1:5061")},
                   {"server_domain", std::string("c")},
                   {"match_sip_domain", std::string("[c]none")},
                   {"client_domain", std::string("a")}});
  EXPECT_TRUE(ok.ok()) << ok.message();

  // Client domains clash among themselves.
  EXPECT_NE(parse_error({{"client_domain", std::string("x")},
                         {"client_domain", std::string("y")},
                         {"match_sip_domain", std::string("[x]example.com")},
                         {"match_sip_domain", std::string("[y]Example.com")}})
                .find("domain 'y': parameter 'match_sip_domain' matches address * (any address) "
                      "with SIP domain 'example.com', as client domain 'x' already does "
                      "(match_sip_domain at sipsd.cfg:3:30)"),
            std::string::npos);
}

TEST(TlsDomainConfig, ValueErrorsNameDomainParameterAndPlace) {
  EXPECT_EQ(
      parse_error({{"server_domain", std::string("d")}, {"verify_depth", std::string("[d]101")}}),
      "sipsd.cfg:2:30: tls_mgm: domain 'd': parameter 'verify_depth' expects a number of "
      "intermediate CAs 0..100, got \"101\"");
  auto zero = parse({{"server_domain", std::string("d")}, {"verify_depth", std::string("[d]0")}});
  ASSERT_TRUE(zero.ok()) << zero.message();
  EXPECT_EQ((*zero)[0].verify_depth, 0);  // the peer's issuer must be a trusted CA itself
  EXPECT_NE(
      parse_error({{"server_domain", std::string("d")}, {"verify_depth", std::string("[d]x")}})
          .find("parameter 'verify_depth' expects a number"),
      std::string::npos);
  EXPECT_EQ(
      parse_error({{"server_domain", std::string("d")}, {"crl_check_all", std::string("[d]2")}}),
      "sipsd.cfg:2:30: tls_mgm: domain 'd': parameter 'crl_check_all' expects 0 or 1, got "
      "\"2\"");
  EXPECT_EQ(parse_error({{"server_domain", std::string("d")}, {"ec_curve", std::string("[d]")}}),
            "sipsd.cfg:2:30: tls_mgm: domain 'd': parameter 'ec_curve' must not be empty");
  EXPECT_EQ(parse_error({{"server_domain", std::string("d")}, {"crl_dir", std::string("[d]")}}),
            "sipsd.cfg:2:30: tls_mgm: domain 'd': parameter 'crl_dir' expects a file name after "
            "[d]");
  EXPECT_EQ(parse_error({{"server_domain", std::string("d")}, {"server_domain", std::string("d")}}),
            "sipsd.cfg:2:30: tls_mgm: server domain 'd' is declared twice (first at "
            "sipsd.cfg:1:30)");
  EXPECT_EQ(parse_error({{"client_domain", std::string("c")},
                         {"certificate", std::string("[c]/c/client.pem")}}),
            "sipsd.cfg:2:30: tls_mgm: domain 'c': parameter 'certificate' is set but "
            "'private_key' is not: a client domain needs both or neither");
  EXPECT_NE(parse_error({{"client_domain", std::string("bad]name")}}).find("cannot contain"),
            std::string::npos);
  // An attribute before any declaration of the name (today's message).
  EXPECT_EQ(
      parse_error({{"server_domain", std::string("d")}, {"ca_list", std::string("[c]/ca.pem")}}),
      "sipsd.cfg:2:30: tls_mgm: parameter 'ca_list' refers to domain 'c', which is not "
      "declared (server_domain or client_domain must come first)");
}

TEST(TlsDomainConfig, RequireCertOnAClientDomainWarns) {
  std::vector<std::string> w;
  auto d = parse({{"client_domain", std::string("c")}, {"require_cert", std::string("[c]1")}}, &w);
  ASSERT_TRUE(d.ok()) << d.message();
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("sipsd.cfg:2:30: tls_mgm: domain 'c': parameter 'require_cert' has no "
                      "effect on a client domain"),
            std::string::npos)
      << w[0];
}

TEST(TlsDomainConfig, ModuleWideParametersAreNotDomainAttributes) {
  Params params = {{"ticket_key_file", std::string("/etc/sipsd/tickets.key")},
                   {"server_domain", std::string("d")},
                   {"ticket_key_interval", int64_t{3600}}};
  auto domains = parse(params);
  ASSERT_TRUE(domains.ok()) << domains.message();
  EXPECT_EQ(domains->size(), 1u);

  Result<TlsMgmGlobals> g = parse_tls_globals(cfg_with(params));
  ASSERT_TRUE(g.ok()) << g.message();
  EXPECT_EQ(g->ticket_key_file, "/etc/sipsd/tickets.key");
  EXPECT_EQ(g->ticket_key_file_pos.str(), "sipsd.cfg:1:30");
  EXPECT_EQ(g->ticket_key_interval, 3600);

  Result<TlsMgmGlobals> defaults = parse_tls_globals(cfg_with({}));
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->ticket_key_file, "");
  EXPECT_EQ(defaults->ticket_key_interval, 43200);

  Result<TlsMgmGlobals> small = parse_tls_globals(cfg_with({{"ticket_key_interval", int64_t{59}}}));
  ASSERT_FALSE(small.ok());
  EXPECT_EQ(small.message(),
            "sipsd.cfg:1:30: tls_mgm: parameter 'ticket_key_interval' must be 60..604800 seconds");
}

TEST(TlsDomainConfig, ClientDomainAvpsTakeANameOrAnAvpSpec) {
  Result<TlsMgmGlobals> g =
      parse_tls_globals(cfg_with({{"client_sip_domain_avp", std::string("tls_sip_dom")},
                                  {"client_tls_domain_avp", std::string("$avp(tls_dom)")}}));
  ASSERT_TRUE(g.ok()) << g.message();
  EXPECT_EQ(g->client_sip_domain_avp, "tls_sip_dom");
  EXPECT_EQ(g->client_tls_domain_avp, "tls_dom");
  EXPECT_EQ(parse_tls_globals(cfg_with({}))->client_sip_domain_avp, "");
  for (const char* bad : {"", "$var(x)", "$avp()", "two words"}) {
    Result<TlsMgmGlobals> b =
        parse_tls_globals(cfg_with({{"client_sip_domain_avp", std::string(bad)}}));
    ASSERT_FALSE(b.ok()) << bad;
    EXPECT_EQ(b.message(),
              "sipsd.cfg:1:30: tls_mgm: parameter 'client_sip_domain_avp' expects an "
              "AVP name (\"tls_dom\" or \"$avp(tls_dom)\")")
        << bad;
  }
}

TEST(TlsDomainConfig, FromACfgFile) {
  // Through the real cfg loader: the schema rows, int values of module-wide parameters, and
  // proto_tls's cert_check_on_conn_reusage.
  Result<Config> cfg = load_config_text(
      "socket=tls:127.0.0.1:5061\n"
      "loadmodule \"proto_tls.so\"\n"
      "loadmodule \"tls_mgm.so\"\n"
      "modparam(\"proto_tls\", \"cert_check_on_conn_reusage\", 0)\n"
      "modparam(\"tls_mgm\", \"ticket_key_interval\", 600)\n"
      "modparam(\"tls_mgm\", \"server_domain\", \"d\")\n"
      "modparam(\"tls_mgm\", \"ciphersuites\", \"[d]TLS_AES_128_GCM_SHA256\")\n"
      "modparam(\"tls_mgm\", \"verify_depth\", \"[d]2\")\n"
      "route { exit; }\n",
      "t.cfg");
  ASSERT_TRUE(cfg.ok()) << cfg.message();
  EXPECT_FALSE(cfg->tls.cert_check_on_conn_reusage);
  Result<TlsMgmGlobals> g = parse_tls_globals(*cfg);
  ASSERT_TRUE(g.ok()) << g.message();
  EXPECT_EQ(g->ticket_key_interval, 600);
  std::vector<std::string> w;
  auto domains = parse_tls_domains(*cfg, &w);
  ASSERT_TRUE(domains.ok()) << domains.message();
  EXPECT_EQ((*domains)[0].ciphersuites, "TLS_AES_128_GCM_SHA256");
  EXPECT_EQ((*domains)[0].verify_depth, 2);

  Result<Config> bad = load_config_text(
      "loadmodule \"tls_mgm.so\"\nmodparam(\"tls_mgm\", \"ticket_key_interval\", 30)\n"
      "route { exit; }\n",
      "t.cfg");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("60..604800"), std::string::npos) << bad.message();

  Result<Config> defaults = load_config_text(
      "socket=tls:127.0.0.1:5061\nloadmodule \"proto_tls.so\"\nloadmodule \"tls_mgm.so\"\n"
      "route { exit; }\n",
      "t.cfg");
  ASSERT_TRUE(defaults.ok()) << defaults.message();
  EXPECT_TRUE(defaults->tls.cert_check_on_conn_reusage);
}

}  // namespace
}  // namespace sipsd
