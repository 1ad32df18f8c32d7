#include "tls_mgm/tls_loader.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "core/base/file_read.h"
#include "tls_mgm/domain_matcher.h"
#include "tls_mgm/openssl_errors.h"
#include "tls_mgm/openssl_ptr.h"
#include "tls_mgm/ssl_ctx_builder.h"

namespace sipsd {

namespace {

constexpr size_t kMaxPemFile = 16 * 1024 * 1024;

using X509CrlPtr = std::unique_ptr<X509_CRL, OpenSslDeleter<&X509_CRL_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, OpenSslDeleter<&X509_STORE_free>>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, OpenSslDeleter<&X509_STORE_CTX_free>>;

// "file:line:col: tls_mgm: domain 'x': parameter 'y'" at `pos`.
std::string about(const TlsDomainConfig& d, const char* param, const CfgPos& pos) {
  return strprintf("%s: tls_mgm: domain '%s': parameter '%s'", pos.str().c_str(), d.name.c_str(),
                   param);
}
// The same where the cfg set `param` of d.
std::string about(const TlsDomainConfig& d, const char* param) {
  return about(d, param, d.pos_of(param));
}
// ... plus ": file 'path'".
std::string about_file(const TlsDomainConfig& d, const char* param, const CfgPath& p,
                       const std::string& file) {
  return about(d, param, p.pos) + ": file '" + file + "'";
}
std::string about_file(const TlsDomainConfig& d, const char* param, const CfgPath& p) {
  return about_file(d, param, p, p.path);
}

Result<std::string> read_file(const TlsDomainConfig& d, const char* param, const CfgPath& p,
                              const std::string& file) {
  Result<std::string> data = read_small_file(file, kMaxPemFile);
  if (!data.ok()) return make_error(about_file(d, param, p, file) + ": " + data.message());
  return data;
}
Result<std::string> read_file(const TlsDomainConfig& d, const char* param, const CfgPath& p) {
  if (p.in_memory()) return *p.content;
  return read_file(d, param, p, p.path);
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

bool is_dir(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Status check_validity(const TlsDomainConfig& d, const char* param, const CfgPath& p, X509* cert,
                      std::vector<std::string>* warnings) {
  const ASN1_TIME* not_before = X509_get0_notBefore(cert);
  const ASN1_TIME* not_after = X509_get0_notAfter(cert);
  if (X509_cmp_current_time(not_before) > 0)
    return make_error(about_file(d, param, p) + ": not valid before " + date_of(not_before) + " (" +
                      name_of(cert) + ")");
  if (X509_cmp_current_time(not_after) < 0)
    return make_error(about_file(d, param, p) + ": expired on " + date_of(not_after) + " (" +
                      name_of(cert) + ")");
  int days = 0, secs = 0;
  if (ASN1_TIME_diff(&days, &secs, nullptr, not_after) && days < kCertExpiryWarningDays)
    warnings->push_back(
        about_file(d, param, p) + ": expires on " + date_of(not_after) +
        strprintf(" (in %d day%s; %s)", days, days == 1 ? "" : "s", name_of(cert).c_str()));
  return Status::Ok();
}

// Whether a chain verification error only says that the issuer is not in the store.
bool issuer_missing(int err) {
  switch (err) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      return true;
    default:
      return false;
  }
}

// Verifies the domain's own certificate (with the intermediates of its file) against the
// domain's ca_list/ca_dir.
Status check_chain(const TlsDomainConfig& d, X509* leaf, STACK_OF(X509) * chain,
                   const X509StackPtr& cas, bool use_ca_dir, std::vector<std::string>* warnings) {
  std::string against = d.ca_list.set() ? "ca_list '" + d.ca_list.path + "'" : "";
  if (use_ca_dir) against += (against.empty() ? "" : " and ") + ("ca_dir '" + d.ca_dir.path + "'");
  openssl_clear_errors();
  X509StorePtr store(X509_STORE_new());
  for (int i = 0; cas && i < sk_X509_num(cas.get()); ++i)
    X509_STORE_add_cert(store.get(), sk_X509_value(cas.get(), i));
  if (use_ca_dir && X509_STORE_load_path(store.get(), d.ca_dir.path.c_str()) != 1)
    return make_error(about_file(d, "ca_dir", d.ca_dir) + ": cannot use it as a CA directory (" +
                      openssl_drain_errors() + ")");
  X509StackPtr untrusted(sk_X509_new_null());
  for (int i = 1; i < sk_X509_num(chain); ++i) {
    X509* x = sk_X509_value(chain, i);
    X509_up_ref(x);
    sk_X509_push(untrusted.get(), x);
  }
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), leaf, untrusted.get()) != 1)
    return make_error(about_file(d, "certificate", d.certificate) +
                      ": cannot verify the chain: " + openssl_drain_errors());
  int ok = X509_verify_cert(ctx.get());
  openssl_clear_errors();
  if (ok == 1) return Status::Ok();
  int err = X509_STORE_CTX_get_error(ctx.get());
  int depth = X509_STORE_CTX_get_error_depth(ctx.get());
  X509* bad = X509_STORE_CTX_get_current_cert(ctx.get());
  std::string what = strprintf("%s at depth %d", X509_verify_cert_error_string(err), depth);
  if (bad != nullptr) what += " (" + name_of(bad) + ")";
  if (issuer_missing(err)) {
    warnings->push_back(about_file(d, "certificate", d.certificate) +
                        ": its chain does not lead to " + against + ": " + what +
                        "; fine if those CAs are only meant to verify peers");
    return Status::Ok();
  }
  return make_error(about_file(d, "certificate", d.certificate) +
                    ": its chain does not verify against " + against + ": " + what);
}

