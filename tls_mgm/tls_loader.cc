#include "tls_mgm/tls_loader.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "tls_mgm/openssl_errors.h"
#include "tls_mgm/openssl_ptr.h"

namespace sipsd {

namespace {

constexpr int kExpiryWarningDays = 14;
constexpr off_t kMaxPemFile = 16 * 1024 * 1024;

std::string subject_of(const TlsDomainConfig& d, const char* param, const CfgPath& p) {
  return strprintf("%s: tls_mgm domain '%s': %s '%s'", p.pos.str().c_str(), d.name.c_str(), param,
                   p.path.c_str());
}

Result<std::string> read_file(const TlsDomainConfig& d, const char* param, const CfgPath& p) {
  struct stat st;
  if (stat(p.path.c_str(), &st) != 0)
    return make_error(subject_of(d, param, p) + ": " + strerror(errno));
  if (!S_ISREG(st.st_mode)) return make_error(subject_of(d, param, p) + ": not a regular file");
  if (st.st_size > kMaxPemFile) return make_error(subject_of(d, param, p) + ": file too large");
  std::ifstream in(p.path, std::ios::binary);
  if (!in) return make_error(subject_of(d, param, p) + ": cannot open: " + strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Parses every certificate in a PEM blob, in order.
X509StackPtr read_certs(const std::string& pem) {
  X509StackPtr certs(sk_X509_new_null());
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr))
    sk_X509_push(certs.get(), x);
  openssl_clear_errors();  // the loop ends on a "no start line" error
  return certs;
}

std::string name_of(X509* x) {
  char buf[256];
  X509_NAME_oneline(X509_get_subject_name(x), buf, sizeof buf);
  return buf;
}

std::string date_of(const ASN1_TIME* t) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  ASN1_TIME_print(bio.get(), t);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

Status check_validity(const TlsDomainConfig& d, const CfgPath& p, X509* leaf,
                      std::vector<std::string>* warnings) {
  const ASN1_TIME* not_before = X509_get0_notBefore(leaf);
  const ASN1_TIME* not_after = X509_get0_notAfter(leaf);
  if (X509_cmp_current_time(not_before) > 0)
    return make_error(subject_of(d, "certificate", p) + ": not valid before " +
                      date_of(not_before));
  if (X509_cmp_current_time(not_after) < 0)
    return make_error(subject_of(d, "certificate", p) + ": expired on " + date_of(not_after));
  int days = 0, secs = 0;
  if (ASN1_TIME_diff(&days, &secs, nullptr, not_after) && days < kExpiryWarningDays)
    warnings->push_back(subject_of(d, "certificate", p) + ": expires on " + date_of(not_after) +
                        strprintf(" (in %d days)", days));
  return Status::Ok();
}

Result<tls::TlsDomain> load_domain(const TlsDomainConfig& d, std::vector<std::string>* warnings) {
  tls::TlsDomain out;
  out.set_name(d.name);
  out.set_type(d.kind == TlsDomainKind::kServer ? tls::DOMAIN_TYPE_SERVER
                                                : tls::DOMAIN_TYPE_CLIENT);
  for (const auto& m : d.match_ip_address) out.add_match_ip_address(m);
  for (const auto& m : d.match_sip_domain) out.add_match_sip_domain(m);
  out.set_verify_cert(d.verify_cert);
  out.set_require_cert(d.require_cert);
  out.set_min_version(d.min_version);
  out.set_max_version(d.max_version);
  out.set_ciphers_list(d.ciphers_list);

  // Certificate chain: leaf first.
  Result<std::string> cert_pem = read_file(d, "certificate", d.certificate);
  if (!cert_pem.ok()) return cert_pem.error();
  X509StackPtr chain = read_certs(*cert_pem);
  if (sk_X509_num(chain.get()) == 0)
    return make_error(subject_of(d, "certificate", d.certificate) +
                      ": no PEM certificate in the file");
  X509* leaf = sk_X509_value(chain.get(), 0);
  Status valid = check_validity(d, d.certificate, leaf, warnings);
  if (!valid.ok()) return make_error(valid.message());

  // Private key: not readable by others, unencrypted, matching the certificate.
  struct stat st;
  if (stat(d.private_key.path.c_str(), &st) == 0 && (st.st_mode & (S_IROTH | S_IWOTH)))
    return make_error(subject_of(d, "private_key", d.private_key) +
                      strprintf(": readable by other users (mode %04o); chmod 600 it",
                                static_cast<unsigned>(st.st_mode & 07777)));
  Result<std::string> key_pem = read_file(d, "private_key", d.private_key);
  if (!key_pem.ok()) return key_pem.error();
  BioPtr key_bio(BIO_new_mem_buf(key_pem->data(), static_cast<int>(key_pem->size())));
  // An empty passphrase callback: encrypted keys fail here instead of prompting on a tty.
  auto no_passphrase = [](char*, int, int, void*) -> int { return 0; };
  openssl_clear_errors();
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, no_passphrase, nullptr));
  if (!key)
    return make_error(subject_of(d, "private_key", d.private_key) +
                      ": not an unencrypted PEM private key (" + openssl_drain_errors() + ")");
  if (X509_check_private_key(leaf, key.get()) != 1) {
    openssl_clear_errors();
    return make_error(subject_of(d, "private_key", d.private_key) +
                      ": does not match the certificate '" + d.certificate.path + "' (" +
                      name_of(leaf) + ")");
  }

  out.set_certificate_pem(*cert_pem);
  out.set_private_key_pem(*key_pem);
  out.set_certificate_path(d.certificate.path);
  out.set_private_key_path(d.private_key.path);

  if (d.ca_list.set()) {
    Result<std::string> ca_pem = read_file(d, "ca_list", d.ca_list);
    if (!ca_pem.ok()) return ca_pem.error();
    if (sk_X509_num(read_certs(*ca_pem).get()) == 0)
      return make_error(subject_of(d, "ca_list", d.ca_list) + ": no PEM certificate in the file");
    out.set_ca_list_pem(*ca_pem);
    out.set_ca_list_path(d.ca_list.path);
  }
  struct stat dir_st;
  bool have_ca_dir =
      d.ca_dir.set() && stat(d.ca_dir.path.c_str(), &dir_st) == 0 && S_ISDIR(dir_st.st_mode);
  if (have_ca_dir) out.set_ca_dir(d.ca_dir.path);
  if (d.verify_cert && !d.ca_list.set() && !have_ca_dir)
    warnings->push_back(
        strprintf("%s: tls_mgm domain '%s': verify_cert is 1 but there is no "
                  "ca_list or ca_dir: every peer certificate will be refused",
                  d.pos.str().c_str(), d.name.c_str()));
  return out;
}

}  // namespace

Result<tls::TlsSnapshot> load_tls_snapshot(const std::vector<TlsDomainConfig>& domains,
                                           std::vector<std::string>* warnings) {
  tls::TlsSnapshot snap;
  for (const TlsDomainConfig& d : domains) {
    Result<tls::TlsDomain> loaded = load_domain(d, warnings);
    if (!loaded.ok()) return loaded.error();
    if (d.kind == TlsDomainKind::kServer)
      *snap.add_server_domains() = std::move(loaded).value();
    else
      *snap.add_client_domains() = std::move(loaded).value();
  }
  return snap;
}

}  // namespace sipsd
