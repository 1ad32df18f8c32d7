#include "tls_mgm/tls_domain_config.h"

#include <openssl/ssl.h>
#include <strings.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <utility>

#include "core/base/ascii.h"
#include "core/cfg/pv_spec.h"
#include "tls_mgm/ip_key.h"

namespace sipsd {

namespace {

constexpr const char* kDefaultCaDir = "/etc/pki/CA/";

struct ParamValue {
  std::string domain;
  std::string value;
};

std::string where(const CfgPos& pos) {
  return pos.str() + ": tls_mgm: ";
}
std::string where(const ModParam& p) {
  return where(p.pos);
}

// "file:line:col: tls_mgm: domain 'x': parameter 'y' "
std::string about(const ModParam& p, const TlsDomainConfig& d) {
  return where(p) + "domain '" + d.name + "': parameter '" + p.name + "' ";
}

// "[name]value" -> {name, value}
Result<ParamValue> split_domain_value(const ModParam& p) {
  const std::string* s = std::get_if<std::string>(&p.value);
  if (s == nullptr)
    return make_error(where(p) + "parameter '" + p.name + "' expects a \"[domain]value\" string");
  if (s->empty() || (*s)[0] != '[')
    return make_error(where(p) + "parameter '" + p.name + "' value \"" + *s +
                      "\" must start with the domain name in brackets, e.g. \"[default]" + *s +
                      "\"");
  size_t close = s->find(']');
  if (close == std::string::npos || close == 1)
    return make_error(where(p) + "parameter '" + p.name + "' has no domain name in \"" + *s + "\"");
  return ParamValue{s->substr(1, close - 1), s->substr(close + 1)};
}

Result<bool> parse_flag(const ModParam& p, const TlsDomainConfig& d, const std::string& v) {
  if (v == "1") return true;
  if (v == "0") return false;
  return make_error(about(p, d) + "expects 0 or 1, got \"" + v + "\"");
}

std::string trim(std::string s) {
  s.erase(0, s.find_first_not_of(" \t"));
  s.erase(s.find_last_not_of(" \t") + 1);
  return s;
}

std::vector<std::string> split_csv(const std::string& v) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= v.size()) {
    size_t comma = v.find(',', start);
    if (comma == std::string::npos) comma = v.size();
    std::string item = trim(v.substr(start, comma - start));
    if (!item.empty()) out.push_back(item);
    start = comma + 1;
  }
  return out;
}

void push_unique(std::vector<std::string>* v, std::string s) {
  if (std::find(v->begin(), v->end(), s) == v->end()) v->push_back(std::move(s));
}

int version_from_name(std::string_view name) {
  struct V {
    const char* name;
    int version;
  };
  static constexpr V kVersions[] = {{"TLSv1_3", TLS1_3_VERSION},
                                    {"TLSv1_2", TLS1_2_VERSION},
                                    {"TLSv1_1", TLS1_1_VERSION},
                                    {"TLSv1", TLS1_VERSION}};
  for (const V& v : kVersions)
    if (ascii_iequals(name, v.name)) return v.version;
  return -1;
}

Result<std::vector<std::string>> parse_match_ip(const ModParam& p, const TlsDomainConfig& d,
                                                const std::string& v,
                                                std::vector<std::string>* warnings) {
  std::vector<std::string> items = split_csv(v);
  if (items.empty())
    return make_error(about(p, d) + "expects a comma-separated list of IP:port entries or \"*\"");
  if (items[0] == "*") {
    // OpenSIPS: a list that starts with "*" means any address, whatever follows.
    if (items.size() > 1)
      warnings->push_back(about(p, d) + "starts with \"*\" (any address): the other entries of \"" +
                          v + "\" are ignored");
    return std::vector<std::string>{"*"};
  }
  std::vector<std::string> keys;
  for (const std::string& item : items) {
    if (item == "*") {
      push_unique(&keys, "*");
      continue;
    }
    std::optional<std::string> key = parse_ip_port_key(item);
    if (!key)
      return make_error(about(p, d) + "entry \"" + item +
                        "\" is not an IP:port (e.g. 192.0.2.7:5061 or [2001:db8::7]:5061) "
                        "or \"*\"");
    push_unique(&keys, *key);
  }
  return keys;
}

Result<std::vector<std::string>> parse_match_sip(const ModParam& p, const TlsDomainConfig& d,
                                                 const std::string& v) {
  std::vector<std::string> items = split_csv(v);
  if (items.empty())
    return make_error(about(p, d) +
                      "expects a comma-separated list of SIP domain patterns, \"*\" or \"none\"");
  std::vector<std::string> patterns;
  for (const std::string& item : items) {
    for (unsigned char c : item)
      if (c <= ' ' || c >= 0x7f)
        return make_error(about(p, d) + "entry \"" + item +
                          "\" is not a domain pattern (spaces and non-ASCII characters are not "
                          "allowed)");
    push_unique(&patterns, ascii_to_lower(item));
  }
  return patterns;
}

