#include "tls_mgm/tls_vars.h"

#include <arpa/inet.h>
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <charconv>
#include <memory>

#include "tls_mgm/openssl_errors.h"
#include "tls_mgm/openssl_ptr.h"

namespace sipsd {

namespace {

// What a $tls_* variable shows, and of which certificate.
enum class What : uint8_t {
  kProtocol,
  kDescription,
  kCipher,
  kCipherBits,
  kCertVersion,
  kSerial,
  kSubject,  // arg: 0 = the whole DN, else the NID of the RDN
  kIssuer,   // arg: as kSubject
  kSan,      // arg: GEN_EMAIL, GEN_DNS, GEN_URI or GEN_IPADD
  kVerified,
  kRevoked,
  kExpired,
  kSelfSigned,
  kNotBefore,
  kNotAfter,
  kSni,
  kDomain,
  kFingerprint,
};

enum class Cert : uint8_t { kNone, kPeer, kMine };

struct Spec {
  PvId id;
  What what;
  Cert cert = Cert::kNone;
  int arg = 0;
};

// In PvId order (checked below), so that a variable's spec is kSpecs[id - kFirstTlsPv].
constexpr Spec kSpecs[] = {
    {PvId::kTlsVersion, What::kProtocol},
    {PvId::kTlsDescription, What::kDescription},
    {PvId::kTlsCipherInfo, What::kCipher},
    {PvId::kTlsCipherBits, What::kCipherBits},
    {PvId::kTlsPeerVersion, What::kCertVersion, Cert::kPeer},
    {PvId::kTlsMyVersion, What::kCertVersion, Cert::kMine},
    {PvId::kTlsPeerSerial, What::kSerial, Cert::kPeer},
    {PvId::kTlsMySerial, What::kSerial, Cert::kMine},
    {PvId::kTlsPeerSubject, What::kSubject, Cert::kPeer},
    {PvId::kTlsPeerSubjectCn, What::kSubject, Cert::kPeer, NID_commonName},
    {PvId::kTlsPeerSubjectLocality, What::kSubject, Cert::kPeer, NID_localityName},
    {PvId::kTlsPeerSubjectCountry, What::kSubject, Cert::kPeer, NID_countryName},
    {PvId::kTlsPeerSubjectState, What::kSubject, Cert::kPeer, NID_stateOrProvinceName},
    {PvId::kTlsPeerSubjectOrganization, What::kSubject, Cert::kPeer, NID_organizationName},
    {PvId::kTlsPeerSubjectUnit, What::kSubject, Cert::kPeer, NID_organizationalUnitName},
    {PvId::kTlsPeerSubjectSerial, What::kSubject, Cert::kPeer, NID_serialNumber},
    {PvId::kTlsPeerIssuer, What::kIssuer, Cert::kPeer},
    {PvId::kTlsPeerIssuerCn, What::kIssuer, Cert::kPeer, NID_commonName},
    {PvId::kTlsPeerIssuerLocality, What::kIssuer, Cert::kPeer, NID_localityName},
    {PvId::kTlsPeerIssuerCountry, What::kIssuer, Cert::kPeer, NID_countryName},
    {PvId::kTlsPeerIssuerState, What::kIssuer, Cert::kPeer, NID_stateOrProvinceName},
    {PvId::kTlsPeerIssuerOrganization, What::kIssuer, Cert::kPeer, NID_organizationName},
    {PvId::kTlsPeerIssuerUnit, What::kIssuer, Cert::kPeer, NID_organizationalUnitName},
    {PvId::kTlsMySubject, What::kSubject, Cert::kMine},
    {PvId::kTlsMySubjectCn, What::kSubject, Cert::kMine, NID_commonName},
    {PvId::kTlsMySubjectLocality, What::kSubject, Cert::kMine, NID_localityName},
    {PvId::kTlsMySubjectCountry, What::kSubject, Cert::kMine, NID_countryName},
    {PvId::kTlsMySubjectState, What::kSubject, Cert::kMine, NID_stateOrProvinceName},
    {PvId::kTlsMySubjectOrganization, What::kSubject, Cert::kMine, NID_organizationName},
    {PvId::kTlsMySubjectUnit, What::kSubject, Cert::kMine, NID_organizationalUnitName},
    {PvId::kTlsMySubjectSerial, What::kSubject, Cert::kMine, NID_serialNumber},
    {PvId::kTlsMyIssuer, What::kIssuer, Cert::kMine},
    {PvId::kTlsMyIssuerCn, What::kIssuer, Cert::kMine, NID_commonName},
    {PvId::kTlsMyIssuerLocality, What::kIssuer, Cert::kMine, NID_localityName},
    {PvId::kTlsMyIssuerCountry, What::kIssuer, Cert::kMine, NID_countryName},
    {PvId::kTlsMyIssuerState, What::kIssuer, Cert::kMine, NID_stateOrProvinceName},
    {PvId::kTlsMyIssuerOrganization, What::kIssuer, Cert::kMine, NID_organizationName},
    {PvId::kTlsMyIssuerUnit, What::kIssuer, Cert::kMine, NID_organizationalUnitName},
    {PvId::kTlsPeerSanEmail, What::kSan, Cert::kPeer, GEN_EMAIL},
    {PvId::kTlsPeerSanHostname, What::kSan, Cert::kPeer, GEN_DNS},
    {PvId::kTlsPeerSanUri, What::kSan, Cert::kPeer, GEN_URI},
    {PvId::kTlsPeerSanIp, What::kSan, Cert::kPeer, GEN_IPADD},
    {PvId::kTlsMySanEmail, What::kSan, Cert::kMine, GEN_EMAIL},
    {PvId::kTlsMySanHostname, What::kSan, Cert::kMine, GEN_DNS},
    {PvId::kTlsMySanUri, What::kSan, Cert::kMine, GEN_URI},
    {PvId::kTlsMySanIp, What::kSan, Cert::kMine, GEN_IPADD},
    {PvId::kTlsPeerVerified, What::kVerified},
    {PvId::kTlsPeerRevoked, What::kRevoked, Cert::kPeer},
    {PvId::kTlsPeerExpired, What::kExpired, Cert::kPeer},
    {PvId::kTlsPeerSelfsigned, What::kSelfSigned, Cert::kPeer},
    {PvId::kTlsPeerNotBefore, What::kNotBefore, Cert::kPeer},
    {PvId::kTlsPeerNotAfter, What::kNotAfter, Cert::kPeer},
    {PvId::kTlsSni, What::kSni},
    {PvId::kTlsDomain, What::kDomain},
    {PvId::kTlsPeerFingerprint, What::kFingerprint, Cert::kPeer},
};

constexpr size_t index_of(PvId id) {
  return static_cast<size_t>(id) - static_cast<size_t>(kFirstTlsPv);
}

constexpr bool specs_in_order() {
  if (std::size(kSpecs) != kTlsPvCount) return false;
  for (size_t i = 0; i < std::size(kSpecs); ++i) {
    if (index_of(kSpecs[i].id) != i) return false;
  }
  return true;
}
static_assert(specs_in_order(), "kSpecs must list every $tls_* PvId, in PvId order");

struct OpenSslFree {
  void operator()(void* p) const { OPENSSL_free(p); }
};
using OpenSslChars = std::unique_ptr<char, OpenSslFree>;
using BignumPtr = std::unique_ptr<BIGNUM, OpenSslDeleter<&BN_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, OpenSslDeleter<&GENERAL_NAMES_free>>;

constexpr std::string_view kOne = "1";
constexpr std::string_view kZero = "0";

std::string_view flag(bool v) {
  return v ? kOne : kZero;
}

std::string_view keep(std::string* scratch, std::string_view v) {
  scratch->assign(v.data(), v.size());
  return *scratch;
}

std::string_view decimal(std::string* scratch, long v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return keep(scratch, std::string_view(buf, static_cast<size_t>(end - buf)));
}

// Something failed inside OpenSSL: leave no stale error behind for the connection's next
// SSL_read/SSL_write result check, and show NULL.
std::optional<std::string_view> failed() {
  openssl_clear_errors();
  return std::nullopt;
}

std::optional<std::string_view> serial(X509* cert, std::string* scratch) {
  BignumPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  if (!bn) return failed();
  OpenSslChars dec(BN_bn2dec(bn.get()));
  if (!dec) return failed();
  return keep(scratch, dec.get());
}

std::optional<std::string_view> name_value(const X509_NAME* name, int nid, std::string* scratch) {
  if (!name) return std::nullopt;
  if (nid == 0) {
    OpenSslChars line(X509_NAME_oneline(name, nullptr, 0));
    if (!line) return failed();
    return keep(scratch, line.get());
  }
  int idx = X509_NAME_get_index_by_NID(name, nid, -1);
  if (idx < 0) return std::nullopt;
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
  unsigned char* utf8 = nullptr;
  int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0) return failed();
  OpenSslChars owned(reinterpret_cast<char*>(utf8));
  return keep(scratch, std::string_view(owned.get(), static_cast<size_t>(len)));
}

std::optional<std::string_view> san(X509* cert, int type, std::string* scratch) {
  GeneralNamesPtr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) {
    openssl_clear_errors();  // absent, or undecodable: either way no value
    return std::nullopt;
  }
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    int t = -1;
    auto* value = static_cast<const ASN1_STRING*>(
        GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(names.get(), i), &t));
    if (t != type || !value) continue;
    const unsigned char* data = ASN1_STRING_get0_data(value);
    const int len = ASN1_STRING_length(value);
    if (type != GEN_IPADD) {
      return keep(scratch,
                  std::string_view(reinterpret_cast<const char*>(data), static_cast<size_t>(len)));
    }
    char text[INET6_ADDRSTRLEN];
    const int family = len == 4 ? AF_INET : len == 16 ? AF_INET6 : 0;
    if (family != 0 && inet_ntop(family, data, text, sizeof text)) return keep(scratch, text);
    // A malformed address entry: look for the next one.
  }
  return std::nullopt;
}