// Every regular file of crl_dir, each one or more PEM CRLs.
Status load_crls(const TlsDomainConfig& d, tls::TlsDomain* out,
                 std::vector<std::string>* warnings) {
  const CfgPath& p = d.crl_dir;
  if (!is_dir(p.path))
    return make_error(about_file(d, "crl_dir", p) + ": " +
                      (access(p.path.c_str(), F_OK) == 0 ? "not a directory" : strerror(errno)));
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(p.path, ec)) {
    std::error_code ec2;
    if (entry.is_regular_file(ec2)) files.push_back(entry.path().string());
  }
  if (ec) return make_error(about_file(d, "crl_dir", p) + ": cannot list it: " + ec.message());
  std::sort(files.begin(), files.end());
  if (files.empty())
    return make_error(about_file(d, "crl_dir", p) +
                      ": holds no CRL file: with CRL checking on, every peer certificate "
                      "would be refused");
  std::string all;
  for (const std::string& file : files) {
    Result<std::string> pem = read_file(d, "crl_dir", p, file);
    if (!pem.ok()) return pem.error();
    openssl_clear_errors();
    BioPtr bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
    int n = 0;
    while (X509_CRL* raw = PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr)) {
      X509CrlPtr crl(raw);
      ++n;
      const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl.get());
      if (next != nullptr && X509_cmp_current_time(next) < 0) {
        char issuer[256];
        X509_NAME_oneline(X509_CRL_get_issuer(crl.get()), issuer, sizeof issuer);
        warnings->push_back(about_file(d, "crl_dir", p, file) + ": the CRL of " + issuer +
                            " was due for renewal on " + date_of(next) +
                            ": peers with certificates from that CA will be refused until it "
                            "is replaced");
      }
    }
    // The loop ends on "no start line" at the end of the data; anything else is damage.
    unsigned long last = ERR_peek_last_error();
    bool clean_end =
        ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE;
    std::string why = openssl_drain_errors();
    if (n == 0 || !clean_end)
      return make_error(
          about_file(d, "crl_dir", p, file) +
          (n == 0 ? std::string(": not a PEM CRL file") : ": a CRL in it cannot be parsed") +
          (why.empty() ? "" : " (" + why + ")"));
    if (!all.empty() && all.back() != '\n') all += '\n';
    all += *pem;
    out->add_crl_files(file);
  }
  out->set_crl_pem(all);
  out->set_crl_dir(p.path);
  return Status::Ok();
}

Status load_dh_params(const TlsDomainConfig& d, tls::TlsDomain* out) {
  Result<std::string> pem = read_file(d, "dh_params", d.dh_params);
  if (!pem.ok()) return pem.error();
  openssl_clear_errors();
  BioPtr bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
  EvpPkeyPtr params(PEM_read_bio_Parameters(bio.get(), nullptr));
  if (!params || !(EVP_PKEY_is_a(params.get(), "DH") || EVP_PKEY_is_a(params.get(), "DHX"))) {
    std::string why = openssl_drain_errors();
    return make_error(about_file(d, "dh_params", d.dh_params) +
                      ": not PEM DH parameters (\"-----BEGIN DH PARAMETERS-----\")" +
                      (why.empty() ? "" : " (" + why + ")"));
  }
  out->set_dh_params_pem(*pem);
  if (!d.dh_params.in_memory()) out->set_dh_params_path(d.dh_params.path);
  return Status::Ok();
}

