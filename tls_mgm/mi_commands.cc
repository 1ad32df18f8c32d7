#include "tls_mgm/mi_commands.h"

#include <arpa/inet.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <strings.h>
#include <time.h>

#include <memory>
#include <string>

#include "tls_mgm/openssl_ptr.h"
#include "tls_mgm/snapshot_store.h"

namespace sipsd {

namespace {

Json string_list(const google::protobuf::RepeatedPtrField<std::string>& v) {
  Json a = Json::array();
  for (const std::string& s : v) a.push(s);
  return a;
}

std::string x509_name(X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : "";
}

// "DNS:sip.example.com", "IP:192.0.2.1" for each DNS and IP subjectAltName.
Json subject_alt_names(X509* x) {
  Json sans = Json::array();
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return sans;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* g = sk_GENERAL_NAME_value(names, i);
    if (g->type == GEN_DNS) {
      sans.push("DNS:" +
                std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(g->d.dNSName)),
                            static_cast<size_t>(ASN1_STRING_length(g->d.dNSName))));
    } else if (g->type == GEN_IPADD) {
      char buf[INET6_ADDRSTRLEN] = {};
      int len = ASN1_STRING_length(g->d.iPAddress);
      inet_ntop(len == 16 ? AF_INET6 : AF_INET, ASN1_STRING_get0_data(g->d.iPAddress), buf,
                sizeof buf);
      sans.push(std::string("IP:") + buf);
    }
  }
  GENERAL_NAMES_free(names);
  return sans;
}

Json cert_status(const tls::TlsDomain& d) {
  Json j = Json::object();
  j.add("name", d.name());
  j.add("type", d.type() == tls::DOMAIN_TYPE_SERVER ? "server" : "client");
  if (d.certificate_pem().empty()) {
    j.add("Certificate", "");
    return j;
  }
  BioPtr bio(
      BIO_new_mem_buf(d.certificate_pem().data(), static_cast<int>(d.certificate_pem().size())));
  X509Ptr x(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  j.add("Certificate", d.certificate_path());
  if (!x) return j;
  j.add("Subject", x509_name(X509_get_subject_name(x.get())));
  j.add("Issuer", x509_name(X509_get_issuer_name(x.get())));
  j.add("SANs", subject_alt_names(x.get()));
  const ASN1_TIME* not_after = X509_get0_notAfter(x.get());
  struct tm tm = {};
  if (ASN1_TIME_to_tm(not_after, &tm) == 1) {
    char buf[40];
    strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
    j.add("Not after", buf);
  }
  int days = 0, secs = 0;
  if (ASN1_TIME_diff(&days, &secs, nullptr, not_after) == 1) j.add("Days left", days);
  return j;
}

Json describe_domain(const tls::TlsDomain& d) {
  Json j = Json::object();
  j.add("name", d.name());
  j.add("type", d.type() == tls::DOMAIN_TYPE_SERVER ? "TLS_DOMAIN_SRV" : "TLS_DOMAIN_CLI");
  j.add("IP ADDRESS FILTERS", string_list(d.match_ip_address()));
  j.add("SIP DOMAIN FILTERS", string_list(d.match_sip_domain()));
  j.add("METHOD", d.tls_method().empty() ? "SSLv23" : d.tls_method());
  j.add("VERIFY_CERT", d.verify_cert());
  j.add("REQ_CLI_CERT", d.require_cert());
  j.add("CRL_CHECKALL", d.crl_check_all());
  // A domain from the tls_mgm table has no files: OpenSIPS leaves their keys out.
  if (!d.from_db()) j.add("CERT_FILE", d.certificate_path());
  j.add("CRL_DIR", d.crl_dir());
  if (!d.from_db()) j.add("CA_FILE", d.ca_list_path());
  j.add("CA_DIR", d.ca_dir());
  if (!d.from_db()) j.add("PKEY_FILE", d.private_key_path());
  j.add("CIPHER_LIST", d.ciphers_list());
  if (!d.from_db()) j.add("DH_PARAMS_FILE", d.dh_params_path());
  j.add("EC_CURVE", d.ec_curve());
  return j;
}

class TlsCommands {
 public:
  explicit TlsCommands(TlsMiHost* host) : host_(host) {}

  void register_on(MiRegistry* reg);

 private:
  // Every domain of the published snapshot, client domains first (tls_list's order), each
  // turned into JSON by `fn`, under "Domains".
  Json each_domain(Json (*fn)(const tls::TlsDomain&)) const;
  MiResult tls_reload(const MiParams&);
  MiResult tls_trace(const MiParams& params);

  TlsMiHost* host_;
  bool tracing_ = false;
};

Json TlsCommands::each_domain(Json (*fn)(const tls::TlsDomain&)) const {
  Json domains = Json::array();
  Result<tls::TlsSnapshot> snap = SnapshotStore(host_->shm()).read();
  if (snap.ok()) {
    for (const tls::TlsDomain& d : snap->client_domains()) domains.push(fn(d));
    for (const tls::TlsDomain& d : snap->server_domains()) domains.push(fn(d));
  }
  Json r = Json::object();
  r.add("Domains", std::move(domains));
  return r;
}

MiResult TlsCommands::tls_reload(const MiParams&) {
  Status st = host_->reload_tls();
  if (!st.ok()) return mi_error(500, "Failed to reload", st.message());
  return Json("OK");
}

MiResult TlsCommands::tls_trace(const MiParams& params) {
  if (!params.has("trace_mode")) {
    Json r = Json::object();
    r.add("TLS tracing", tracing_ ? "on" : "off");
    return r;
  }
  MiError err;
  auto mode = params.get_string("trace_mode");
  if (mi_failed(mode, &err)) return err;
  const std::string& m = std::get<std::string>(mode);
  if (strncasecmp(m.c_str(), "off", 3) == 0) {
    tracing_ = false;
    return Json("OK");
  }
  if (strncasecmp(m.c_str(), "on", 2) == 0)
    return mi_error(500, "Tracing not available",
                    "sipsd has no HEP trace destination (proto_hep) yet");
  return mi_error(500, "Bad parameter value", "trace_mode should be 'on' or 'off'");
}

void TlsCommands::register_on(MiRegistry* reg) {
  reg->add(MiCommand{"tls_list",
                     "lists all domains",
                     "tls_mgm",
                     {{}},
                     [this](const MiParams&) -> MiResult { return each_domain(describe_domain); },
                     {"tls_mgm:list"}});
  reg->add(MiCommand{"tls_reload",
                     "re-reads every TLS domain's files (certificates, keys, CAs, CRLs) and "
                     "publishes them to the workers; a failure changes nothing",
                     "tls_mgm",
                     {{}},
                     [this](const MiParams& p) { return tls_reload(p); },
                     {"tls_mgm:reload"}});
  reg->add(MiCommand{"tls_trace",
                     "shows or sets TLS tracing (on/off)",
                     "proto_tls",
                     {{}, {"trace_mode"}},
                     [this](const MiParams& p) { return tls_trace(p); },
                     {"tls:trace"}});
  reg->add(MiCommand{"tls_cert_status",
                     "each domain's certificate: subject, SANs, expiry and days left",
                     "tls_mgm",
                     {{}},
                     [this](const MiParams&) -> MiResult { return each_domain(cert_status); },
                     {"tls_mgm:cert_status"}});
}

}  // namespace

void add_tls_mi_commands(MiRegistry* reg, TlsMiHost* host) {
  auto commands = std::make_shared<TlsCommands>(host);
  commands->register_on(reg);
  reg->keep_alive(std::move(commands));
}

}  // namespace sipsd