std::optional<std::string_view> time_text(const ASN1_TIME* t, std::string* scratch) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!t || !bio || ASN1_TIME_print(bio.get(), t) != 1) return failed();
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  if (len <= 0) return failed();
  return keep(scratch, std::string_view(data, static_cast<size_t>(len)));
}

std::optional<std::string_view> fingerprint(X509* cert, std::string* scratch) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (X509_digest(cert, EVP_sha256(), md, &n) != 1 || n == 0) return failed();
  static constexpr char kHex[] = "0123456789ABCDEF";
  scratch->clear();
  scratch->reserve(n * 3);
  for (unsigned int i = 0; i < n; ++i) {
    if (i > 0) scratch->push_back(':');
    scratch->push_back(kHex[md[i] >> 4]);
    scratch->push_back(kHex[md[i] & 0xf]);
  }
  return *scratch;
}

std::optional<std::string_view> cipher_value(const SSL_CIPHER* cipher, What what,
                                             std::string* scratch) {
  if (!cipher) return std::nullopt;
  switch (what) {
    case What::kCipher:
      return std::string_view(SSL_CIPHER_get_name(cipher));
    case What::kCipherBits:
      return decimal(scratch, SSL_CIPHER_get_bits(cipher, nullptr));
    default: {
      char buf[256];  // SSL_CIPHER_description wants at least 128
      if (!SSL_CIPHER_description(cipher, buf, sizeof buf)) return failed();
      std::string_view d(buf);
      while (!d.empty() && (d.back() == '\n' || d.back() == ' ')) d.remove_suffix(1);
      return keep(scratch, d);
    }
  }
}

}  // namespace

