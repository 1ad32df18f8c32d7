#include "tls_mgm/tls_db_domains.h"

#include "core/db/connection.h"
#include "core/db/schema.h"
#include "tls_mgm/tls_loader.h"

namespace sipsd {

TlsDbParams tls_db_params(const Config& cfg) {
  TlsDbParams p;
  for (const ModParam& m : cfg.tls_mgm_params) {
    const std::string* s = std::get_if<std::string>(&m.value);
    if (s == nullptr) continue;
    if (m.name == "db_url") {
      p.db_url = *s;
      p.pos = m.pos;
    } else if (m.name == "db_table") {
      p.db_table = *s;
    }
  }
  return p;
}

namespace {

enum Col {
  kId,
  kDomain,
  kMatchIp,
  kMatchSip,
  kType,
  kMethod,
  kVerify,
  kRequire,
  kCert,
  kKey,
  kCrlAll,
  kCrlDir,
  kCaList,
  kCaDir,
  kCipher,
  kDh,
  kCurve
};

}  // namespace

Result<std::vector<TlsDomainConfig>> load_tls_db_domains(
    const Config& cfg, const TlsDbParams& db, const std::vector<TlsDomainConfig>& cfg_domains,
    std::vector<std::string>* warnings) {
  const std::string where = db.pos.str() + ": tls_mgm: db_url: ";
  auto conn = db::Connection::open(db.db_url, db::OpenMode::kReadOnly);
  if (!conn.ok()) return make_error(where + conn.message());
  if (Status st = db::check_table_version(*conn, db.db_table, db::kTlsMgmVersion); !st.ok())
    return make_error(where + st.message());
  std::string table = "\"";
  for (char c : db.db_table) {
    if (c == '"') table += '"';
    table += c;
  }
  table += "\"";
  auto q = conn->prepare(
      "SELECT id, domain, match_ip_address, match_sip_domain, type, method, verify_cert, "
      "require_cert, certificate, private_key, crl_check_all, crl_dir, ca_list, ca_dir, "
      "cipher_list, dh_params, ec_curve FROM " +
      table + " ORDER BY id");
  if (!q.ok()) return make_error(where + q.message());
  std::vector<TlsDomainConfig> out;
  for (;;) {
    auto row = q->step();
    if (!row.ok()) return make_error(where + row.message());
    if (!*row) break;
    const int64_t id = q->int64(kId);
    const std::string name(q->text(kDomain));
    const std::string label = strprintf("%s table '%s' row id %lld", db.db_url.c_str(),
                                        db.db_table.c_str(), static_cast<long long>(id));
    auto skip = [&](const std::string& why) {
      warnings->push_back(label + ": tls_mgm: domain '" + name + "' skipped: " + why);
    };
    const int64_t type = q->int64(kType);
    if (type != 1 && type != 2) {
      skip("type must be 1 (client) or 2 (server)");
      continue;
    }
    const bool server = type == 2;
    bool clash = false;
    for (const TlsDomainConfig& d : cfg_domains)
      clash = clash || (d.name == name && (d.kind == TlsDomainKind::kServer) == server);
    for (const TlsDomainConfig& d : out)
      clash = clash || (d.name == name && (d.kind == TlsDomainKind::kServer) == server);
    if (clash) {
      skip("a domain of that name and type is already defined");
      continue;
    }
    // The row as the cfg parameters it stands for.
    Config one;
    one.path = cfg.path;
    CfgPos pos{label, 0, 0};
    auto add = [&](const char* param, const std::string& value) {
      one.tls_mgm_params.push_back(ModParam{"tls_mgm", param, value, pos});
    };
    add(server ? "server_domain" : "client_domain", name);
    auto text = [&](int col, const char* param) {
      if (!q->is_null(col) && !q->text(col).empty())
        add(param, "[" + name + "]" + std::string(q->text(col)));
    };
    auto number = [&](int col, const char* param) {
      if (!q->is_null(col)) add(param, "[" + name + "]" + std::to_string(q->int64(col)));
    };
    // A PEM column: the parameter is set (so that the parser sees it) and its content is kept
    // here, to be put in the parsed domain, which reads it from memory.
    std::vector<std::pair<CfgPath TlsDomainConfig::*, CfgPath>> blobs;
    auto blob = [&](int col, const char* param, CfgPath TlsDomainConfig::*field) {
      if (q->is_null(col) || q->text(col).empty()) return;
      add(param, "[" + name + "]" + label + " column " + param);
      blobs.emplace_back(field,
                         CfgPath{label + " column " + param, pos, std::string(q->text(col))});
    };
    text(kMatchIp, "match_ip_address");
    text(kMatchSip, "match_sip_domain");
    text(kMethod, "tls_method");
    number(kVerify, "verify_cert");
    number(kRequire, "require_cert");
    blob(kCert, "certificate", &TlsDomainConfig::certificate);
    blob(kKey, "private_key", &TlsDomainConfig::private_key);
    number(kCrlAll, "crl_check_all");
    text(kCrlDir, "crl_dir");
    blob(kCaList, "ca_list", &TlsDomainConfig::ca_list);
    text(kCaDir, "ca_dir");
    text(kCipher, "ciphers_list");
    blob(kDh, "dh_params", &TlsDomainConfig::dh_params);
    text(kCurve, "ec_curve");
    std::vector<std::string> row_warnings;
    auto parsed = parse_tls_domains(one, &row_warnings);
    if (!parsed.ok() || parsed->size() != 1) {
      skip(parsed.ok() ? "not one domain" : parsed.message());
      continue;
    }
    TlsDomainConfig& d = parsed->front();
    d.from_db = true;
    for (auto& [field, content] : blobs) d.*field = std::move(content);
    auto checked = load_tls_snapshot(*parsed, &row_warnings);  // every file and setting checked
    if (!checked.ok()) {
      skip(checked.message());
      continue;
    }
    out.push_back(std::move(parsed->front()));
  }
  return out;
}

}  // namespace sipsd