Result<int> parse_verify_depth(const ModParam& p, const TlsDomainConfig& d, const std::string& v) {
  int n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size() || n < 0 || n > kMaxVerifyDepth)
    return make_error(
        about(p, d) +
        strprintf("expects a number of intermediate CAs 0..%d, got \"", kMaxVerifyDepth) + v +
        "\"");
  return n;
}

// The match parameter of `d` set last ("match_ip_address" when neither was).
const char* last_match_param(const TlsDomainConfig& d) {
  for (auto it = d.set_at.rbegin(); it != d.set_at.rend(); ++it)
    if (it->first == "match_ip_address" || it->first == "match_sip_domain")
      return it->first == "match_ip_address" ? "match_ip_address" : "match_sip_domain";
  return "match_ip_address";
}

std::string describe_ip(const std::string& key) {
  return key == "*" ? std::string("* (any address)") : key;
}

// No two domains of one kind may share an (address key, SIP domain pattern) pair: a connection
// could not tell them apart.
Status check_duplicate_matches(const std::vector<TlsDomainConfig>& domains) {
  for (TlsDomainKind kind : {TlsDomainKind::kServer, TlsDomainKind::kClient}) {
    std::map<std::pair<std::string, std::string>, const TlsDomainConfig*> owner;
    for (const TlsDomainConfig& d : domains) {
      if (d.kind != kind) continue;
      for (const std::string& ip : d.match_ip_address) {
        for (const std::string& sip : d.match_sip_domain) {
          auto [it, inserted] = owner.emplace(std::make_pair(ip, sip), &d);
          if (inserted) continue;
          const TlsDomainConfig& first = *it->second;
          const char* param = last_match_param(d);
          const char* first_param = last_match_param(first);
          return make_error(where(d.pos_of(param)) + "domain '" + d.name + "': parameter '" +
                            param + "' matches address " + describe_ip(ip) + " with SIP domain '" +
                            sip + "', as " + tls_domain_kind_name(kind) + " domain '" + first.name +
                            "' already does (" + first_param + " at " +
                            first.pos_of(first_param).str() +
                            "): a connection could not tell the two apart");
        }
      }
    }
  }
  return Status::Ok();
}

}  // namespace

const char* tls_domain_kind_name(TlsDomainKind kind) {
  return kind == TlsDomainKind::kServer ? "server" : "client";
}

const CfgPos& TlsDomainConfig::pos_of(std::string_view param) const {
  for (auto it = set_at.rbegin(); it != set_at.rend(); ++it)
    if (it->first == param) return it->second;
  return pos;
}

bool TlsDomainConfig::is_set(std::string_view param) const {
  for (const auto& [set_param, where] : set_at)
    if (set_param == param) return true;
  return false;
}

bool is_tls_mgm_global_param(std::string_view name) {
  return name == "ticket_key_file" || name == "ticket_key_interval" || name == "db_url" ||
         name == "db_table" || name == "client_tls_domain_avp" || name == "client_sip_domain_avp";
}

bool parse_tls_method(std::string_view value, int* min_version, int* max_version, bool* below_1_2) {
  *below_1_2 = false;
  if (ascii_iequals(value, "SSLv23") || ascii_iequals(value, "TLSany")) {
    *min_version = TLS1_2_VERSION;
    *max_version = 0;
    return true;
  }
  size_t dash = value.find('-');
  if (dash == std::string_view::npos) {
    int v = version_from_name(value);
    if (v < 0 || v == TLS1_1_VERSION) return false;  // TLSv1_1 only inside a range, as OpenSIPS
    *min_version = *max_version = v;
  } else {
    std::string_view lo = value.substr(0, dash), hi = value.substr(dash + 1);
    int l = lo.empty() ? TLS1_2_VERSION : version_from_name(lo);
    int h = hi.empty() ? 0 : version_from_name(hi);
    if (l < 0 || h < 0 || (h != 0 && h < l)) return false;
    *min_version = l;
    *max_version = h;
  }
  *below_1_2 = *min_version != 0 && *min_version < TLS1_2_VERSION;
  return true;
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) {
    if (!out.empty()) out += '\n';
    out += l;
  }
  return out;
}

