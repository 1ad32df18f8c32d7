// tls_mgm's loader against the test PKI (tests/gen_certs.sh): every check at load, with the
// domain, the parameter, the file and the cfg position in the message.
#include "tls_mgm/tls_loader.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tests/unit/support/test_certs.h"
#include "tls_mgm/openssl_ptr.h"

namespace sipsd {
namespace {

using test::unit_cert;
using Params = std::vector<std::pair<std::string, std::string>>;

// modparam("tls_mgm", name, value) lines at sipsd.cfg:1:30, 2:30, ...
Config cfg_with(const Params& params) {
  Config cfg;
  cfg.path = "/etc/sipsd/sipsd.cfg";
  int line = 1;
  for (const auto& [name, value] : params) {
    ModParam p;
    p.module = "tls_mgm";
    p.name = name;
    p.value = value;
    p.pos = CfgPos{"sipsd.cfg", line++, 30};
    cfg.tls_mgm_params.push_back(p);
  }
  return cfg;
}

struct Loaded {
  Result<tls::TlsSnapshot> snap = make_error("not loaded");
  std::vector<std::string> warnings;
  std::string error() const { return snap.ok() ? "(loaded fine)" : snap.message(); }
  std::string all_warnings() const {
    std::string s;
    for (const auto& w : warnings) s += w + "\n";
    return s;
  }
};

Loaded load(const Params& params) {
  Loaded out;
  auto domains = parse_tls_domains(cfg_with(params), &out.warnings);
  if (!domains.ok()) {
    out.snap = domains.error();
    return out;
  }
  out.snap = load_tls_snapshot(*domains, &out.warnings);
  return out;
}

// A server domain "d" (sipsd.cfg:1:30) with certificate CERT (line 2), private_key KEY (line 3),
// then `more` from line 4 on.
Params server(const std::string& cert, const std::string& key, Params more = {}) {
  auto path = [](const std::string& f) { return f[0] == '/' ? f : unit_cert(f); };
  Params p = {{"server_domain", "d"},
              {"certificate", "[d]" + path(cert)},
              {"private_key", "[d]" + path(key)}};
  p.insert(p.end(), more.begin(), more.end());
  return p;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = std::filesystem::temp_directory_path().string() + "/tls-loader-XXXXXX";
    path_ = mkdtemp(tmpl.data()) ? tmpl : "";
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string write(const std::string& name, const std::string& content, mode_t mode = 0644) {
    std::string p = path_ + "/" + name;
    std::ofstream(p) << content;
    chmod(p.c_str(), mode);
    return p;
  }

 private:
  std::string path_;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(TlsLoader, AGoodServerDomainLoadsEverything) {
  Loaded l = load(server("cert.pem", "ckey.pem",
                         {{"ca_list", "[d]" + unit_cert("ca.pem")},
                          {"crl_dir", "[d]" + unit_cert("crl")},
                          {"crl_check_all", "[d]1"},
                          {"dh_params", "[d]" + unit_cert("dh.pem")},
                          {"ec_curve", "[d]X25519:P-256"},
                          {"ciphers_list", "[d]ECDHE+AESGCM"},
                          {"ciphersuites", "[d]TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256"},
                          {"verify_depth", "[d]4"},
                          {"tls_method", "[d]TLSv1_2-TLSv1_3"},
                          {"match_ip_address", "[d]127.0.0.1:5061"}}));
  ASSERT_TRUE(l.snap.ok()) << l.error();
  EXPECT_EQ(l.all_warnings(), "");
  ASSERT_EQ(l.snap->server_domains_size(), 1);
  const tls::TlsDomain& d = l.snap->server_domains(0);
  EXPECT_EQ(d.name(), "d");
  EXPECT_EQ(d.type(), tls::DOMAIN_TYPE_SERVER);
  EXPECT_EQ(d.certificate_pem(), slurp(unit_cert("cert.pem")));
  EXPECT_EQ(d.certificate_path(), unit_cert("cert.pem"));
  EXPECT_EQ(d.private_key_pem(), slurp(unit_cert("ckey.pem")));
  EXPECT_EQ(d.ca_list_pem(), slurp(unit_cert("ca.pem")));
  EXPECT_EQ(d.crl_pem(), slurp(unit_cert("crl/ca.crl")));
  EXPECT_EQ(d.crl_dir(), unit_cert("crl"));
  ASSERT_EQ(d.crl_files_size(), 1);
  EXPECT_EQ(d.crl_files(0), unit_cert("crl/ca.crl"));
  EXPECT_TRUE(d.crl_check_all());
  EXPECT_EQ(d.dh_params_pem(), slurp(unit_cert("dh.pem")));
  EXPECT_EQ(d.dh_params_path(), unit_cert("dh.pem"));
  EXPECT_EQ(d.ec_curve(), "X25519:P-256");
  EXPECT_EQ(d.ciphers_list(), "ECDHE+AESGCM");
  EXPECT_EQ(d.ciphersuites(), "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256");
  ASSERT_TRUE(d.has_verify_depth());
  EXPECT_EQ(d.verify_depth(), 4);
  EXPECT_EQ(d.tls_method(), "TLSv1_2-TLSv1_3");
  EXPECT_EQ(d.min_version(), TLS1_2_VERSION);
  EXPECT_EQ(d.max_version(), TLS1_3_VERSION);
  ASSERT_EQ(d.match_ip_address_size(), 1);
  EXPECT_EQ(d.match_ip_address(0), "127.0.0.1:5061");
  EXPECT_EQ(d.match_sip_domain(0), "*");
  EXPECT_TRUE(d.verify_cert());
  EXPECT_TRUE(d.require_cert());
}

TEST(TlsLoader, ServerAndClientDomainsGoToTheirLists) {
  Loaded l = load({{"server_domain", "srv"},
                   {"certificate", "[srv]" + unit_cert("other-example.pem")},  // RSA
                   {"private_key", "[srv]" + unit_cert("other-example-key.pem")},
                   {"verify_cert", "[srv]0"},
                   {"client_domain", "anon"},  // no certificate: allowed for clients
                   {"ca_list", "[anon]" + unit_cert("ca.pem")},
                   {"match_sip_domain", "[anon]example.net"},
                   {"client_domain", "alice"},
                   {"certificate", "[alice]" + unit_cert("client.pem")},
                   {"private_key", "[alice]" + unit_cert("client-key.pem")},
                   {"ca_list", "[alice]" + unit_cert("ca.pem")}});
  ASSERT_TRUE(l.snap.ok()) << l.error();
  EXPECT_EQ(l.all_warnings(), "");
  ASSERT_EQ(l.snap->server_domains_size(), 1);
  ASSERT_EQ(l.snap->client_domains_size(), 2);
  EXPECT_EQ(l.snap->client_domains(0).name(), "anon");
  EXPECT_EQ(l.snap->client_domains(0).type(), tls::DOMAIN_TYPE_CLIENT);
  EXPECT_TRUE(l.snap->client_domains(0).certificate_pem().empty());
  EXPECT_FALSE(l.snap->client_domains(0).require_cert());
  EXPECT_EQ(l.snap->client_domains(1).certificate_path(), unit_cert("client.pem"));
}

TEST(TlsLoader, UnreadableFilesNameDomainParameterFileAndPlace) {
  Loaded l = load(server("cert.pem", "ckey.pem", {{"ca_list", "[d]/nonexistent/ca.pem"}}));
  EXPECT_EQ(l.error(),
            "sipsd.cfg:4:30: tls_mgm: domain 'd': parameter 'ca_list': file '/nonexistent/ca.pem': "
            "No such file or directory");

  Loaded cert = load({{"server_domain", "d"}, {"private_key", "[d]" + unit_cert("ckey.pem")}});
  // The default certificate, <cfg dir>/tls/cert.pem, named at the declaration.
  EXPECT_EQ(cert.error(),
            "sipsd.cfg:1:30: tls_mgm: domain 'd': parameter 'certificate': file "
            "'/etc/sipsd/tls/cert.pem': No such file or directory");

  Loaded dir = load(server(".", "ckey.pem"));
  EXPECT_TRUE(contains(
      dir.error(), "parameter 'certificate': file '" + unit_cert(".") + "': not a regular file"))
      << dir.error();

  TempDir tmp;
  Loaded empty = load(server(tmp.write("empty.pem", "nothing here"), "ckey.pem"));
  EXPECT_TRUE(contains(empty.error(),
                       "sipsd.cfg:2:30: tls_mgm: domain 'd': parameter "
                       "'certificate': file '" +
                           tmp.path() + "/empty.pem': no PEM certificate"))
      << empty.error();
}

TEST(TlsLoader, KeyChecks) {
  Loaded world = load(server("cert.pem", "key-world-readable.pem"));
  EXPECT_EQ(world.error(), "sipsd.cfg:3:30: tls_mgm: domain 'd': parameter 'private_key': file '" +
                               unit_cert("key-world-readable.pem") +
                               "': readable by other users (mode 0644); chmod 600 it");

  TempDir tmp;
  std::string writable = tmp.write("w-key.pem", slurp(unit_cert("ckey.pem")), 0602);
  Loaded w = load(server("cert.pem", writable));
  EXPECT_TRUE(contains(w.error(), "writable by other users (mode 0602)")) << w.error();

  Loaded mismatch = load(server("cert.pem", "other-key.pem"));
  EXPECT_EQ(mismatch.error(),
            "sipsd.cfg:3:30: tls_mgm: domain 'd': parameter 'private_key': file '" +
                unit_cert("other-key.pem") + "': does not match the certificate '" +
                unit_cert("cert.pem") + "' (/CN=localhost)");

  std::string not_a_key = tmp.write("ca-as-key.pem", slurp(unit_cert("ca.pem")), 0600);
  Loaded not_key = load(server("cert.pem", not_a_key));
  EXPECT_TRUE(contains(not_key.error(), "parameter 'private_key': file '" + not_a_key +
                                            "': not an unencrypted PEM private key"))
      << not_key.error();
}

TEST(TlsLoader, ExpiredAndNotYetValidCertificatesAreErrorsWithTheDate) {
  Loaded expired = load(server("server-expired.pem", "server-expired-key.pem"));
  EXPECT_TRUE(contains(expired.error(),
                       "sipsd.cfg:2:30: tls_mgm: domain 'd': parameter "
                       "'certificate': file '" +
                           unit_cert("server-expired.pem") + "': expired on "))
      << expired.error();
  EXPECT_TRUE(contains(expired.error(), " GMT (/CN=localhost)")) << expired.error();

  Loaded notyet = load(server("server-notyet.pem", "server-notyet-key.pem"));
  EXPECT_TRUE(contains(notyet.error(), "parameter 'certificate': file '" +
                                           unit_cert("server-notyet.pem") + "': not valid before "))
      << notyet.error();

  // Client domains too.
  Loaded client = load({{"client_domain", "c"},
                        {"certificate", "[c]" + unit_cert("client-expired.pem")},
                        {"private_key", "[c]" + unit_cert("client-expired-key.pem")}});
  EXPECT_TRUE(contains(client.error(), "domain 'c': parameter 'certificate': file '" +
                                           unit_cert("client-expired.pem") + "': expired on "))
      << client.error();
}

TEST(TlsLoader, ExpiringWithinTwoWeeksWarnsWithDateAndDaysLeft) {
  Loaded l =
      load(server("server-expiring.pem", "server-expiring-key.pem", {{"verify_cert", "[d]0"}}));
  ASSERT_TRUE(l.snap.ok()) << l.error();
  ASSERT_EQ(l.warnings.size(), 1u) << l.all_warnings();
  const std::string& w = l.warnings[0];
  EXPECT_TRUE(contains(w, "sipsd.cfg:2:30: tls_mgm: domain 'd': parameter 'certificate': file '" +
                              unit_cert("server-expiring.pem") + "': expires on "))
      << w;
  // Valid 5 days from its creation; gen_certs.sh renews it when fewer than 4 days are left.
  EXPECT_TRUE(contains(w, " GMT (in 5 days; /CN=localhost)") ||
              contains(w, " GMT (in 4 days; /CN=localhost)") ||
              contains(w, " GMT (in 3 days; /CN=localhost)"))
      << w;

  Loaded fine = load(server("cert.pem", "ckey.pem", {{"verify_cert", "[d]0"}}));
  EXPECT_EQ(fine.all_warnings(), "");
}

TEST(TlsLoader, VerifyingPeersWithoutAnyCaWarns) {
  Loaded l = load(server("cert.pem", "ckey.pem", {{"ca_dir", "[d]" + unit_cert("crl")}}));
  ASSERT_TRUE(l.snap.ok()) << l.error();
  // A ca_dir without hashed links: the chain check cannot find the issuer (a warning only).
  ASSERT_EQ(l.warnings.size(), 1u) << l.all_warnings();
  EXPECT_TRUE(contains(l.warnings[0], "its chain does not lead to ca_dir")) << l.warnings[0];
  if (!std::filesystem::exists("/etc/pki/CA/")) {
    Loaded none = load(server("cert.pem", "ckey.pem"));
    ASSERT_TRUE(none.snap.ok()) << none.error();
    ASSERT_EQ(none.warnings.size(), 1u) << none.all_warnings();
    EXPECT_EQ(none.warnings[0],
              "sipsd.cfg:1:30: tls_mgm: domain 'd': parameter 'verify_cert' is 1 but there is "
              "no ca_list or ca_dir: every peer certificate will be refused");
  }
}

TEST(TlsLoader, ChainFromTheCertificateFileIsVerifiedAgainstTheDomainCas) {
  Loaded ok = load(server("server-chain.pem", "server-chain-key.pem",
                          {{"ca_list", "[d]" + unit_cert("ca.pem")}}));
  ASSERT_TRUE(ok.snap.ok()) << ok.error();
  EXPECT_EQ(ok.all_warnings(), "");

  // The CAs a server trusts for its clients need not include its own issuer: a warning.
  Loaded other_ca =
      load(server("cert.pem", "ckey.pem", {{"ca_list", "[d]" + unit_cert("ca2.pem")}}));
  ASSERT_TRUE(other_ca.snap.ok()) << other_ca.error();
  ASSERT_EQ(other_ca.warnings.size(), 1u) << other_ca.all_warnings();
  EXPECT_TRUE(contains(other_ca.warnings[0],
                       "sipsd.cfg:2:30: tls_mgm: domain 'd': parameter 'certificate': file '" +
                           unit_cert("cert.pem") + "': its chain does not lead to ca_list '" +
                           unit_cert("ca2.pem") + "': unable to get local issuer certificate"))
      << other_ca.warnings[0];

  // Any other failure is an error: here the intermediate in the file has expired.
  Loaded expired_int =
      load(server("server-chain-expired-int.pem", "server-chain-expired-int-key.pem",
                  {{"ca_list", "[d]" + unit_cert("ca.pem")}}));
  EXPECT_TRUE(contains(expired_int.error(),
                       "sipsd.cfg:2:30: tls_mgm: domain 'd': parameter 'certificate': file '" +
                           unit_cert("server-chain-expired-int.pem") +
                           "': its chain does not verify against ca_list '" + unit_cert("ca.pem") +
                           "': certificate has expired at depth 1 (/CN=sipsd test expired "
                           "intermediate CA)"))
      << expired_int.error();

  // A ca_dir (c_rehash layout) counts like a ca_list.
  TempDir tmp;
  std::string cas = tmp.path() + "/cas";
  std::filesystem::create_directory(cas);
  std::filesystem::copy_file(unit_cert("ca.pem"), cas + "/ca.pem");
  std::string ca_pem = slurp(unit_cert("ca.pem"));
  BioPtr ca_bio(BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size())));
  X509Ptr ca(PEM_read_bio_X509(ca_bio.get(), nullptr, nullptr, nullptr));
  ASSERT_TRUE(ca);
  std::filesystem::create_symlink(
      "ca.pem", cas + "/" + strprintf("%08lx.0", X509_subject_name_hash(ca.get())));
  Loaded dir = load(server("server-chain.pem", "server-chain-key.pem", {{"ca_dir", "[d]" + cas}}));
  ASSERT_TRUE(dir.snap.ok()) << dir.error();
  EXPECT_EQ(dir.all_warnings(), "");
  EXPECT_EQ(dir.snap->server_domains(0).ca_dir(), cas);