// The name lists OpenSSL parses, tried on a scratch context so the error names the parameter.
Status check_lists(const TlsDomainConfig& d) {
  openssl_clear_errors();
  SslCtxPtr scratch(SSL_CTX_new(TLS_method()));
  if (!scratch) return make_error(about(d, "tls_method") + ": " + openssl_drain_errors());
  SSL_CTX* c = scratch.get();
  auto fail = [&](const char* param, const std::string& value) {
    std::string why = openssl_drain_errors();
    return make_error(about(d, param) + ": \"" + value + "\" is not accepted by OpenSSL" +
                      (why.empty() ? "" : " (" + why + ")"));
  };
  int min_version = d.min_version != 0 ? d.min_version : TLS1_2_VERSION;
  if (SSL_CTX_set_min_proto_version(c, min_version) != 1 ||
      (d.max_version != 0 && SSL_CTX_set_max_proto_version(c, d.max_version) != 1))
    return fail("tls_method", d.tls_method);
  if (!d.ciphers_list.empty() && SSL_CTX_set_cipher_list(c, d.ciphers_list.c_str()) != 1)
    return fail("ciphers_list", d.ciphers_list);
  if (!d.ciphersuites.empty()) {
    // OpenSSL skips unknown names in a list; each one alone must be known.
    size_t start = 0;
    while (start <= d.ciphersuites.size()) {
      size_t colon = d.ciphersuites.find(':', start);
      if (colon == std::string::npos) colon = d.ciphersuites.size();
      std::string one = d.ciphersuites.substr(start, colon - start);
      if (one.empty() || SSL_CTX_set_ciphersuites(c, one.c_str()) != 1) {
        openssl_clear_errors();
        return make_error(about(d, "ciphersuites") + ": \"" + one +
                          "\" is not a TLS 1.3 ciphersuite (e.g. TLS_AES_256_GCM_SHA384, "
                          "TLS_CHACHA20_POLY1305_SHA256, TLS_AES_128_GCM_SHA256)");
      }
      start = colon + 1;
    }
    if (SSL_CTX_set_ciphersuites(c, d.ciphersuites.c_str()) != 1)
      return fail("ciphersuites", d.ciphersuites);
  }
  if (!d.ec_curve.empty() && SSL_CTX_set1_groups_list(c, d.ec_curve.c_str()) != 1)
    return fail("ec_curve", d.ec_curve);
  // TLS 1.2 and lower need a cipher from ciphers_list, TLS 1.3 one from ciphersuites.
  if (!d.ciphers_list.empty() && d.min_version != TLS1_3_VERSION) {
    openssl_clear_errors();
    SslPtr ssl(SSL_new(c));
    bool any = false;
    if (ssl) {
      STACK_OF(SSL_CIPHER)* ciphers = SSL_get1_supported_ciphers(ssl.get());
      for (int i = 0; ciphers && i < sk_SSL_CIPHER_num(ciphers); ++i)
        any =
            any || strcmp(SSL_CIPHER_get_version(sk_SSL_CIPHER_value(ciphers, i)), "TLSv1.3") != 0;
      sk_SSL_CIPHER_free(ciphers);
    }
    openssl_clear_errors();
    if (ssl && !any)
      return make_error(about(d, "ciphers_list") + ": \"" + d.ciphers_list +
                        "\" leaves no cipher usable with the TLS versions of tls_method \"" +
                        d.tls_method + "\"");
  }
  return Status::Ok();
}