Result<std::vector<TlsDomainConfig>> parse_tls_domains(const Config& cfg,
                                                       std::vector<std::string>* warnings) {
  std::vector<TlsDomainConfig> domains;
  // The domain an attribute "[name]..." refers to: the last one declared with that name.
  auto find = [&](const std::string& name) -> TlsDomainConfig* {
    for (auto it = domains.rbegin(); it != domains.rend(); ++it)
      if (it->name == name) return &*it;
    return nullptr;
  };
  std::string cfg_dir = std::filesystem::path(cfg.path).parent_path().string();
  auto default_path = [&](const char* file, const CfgPos& pos) {
    CfgPath p;
    p.path = (cfg_dir.empty() ? std::string("tls/") : cfg_dir + "/tls/") + file;
    p.pos = pos;
    return p;
  };

  // One parameter; an error skips it and the others are still checked (every problem of the
  // cfg in one run).
  auto apply = [&](const ModParam& p) -> Status {
    if (p.name == "server_domain" || p.name == "client_domain") {
      TlsDomainKind kind =
          p.name == "server_domain" ? TlsDomainKind::kServer : TlsDomainKind::kClient;
      const std::string* name = std::get_if<std::string>(&p.value);
      if (name == nullptr || name->empty())
        return make_error(where(p) + p.name + " expects a domain name");
      if (name->find_first_of("[] \t") != std::string::npos)
        return make_error(where(p) + p.name + " \"" + *name +
                          "\": a domain name cannot contain brackets or spaces");
      for (const TlsDomainConfig& other : domains) {
        if (other.name != *name) continue;
        if (other.kind == kind)
          return make_error(where(p) + tls_domain_kind_name(kind) + " domain '" + *name +
                            "' is declared twice (first at " + other.pos.str() + ")");
        warnings->push_back(where(p) + tls_domain_kind_name(kind) + " domain '" + *name +
                            "' has the name of the " + tls_domain_kind_name(other.kind) +
                            " domain declared at " + other.pos.str() + ": \"[" + *name +
                            "]...\" attributes from here on apply to this one");
      }
      TlsDomainConfig d;
      d.name = *name;
      d.kind = kind;
      d.pos = p.pos;
      if (kind == TlsDomainKind::kServer) {
        d.certificate = default_path("cert.pem", p.pos);
        d.private_key = default_path("ckey.pem", p.pos);
        d.require_cert = true;
      } else {
        d.require_cert = false;
      }
      d.ca_dir.path = kDefaultCaDir;
      d.ca_dir.pos = p.pos;
      domains.push_back(std::move(d));
      return Status::Ok();
    }
    Result<ParamValue> pv = split_domain_value(p);
    if (!pv.ok()) return pv.error();
    TlsDomainConfig* d = find(pv->domain);
    if (d == nullptr)
      return make_error(where(p) + "parameter '" + p.name + "' refers to domain '" + pv->domain +
                        "', which is not declared (server_domain or client_domain must come "
                        "first)");
    const std::string& v = pv->value;
    auto path = [&]() -> Result<CfgPath> {
      if (v.empty())
        return make_error(about(p, *d) + "expects a file name after [" + d->name + "]");
      return CfgPath{resolve_cfg_path(v, p.pos), p.pos, std::nullopt};
    };
    auto text = [&](std::string* field) -> Status {
      if (v.empty()) return make_error(about(p, *d) + "must not be empty");
      *field = v;
      return Status::Ok();
    };
    CfgPath* path_field = p.name == "certificate"   ? &d->certificate
                          : p.name == "private_key" ? &d->private_key
                          : p.name == "ca_list"     ? &d->ca_list
                          : p.name == "ca_dir"      ? &d->ca_dir
                          : p.name == "crl_dir"     ? &d->crl_dir
                          : p.name == "dh_params"   ? &d->dh_params
                                                    : nullptr;
    bool* flag_field = p.name == "verify_cert"     ? &d->verify_cert
                       : p.name == "require_cert"  ? &d->require_cert
                       : p.name == "crl_check_all" ? &d->crl_check_all
                                                   : nullptr;
    std::string* text_field = p.name == "ciphers_list"   ? &d->ciphers_list
                              : p.name == "ciphersuites" ? &d->ciphersuites
                              : p.name == "ec_curve"     ? &d->ec_curve
                                                         : nullptr;
    if (path_field != nullptr) {
      Result<CfgPath> cp = path();
      if (!cp.ok()) return cp.error();
      *path_field = std::move(cp).value();
    } else if (flag_field != nullptr) {
      Result<bool> flag = parse_flag(p, *d, v);
      if (!flag.ok()) return flag.error();
      *flag_field = *flag;
      if (p.name == "require_cert" && d->kind == TlsDomainKind::kClient)
        warnings->push_back(about(p, *d) +
                            "has no effect on a client domain (it is about the certificate a "
                            "client presents to a server)");
    } else if (text_field != nullptr) {
      Status st = text(text_field);
      if (!st.ok()) return make_error(st.message());
    } else if (p.name == "tls_method") {
      bool below = false;
      if (!parse_tls_method(v, &d->min_version, &d->max_version, &below))
        return make_error(about(p, *d) + "value \"" + v +
                          "\" is not one of SSLv23, TLSany, TLSv1, TLSv1_2, TLSv1_3 or a range "
                          "such as TLSv1_2-TLSv1_3");
      d->tls_method = v;
      if (below)
        warnings->push_back(about(p, *d) + "allows TLS versions below 1.2 (" + v +
                            "): these are insecure");
    } else if (p.name == "verify_depth") {
      Result<int> depth = parse_verify_depth(p, *d, v);
      if (!depth.ok()) return depth.error();
      d->verify_depth = *depth;
    } else if (p.name == "match_ip_address") {
      Result<std::vector<std::string>> keys = parse_match_ip(p, *d, v, warnings);
      if (!keys.ok()) return keys.error();
      d->match_ip_address = std::move(keys).value();
    } else if (p.name == "match_sip_domain") {
      Result<std::vector<std::string>> patterns = parse_match_sip(p, *d, v);
      if (!patterns.ok()) return patterns.error();
      d->match_sip_domain = std::move(patterns).value();
    } else {
      return make_error(about(p, *d) + "is not a tls_mgm parameter");
    }
    d->set_at.emplace_back(p.name, p.pos);
    return Status::Ok();
  };
  std::vector<std::string> errors;
  for (const ModParam& p : cfg.tls_mgm_params) {
    if (is_tls_mgm_global_param(p.name)) continue;
    Status st = apply(p);
    if (!st.ok()) errors.push_back(st.message());
  }

  for (const TlsDomainConfig& d : domains) {
    if (d.kind != TlsDomainKind::kClient || d.certificate.set() == d.private_key.set()) continue;
    const char* set = d.certificate.set() ? "certificate" : "private_key";
    const char* missing = d.certificate.set() ? "private_key" : "certificate";
    errors.push_back(where(d.pos_of(set)) + "domain '" + d.name + "': parameter '" + set +
                     "' is set but '" + missing +
                     "' is not: a client domain needs both or neither");
  }
  Status unique = check_duplicate_matches(domains);
  if (!unique.ok()) errors.push_back(unique.message());
  if (!errors.empty()) return make_error(join_lines(errors));
  return domains;
}