  Loaded no_dir = load(server("cert.pem", "ckey.pem", {{"ca_dir", "[d]/nonexistent/cas"}}));
  EXPECT_EQ(no_dir.error(),
            "sipsd.cfg:4:30: tls_mgm: domain 'd': parameter 'ca_dir': file "
            "'/nonexistent/cas': No such file or directory");

  Loaded bad_list =
      load(server("cert.pem", "ckey.pem", {{"ca_list", "[d]" + unit_cert("dh.pem")}}));
  EXPECT_TRUE(contains(bad_list.error(), "parameter 'ca_list': file '" + unit_cert("dh.pem") +
                                             "': no PEM certificate in the file"))
      << bad_list.error();
}

TEST(TlsLoader, CrlDirectory) {
  // Past its nextUpdate: a warning naming the file and the date.
  Loaded stale = load(server(
      "cert.pem", "ckey.pem",
      {{"ca_list", "[d]" + unit_cert("ca.pem")}, {"crl_dir", "[d]" + unit_cert("crl-stale")}}));
  ASSERT_TRUE(stale.snap.ok()) << stale.error();
  ASSERT_EQ(stale.warnings.size(), 1u) << stale.all_warnings();
  EXPECT_TRUE(contains(stale.warnings[0],
                       "sipsd.cfg:5:30: tls_mgm: domain 'd': parameter 'crl_dir': file '" +
                           unit_cert("crl-stale/ca.crl") +
                           "': the CRL of /CN=sipsd test CA was due for renewal on "))
      << stale.warnings[0];

  // Several files, several CRLs per file; every regular file is read.
  TempDir tmp;
  std::string crl = slurp(unit_cert("crl/ca.crl"));
  tmp.write("a.pem", crl + crl);
  tmp.write("b.crl", crl);
  std::filesystem::create_directory(tmp.path() + "/subdir");  // not a regular file: skipped
  Loaded many = load(
      server("cert.pem", "ckey.pem", {{"verify_cert", "[d]0"}, {"crl_dir", "[d]" + tmp.path()}}));
  ASSERT_TRUE(many.snap.ok()) << many.error();
  EXPECT_EQ(many.snap->server_domains(0).crl_files_size(), 2);
  EXPECT_EQ(many.snap->server_domains(0).crl_pem(), crl + crl + crl);

  // An unparsable file is an error naming it.
  tmp.write("c.txt", "not a CRL\n");
  Loaded bad = load(
      server("cert.pem", "ckey.pem", {{"verify_cert", "[d]0"}, {"crl_dir", "[d]" + tmp.path()}}));
  EXPECT_TRUE(contains(bad.error(),
                       "sipsd.cfg:5:30: tls_mgm: domain 'd': parameter 'crl_dir': "
                       "file '" +
                           tmp.path() + "/c.txt': not a PEM CRL file"))
      << bad.error();

  // A certificate is not a CRL either.
  TempDir tmp2;
  tmp2.write("cert.pem", slurp(unit_cert("cert.pem")));
  Loaded cert = load(server("cert.pem", "ckey.pem", {{"crl_dir", "[d]" + tmp2.path()}}));
  EXPECT_TRUE(contains(cert.error(), "/cert.pem': not a PEM CRL file")) << cert.error();

  // A damaged CRL after a good one.
  TempDir tmp3;
  std::string damaged = crl;
  damaged.replace(damaged.find('\n') + 5, 8, "!!!!!!!!");  // inside the base64 body
  tmp3.write("x.crl", crl + damaged);
  Loaded dmg = load(server("cert.pem", "ckey.pem", {{"crl_dir", "[d]" + tmp3.path()}}));
  EXPECT_TRUE(contains(dmg.error(), "/x.crl': a CRL in it cannot be parsed")) << dmg.error();

  TempDir empty;
  Loaded none = load(server("cert.pem", "ckey.pem", {{"crl_dir", "[d]" + empty.path()}}));
  EXPECT_TRUE(
      contains(none.error(), "parameter 'crl_dir': file '" + empty.path() + "': holds no CRL file"))
      << none.error();

  Loaded missing = load(server("cert.pem", "ckey.pem", {{"crl_dir", "[d]/nonexistent/crl"}}));
  EXPECT_EQ(missing.error(),
            "sipsd.cfg:4:30: tls_mgm: domain 'd': parameter 'crl_dir': file "
            "'/nonexistent/crl': No such file or directory");
  Loaded file = load(server("cert.pem", "ckey.pem", {{"crl_dir", "[d]" + unit_cert("ca.pem")}}));
  EXPECT_TRUE(contains(file.error(),
                       "parameter 'crl_dir': file '" + unit_cert("ca.pem") + "': not a directory"))
      << file.error();
}

TEST(TlsLoader, DhParams) {
  Loaded bad = load(server("cert.pem", "ckey.pem", {{"dh_params", "[d]" + unit_cert("ca.pem")}}));
  EXPECT_TRUE(contains(bad.error(),
                       "sipsd.cfg:4:30: tls_mgm: domain 'd': parameter 'dh_params': "
                       "file '" +
                           unit_cert("ca.pem") + "': not PEM DH parameters"))
      << bad.error();
  Loaded missing = load(server("cert.pem", "ckey.pem", {{"dh_params", "[d]/nonexistent/dh.pem"}}));
  EXPECT_TRUE(
      contains(missing.error(), "parameter 'dh_params': file '/nonexistent/dh.pem': No such"))
      << missing.error();
}

// OpenSIPS's "TLSv1" is TLS 1.0 only (the menuconfig cfgs' value): it loads, with a warning that
// no handshake can succeed; a range from TLSv1 up loads without one.
TEST(TlsLoader, ATlsMethodBelowTls12WithTheDefaultCiphersIsWarnedAbout) {
  Loaded pinned =
      load(server("cert.pem", "ckey.pem", {{"verify_cert", "[d]0"}, {"tls_method", "[d]TLSv1"}}));
  ASSERT_TRUE(pinned.snap.ok()) << pinned.error();
  EXPECT_TRUE(contains(pinned.all_warnings(),
                       "tls_mgm: domain 'd': parameter 'tls_method': \"TLSv1\" allows only TLS "
                       "versions below 1.2, for which the default cipher list has no cipher"))
      << pinned.all_warnings();
  Loaded range =
      load(server("cert.pem", "ckey.pem", {{"verify_cert", "[d]0"}, {"tls_method", "[d]TLSv1-"}}));
  ASSERT_TRUE(range.snap.ok()) << range.error();
  EXPECT_FALSE(contains(range.all_warnings(), "every handshake will fail")) << range.all_warnings();
}

TEST(TlsLoader, OpenSslListsAreTriedAndTheParameterNamed) {
  Params base = {{"verify_cert", "[d]0"}};
  auto with = [&](const char* name, const char* value) {
    Params p = base;
    p.emplace_back(name, std::string("[d]") + value);
    return load(server("cert.pem", "ckey.pem", p));
  };
  EXPECT_TRUE(contains(with("ec_curve", "P-999").error(),
                       "sipsd.cfg:5:30: tls_mgm: domain 'd': parameter 'ec_curve': \"P-999\" is "
                       "not accepted by OpenSSL"))
      << with("ec_curve", "P-999").error();
  EXPECT_TRUE(with("ec_curve", "prime256v1").snap.ok());
  EXPECT_TRUE(contains(with("ciphers_list", "NO-SUCH-CIPHER").error(),
                       "parameter 'ciphers_list': \"NO-SUCH-CIPHER\" is not accepted by OpenSSL"));
  // OpenSSL alone would skip the unknown name in a list.
  EXPECT_TRUE(contains(with("ciphersuites", "TLS_AES_128_GCM_SHA256:TLS_NOPE").error(),
                       "sipsd.cfg:5:30: tls_mgm: domain 'd': parameter 'ciphersuites': "
                       "\"TLS_NOPE\" is not a TLS 1.3 ciphersuite"));
  // Only ciphers the security level forbids: nothing left for TLS 1.2.
  EXPECT_TRUE(contains(with("ciphers_list", "NULL-SHA256").error(),
                       "parameter 'ciphers_list': \"NULL-SHA256\" leaves no cipher usable with "
                       "the TLS versions of tls_method \"SSLv23\""))
      << with("ciphers_list", "NULL-SHA256").error();
  Params v13 = base;
  v13.emplace_back("tls_method", "[d]TLSv1_3");
  v13.emplace_back("ciphers_list", "[d]NULL-SHA256");
  EXPECT_TRUE(load(server("cert.pem", "ckey.pem", v13)).snap.ok());  // irrelevant for TLS 1.3
}

TEST(TlsLoader, TheFirstBadDomainStopsTheLoad) {
  Loaded l = load({{"server_domain", "a"},
                   {"certificate", "[a]" + unit_cert("cert.pem")},
                   {"private_key", "[a]" + unit_cert("ckey.pem")},
                   {"match_sip_domain", "[a]localhost"},
                   {"server_domain", "b"},
                   {"certificate", "[b]" + unit_cert("sip-example.pem")},
                   {"private_key", "[b]" + unit_cert("ckey.pem")}});
  EXPECT_TRUE(contains(l.error(), "sipsd.cfg:7:30: tls_mgm: domain 'b': parameter 'private_key'"))
      << l.error();
}

}  // namespace
}  // namespace sipsd
