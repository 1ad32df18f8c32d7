#include "tls_mgm/tls_domain_config.h"

#include <openssl/ssl.h>
#include <strings.h>

#include <algorithm>
#include <filesystem>

namespace sipsd {

namespace {

struct ParamValue {
  std::string domain;
  std::string value;
};

std::string where(const ModParam& p) {
  return p.pos.str() + ": tls_mgm: ";
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

Result<bool> parse_flag(const ModParam& p, const std::string& v) {
  if (v == "1") return true;
  if (v == "0") return false;
  return make_error(where(p) + "parameter '" + p.name + "' expects 0 or 1, got \"" + v + "\"");
}

std::vector<std::string> split_csv(const std::string& v) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= v.size()) {
    size_t comma = v.find(',', start);
    if (comma == std::string::npos) comma = v.size();
    std::string item = v.substr(start, comma - start);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) out.push_back(item);
    start = comma + 1;
  }
  return out;
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
    if (name.size() == strlen(v.name) && strncasecmp(name.data(), v.name, name.size()) == 0)
      return v.version;
  return -1;
}

}  // namespace

bool parse_tls_method(std::string_view value, int* min_version, int* max_version, bool* below_1_2) {
  *below_1_2 = false;
  auto iequals = [](std::string_view a, std::string_view b) {
    return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
  };
  if (iequals(value, "SSLv23") || iequals(value, "TLSany")) {
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

Result<std::vector<TlsDomainConfig>> parse_tls_domains(const Config& cfg,
                                                       std::vector<std::string>* warnings) {
  std::vector<TlsDomainConfig> domains;
  auto find = [&](const std::string& name) -> TlsDomainConfig* {
    for (auto& d : domains)
      if (d.name == name) return &d;
    return nullptr;
  };
  std::string cfg_dir = std::filesystem::path(cfg.path).parent_path().string();
  auto default_path = [&](const char* file, const CfgPos& pos) {
    CfgPath p;
    p.path = (cfg_dir.empty() ? std::string("tls/") : cfg_dir + "/tls/") + file;
    p.pos = pos;
    return p;
  };

  for (const ModParam& p : cfg.tls_mgm_params) {
    if (p.name == "server_domain" || p.name == "client_domain") {
      const std::string* name = std::get_if<std::string>(&p.value);
      if (name == nullptr || name->empty())
        return make_error(where(p) + p.name + " expects a domain name");
      if (p.name == "client_domain")
        return make_error(where(p) + "client domains are not supported yet");
      if (find(*name) != nullptr)
        return make_error(where(p) + "server domain '" + *name + "' is declared twice");
      if (!domains.empty())
        return make_error(where(p) + "only one server domain is supported yet (already have '" +
                          domains.front().name + "')");
      TlsDomainConfig d;
      d.name = *name;
      d.pos = p.pos;
      d.certificate = default_path("cert.pem", p.pos);
      d.private_key = default_path("ckey.pem", p.pos);
      d.ca_dir.path = "/etc/pki/CA/";
      d.ca_dir.pos = p.pos;
      domains.push_back(std::move(d));
      continue;
    }
    Result<ParamValue> pv = split_domain_value(p);
    if (!pv.ok()) return pv.error();
    TlsDomainConfig* d = find(pv->domain);
    if (d == nullptr)
      return make_error(where(p) + "parameter '" + p.name + "' refers to domain '" + pv->domain +
                        "', which is not declared (server_domain must come first)");
    const std::string& v = pv->value;
    auto path = [&]() { return CfgPath{resolve_cfg_path(v, p.pos), p.pos}; };
    if (p.name == "certificate") {
      d->certificate = path();
    } else if (p.name == "private_key") {
      d->private_key = path();
    } else if (p.name == "ca_list") {
      d->ca_list = path();
    } else if (p.name == "ca_dir") {
      d->ca_dir = path();
    } else if (p.name == "verify_cert" || p.name == "require_cert") {
      Result<bool> flag = parse_flag(p, v);
      if (!flag.ok()) return flag.error();
      (p.name == "verify_cert" ? d->verify_cert : d->require_cert) = *flag;
    } else if (p.name == "tls_method") {
      bool below = false;
      if (!parse_tls_method(v, &d->min_version, &d->max_version, &below))
        return make_error(where(p) + "tls_method \"" + v +
                          "\" is not one of SSLv23, TLSany, TLSv1, TLSv1_2, TLSv1_3 or a range "
                          "such as TLSv1_2-TLSv1_3");
      if (below)
        warnings->push_back(where(p) + "domain '" + d->name + "' allows TLS versions below 1.2 (" +
                            v + "): these are insecure");
    } else if (p.name == "ciphers_list") {
      d->ciphers_list = v;
    } else if (p.name == "match_ip_address" || p.name == "match_sip_domain") {
      std::vector<std::string> items = split_csv(v);
      if (items.size() != 1 || items[0] != "*")
        return make_error(where(p) + p.name + " values other than \"*\" are not supported yet");
      (p.name == "match_ip_address" ? d->match_ip_address : d->match_sip_domain) = items;
    } else {
      return make_error(where(p) + "parameter '" + p.name + "' is not supported yet");
    }
  }
  return domains;
}

}  // namespace sipsd