Result<TlsMgmGlobals> parse_tls_globals(const Config& cfg) {
  TlsMgmGlobals g;
  for (const ModParam& p : cfg.tls_mgm_params) {
    if (p.name == "ticket_key_file") {
      const std::string* s = std::get_if<std::string>(&p.value);
      if (s == nullptr || s->empty())
        return make_error(where(p) + "parameter 'ticket_key_file' expects a file name");
      g.ticket_key_file = resolve_cfg_path(*s, p.pos);
      g.ticket_key_file_pos = p.pos;
    } else if (p.name == "ticket_key_interval") {
      int64_t n = 0;
      bool ok = true;
      if (const int64_t* i = std::get_if<int64_t>(&p.value)) {
        n = *i;
      } else {
        const std::string& s = std::get<std::string>(p.value);
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
        ok = !s.empty() && ec == std::errc() && end == s.data() + s.size();
      }
      if (!ok || n < kMinTicketKeyInterval || n > kMaxTicketKeyInterval)
        return make_error(where(p) +
                          strprintf("parameter 'ticket_key_interval' must be %d..%d seconds",
                                    kMinTicketKeyInterval, kMaxTicketKeyInterval));
      g.ticket_key_interval = static_cast<int>(n);
      g.ticket_key_interval_pos = p.pos;
    } else if (p.name == "client_tls_domain_avp" || p.name == "client_sip_domain_avp") {
      const std::string* s = std::get_if<std::string>(&p.value);
      const std::string_view avp =
          cfg::avp_param_name(s != nullptr ? std::string_view(*s) : std::string_view());
      if (avp.empty())
        return make_error(where(p) + "parameter '" + p.name +
                          "' expects an AVP name (\"tls_dom\" or \"$avp(tls_dom)\")");
      (p.name == "client_tls_domain_avp" ? g.client_tls_domain_avp : g.client_sip_domain_avp) =
          std::string(avp);
    }
  }
  return g;
}

}  // namespace sipsd