TlsConnView TlsConnView::of(SSL* ssl) {
  TlsConnView v;
  if (ssl == nullptr) return v;
  v.tls = true;
  v.version = SSL_get_version(ssl);
  v.cipher = SSL_get_current_cipher(ssl);
  v.peer = SSL_get0_peer_certificate(ssl);
  v.local = SSL_get_certificate(ssl);
  v.verify = SSL_get_verify_result(ssl);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name != nullptr) v.sni = name;
  return v;
}

bool tls_peer_verified(const TlsConnView& conn) {
  return conn.tls && conn.peer != nullptr && conn.verify == X509_V_OK;
}

std::optional<std::string_view> tls_pv(const TlsConnView& conn, PvId id, std::string* scratch) {
  if (!conn.tls || !is_tls_pv(id)) return std::nullopt;
  const Spec& spec = kSpecs[index_of(id)];
  X509* cert = nullptr;
  if (spec.cert == Cert::kPeer) cert = conn.peer;
  if (spec.cert == Cert::kMine) cert = conn.local;
  const long verify = conn.verify;

  switch (spec.what) {
    case What::kProtocol:
      if (conn.version == nullptr) return std::nullopt;
      return std::string_view(conn.version);
    case What::kDescription:
    case What::kCipher:
    case What::kCipherBits:
      return cipher_value(conn.cipher, spec.what, scratch);
    case What::kVerified:
      return flag(tls_peer_verified(conn));
    case What::kRevoked:
      return flag(cert && verify == X509_V_ERR_CERT_REVOKED);
    case What::kExpired:
      // The stored verify result holds one error only (the last one a permissive verify
      // callback let through), so look at the certificate's dates as well.
      return flag(cert && (verify == X509_V_ERR_CERT_HAS_EXPIRED ||
                           X509_cmp_current_time(X509_get0_notAfter(cert)) < 0));
    case What::kSelfSigned: {
      if (!cert) return kZero;
      if (verify == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT) return kOne;
      int self = X509_self_signed(cert, 1);
      if (self < 0) openssl_clear_errors();
      return flag(self == 1);
    }
    case What::kSni:
      if (conn.sni.empty()) return std::nullopt;
      return conn.sni;
    case What::kDomain:
      if (conn.domain.empty()) return std::nullopt;
      return conn.domain;
    default:
      break;
  }

  // The rest describe a certificate.
  if (!cert) return std::nullopt;
  switch (spec.what) {
    case What::kCertVersion:
      return decimal(scratch, X509_get_version(cert));
    case What::kSerial:
      return serial(cert, scratch);
    case What::kSubject:
      return name_value(X509_get_subject_name(cert), spec.arg, scratch);
    case What::kIssuer:
      return name_value(X509_get_issuer_name(cert), spec.arg, scratch);
    case What::kSan:
      return san(cert, spec.arg, scratch);
    case What::kNotBefore:
      return time_text(X509_get0_notBefore(cert), scratch);
    case What::kNotAfter:
      return time_text(X509_get0_notAfter(cert), scratch);
    case What::kFingerprint:
      return fingerprint(cert, scratch);
    default:
      return std::nullopt;
  }
}

void TlsPvCache::reset(const TlsConnView& conn) {
  conn_ = conn;
  state_.fill(State::kUnknown);
}

std::optional<std::string_view> TlsPvCache::get(PvId id) {
  if (!is_tls_pv(id)) return std::nullopt;
  const size_t i = index_of(id);
  if (state_[i] == State::kUnknown) {
    std::optional<std::string_view> v = tls_pv(conn_, id, &scratch_[i]);
    state_[i] = v ? State::kValue : State::kNull;
    value_[i] = v.value_or(std::string_view());
  }
  if (state_[i] == State::kNull) return std::nullopt;
  return value_[i];
}

}  // namespace sipsd