Result<tls::TlsDomain> load_domain(const TlsDomainConfig& d, std::vector<std::string>* warnings) {
  const bool server = d.kind == TlsDomainKind::kServer;
  tls::TlsDomain out;
  out.set_name(d.name);
  out.set_type(server ? tls::DOMAIN_TYPE_SERVER : tls::DOMAIN_TYPE_CLIENT);
  for (const auto& m : d.match_ip_address) out.add_match_ip_address(m);
  for (const auto& m : d.match_sip_domain) out.add_match_sip_domain(m);
  out.set_verify_cert(d.verify_cert);
  out.set_require_cert(d.require_cert);
  out.set_min_version(d.min_version);
  out.set_max_version(d.max_version);
  out.set_tls_method(d.tls_method);
  out.set_from_db(d.from_db);
  out.set_ciphers_list(d.ciphers_list);
  out.set_ciphersuites(d.ciphersuites);
  out.set_ec_curve(d.ec_curve);
  out.set_verify_depth(d.verify_depth);
  out.set_crl_check_all(d.crl_check_all);

  Status lists = check_lists(d);
  if (!lists.ok()) return make_error(lists.message());
  // The default cipher list (effective_cipher_list) is TLS 1.2 AEAD only: a tls_method that
  // stops below 1.2 (OpenSIPS's "TLSv1" pins TLS 1.0) leaves every handshake without a cipher.
  if (d.ciphers_list.empty() && d.max_version != 0 && d.max_version < TLS1_2_VERSION)
    warnings->push_back(about(d, "tls_method") + ": \"" + d.tls_method +
                        "\" allows only TLS versions below 1.2, for which the default cipher "
                        "list has no cipher (nor does OpenSSL 3 at security level 1 or more): "
                        "every handshake will fail; use a range such as TLSv1-TLSv1_3");

  // Certificate chain, leaf first (a client domain may have none), and its key.
  X509StackPtr chain;
  X509* leaf = nullptr;
  if (server && !d.certificate.set())
    return make_error(about(d, "certificate") + ": a server domain needs a certificate");
  if (d.certificate.set()) {
    Result<std::string> cert_pem = read_file(d, "certificate", d.certificate);
    if (!cert_pem.ok()) return cert_pem.error();
    chain = read_certs(*cert_pem);
    if (sk_X509_num(chain.get()) == 0)
      return make_error(about_file(d, "certificate", d.certificate) +
                        ": no PEM certificate in the file");
    leaf = sk_X509_value(chain.get(), 0);
    Status valid = check_validity(d, "certificate", d.certificate, leaf, warnings);
    if (!valid.ok()) return make_error(valid.message());

    // Private key: not readable or writable by others, unencrypted, matching the certificate.
    if (!d.private_key.set())
      return make_error(about(d, "private_key") + ": the certificate '" + d.certificate.path +
                        "' needs its private key");
    struct stat st;
    if (!d.private_key.in_memory() && stat(d.private_key.path.c_str(), &st) == 0 &&
        (st.st_mode & (S_IROTH | S_IWOTH)))
      return make_error(about_file(d, "private_key", d.private_key) +
                        strprintf(": %s by other users (mode %04o); chmod 600 it",
                                  (st.st_mode & S_IROTH) ? "readable" : "writable",
                                  static_cast<unsigned>(st.st_mode & 07777)));
    Result<std::string> key_pem = read_file(d, "private_key", d.private_key);
    if (!key_pem.ok()) return key_pem.error();
    BioPtr key_bio(BIO_new_mem_buf(key_pem->data(), static_cast<int>(key_pem->size())));
    // An empty passphrase callback: encrypted keys fail here instead of prompting on a tty.
    auto no_passphrase = [](char*, int, int, void*) -> int { return 0; };
    openssl_clear_errors();
    EvpPkeyPtr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, no_passphrase, nullptr));
    if (!key)
      return make_error(about_file(d, "private_key", d.private_key) +
                        ": not an unencrypted PEM private key (" + openssl_drain_errors() + ")");
    if (X509_check_private_key(leaf, key.get()) != 1) {
      openssl_clear_errors();
      return make_error(about_file(d, "private_key", d.private_key) +
                        ": does not match the certificate '" + d.certificate.path + "' (" +
                        name_of(leaf) + ")");
    }
    out.set_certificate_pem(*cert_pem);
    out.set_private_key_pem(*key_pem);
    if (!d.certificate.in_memory()) out.set_certificate_path(d.certificate.path);
    if (!d.private_key.in_memory()) out.set_private_key_path(d.private_key.path);
  } else if (d.private_key.set()) {
    return make_error(about(d, "private_key") + ": set without a certificate");
  }

  // Trust: ca_list, ca_dir (the default one only if it exists).
  X509StackPtr cas;
  if (d.ca_list.set()) {
    Result<std::string> ca_pem = read_file(d, "ca_list", d.ca_list);
    if (!ca_pem.ok()) return ca_pem.error();
    cas = read_certs(*ca_pem);
    if (sk_X509_num(cas.get()) == 0)
      return make_error(about_file(d, "ca_list", d.ca_list) + ": no PEM certificate in the file");
    for (int i = 0; i < sk_X509_num(cas.get()); ++i) {
      X509* ca = sk_X509_value(cas.get(), i);
      if (X509_cmp_current_time(X509_get0_notAfter(ca)) < 0)
        warnings->push_back(about_file(d, "ca_list", d.ca_list) + ": CA " + name_of(ca) +
                            " expired on " + date_of(X509_get0_notAfter(ca)) +
                            ": no peer certificate it issued will verify");
    }
    out.set_ca_list_pem(*ca_pem);
    if (!d.ca_list.in_memory()) out.set_ca_list_path(d.ca_list.path);
  }
  // The default ca_dir counts only if it exists; one the cfg names must.
  bool have_ca_dir = d.ca_dir.set() && is_dir(d.ca_dir.path);
  bool ca_dir_explicit = d.is_set("ca_dir");
  if (d.ca_dir.set() && !have_ca_dir && ca_dir_explicit)
    return make_error(
        about_file(d, "ca_dir", d.ca_dir) + ": " +
        (access(d.ca_dir.path.c_str(), F_OK) == 0 ? "not a directory" : strerror(errno)));
  if (have_ca_dir) out.set_ca_dir(d.ca_dir.path);
  if (leaf != nullptr && (cas || (have_ca_dir && ca_dir_explicit))) {
    Status st = check_chain(d, leaf, chain.get(), cas, have_ca_dir && ca_dir_explicit, warnings);
    if (!st.ok()) return make_error(st.message());
  }
  if (d.verify_cert && !d.ca_list.set() && !have_ca_dir)
    warnings->push_back(
        strprintf("%s: tls_mgm: domain '%s': parameter 'verify_cert' is 1 but "
                  "there is no ca_list or ca_dir: every peer certificate will be "
                  "refused",
                  d.pos_of("verify_cert").str().c_str(), d.name.c_str()));

  if (d.crl_dir.set()) {
    Status st = load_crls(d, &out, warnings);
    if (!st.ok()) return make_error(st.message());
  }
  if (d.dh_params.set()) {
    if (!server) warnings->push_back(about(d, "dh_params") + ": has no effect on a client domain");
    Status st = load_dh_params(d, &out);
    if (!st.ok()) return make_error(st.message());
  }

  // What a worker will do with it, once, here: nothing may fail later.
  Result<SslCtxPtr> ctx = server ? build_server_ctx(out) : build_client_ctx(out);
  if (!ctx.ok())
    return make_error(d.pos.str() + ": " + ctx.message() + " (building the " +
                      tls_domain_kind_name(d.kind) + " context)");
  return out;
}

}  // namespace

Result<tls::TlsSnapshot> load_tls_snapshot(const std::vector<TlsDomainConfig>& domains,
                                           std::vector<std::string>* warnings) {
  tls::TlsSnapshot snap;
  std::vector<std::string> errors;  // one per domain that fails: all of them in one run
  for (const TlsDomainConfig& d : domains) {
    Result<tls::TlsDomain> loaded = load_domain(d, warnings);
    if (!loaded.ok()) {
      errors.push_back(loaded.message());
      continue;
    }
    if (d.kind == TlsDomainKind::kServer)
      *snap.add_server_domains() = std::move(loaded).value();
    else
      *snap.add_client_domains() = std::move(loaded).value();
  }
  if (!errors.empty()) return make_error(join_lines(errors));
  // The workers build these matchers from the snapshot; a snapshot they would refuse is refused
  // here, where the error can be reported.
  auto rules = [](const auto& list) {
    std::vector<DomainMatchRules> r;
    for (const tls::TlsDomain& d : list)
      r.push_back(DomainMatchRules{d.name(),
                                   {d.match_ip_address().begin(), d.match_ip_address().end()},
                                   {d.match_sip_domain().begin(), d.match_sip_domain().end()}});
    return r;
  };
  Result<ServerDomainMatcher> servers = ServerDomainMatcher::build(rules(snap.server_domains()));
  if (!servers.ok()) return servers.error();
  Result<ClientDomainMatcher> clients = ClientDomainMatcher::build(rules(snap.client_domains()));
  if (!clients.ok()) return clients.error();
  return snap;
}

}  // namespace sipsd
