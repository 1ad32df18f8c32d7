// Loading a cfg file: flatten includes, parse statement by statement, check and apply each one
// in file order (modparam and function calls see only the modules loaded so far), then the
// whole-file checks (listeners vs. transport modules, default ports) and the route script.
#include "core/cfg/config.h"
#include "core/cfg/pv_spec.h"

#include <regex.h>
#include <unistd.h>

#include <algorithm>
#include <type_traits>

#include "core/base/ascii.h"
#include "core/base/syslog_sink.h"
#include "core/cfg/ast.h"
#include "core/cfg/did_you_mean.h"
#include "core/cfg/lexer.h"
#include "core/cfg/opensips_names.h"
#include "core/cfg/parser.h"
#include "core/cfg/schema.h"
#include "core/cfg/script.h"

namespace sipsd {

bool Config::has_module(std::string_view name) const {
  return std::find(modules.begin(), modules.end(), name) != modules.end();
}

namespace {

using cfg::CfgDiag;
using cfg::Loc;

// OpenSIPS transport protocols sipsd does not implement.
constexpr std::string_view kOtherProtos[] = {"ws",    "wss",     "sctp",    "bin",
                                             "bins",  "hep_udp", "hep_tcp", "hep_tls",
                                             "ipsec", "smpp",    "msrp",    "msrps"};

class Loader {
 public:
  Loader(Config& cfg, CfgDiag& diag, CfgScriptBuilder& builder, const LoadOptions& options)
      : cfg_(cfg), diag_(diag), builder_(builder), options_(options) {}

  void apply(const cfg::Item& item) {
    std::visit([this](const auto& x) { apply_one(x); }, item);
  }

  void finish() {
    check_listeners();
    for (ListenSpec& ls : cfg_.listeners) {
      if (ls.adv_host.empty() && !cfg_.core.advertised_address.empty())
        ls.adv_host = cfg_.core.advertised_address;
      if (ls.adv_port == 0 && cfg_.core.advertised_port != 0)
        ls.adv_port = static_cast<uint16_t>(cfg_.core.advertised_port);
    }
    cfg_.mi_fifo.enabled = cfg_.has_module("mi_fifo");
    if (cfg_.has_module("proto_tls") && !cfg_.has_module("tls_mgm")) {
      diag_.error(module_loc("proto_tls"),
                  "module 'proto_tls' needs tls_mgm: add loadmodule \"tls_mgm.so\"");
    }
  }

 private:
  void apply_one(const cfg::CoreAssign& a) {
    const cfg::CoreParamDef* def = cfg::find_core_param(a.name);
    if (!def) {  // the parser reports unknown names; keep this total anyway
      diag_.error(a.name_loc, strprintf("unknown core parameter '%s'", a.name.c_str()));
      return;
    }
    if (!def->use_instead.empty()) {
      diag_.warning(a.name_loc,
                    strprintf("'%s' is deprecated, use %.*s", a.name.c_str(),
                              static_cast<int>(def->use_instead.size()), def->use_instead.data()));
    }
    if (def->type == cfg::CoreType::kSocket) {
      apply_socket(a);
      return;
    }
    std::string err = cfg::check_core_value(*def, a.value);
    if (!err.empty()) {
      diag_.error(a.value.loc, err);
      return;
    }
    switch (def->type) {
      case cfg::CoreType::kInt:
        cfg_.core.*(def->int_field) = static_cast<int>(a.value.num);
        break;
      case cfg::CoreType::kBool:
        cfg_.core.*(def->bool_field) = a.value.num != 0;
        if (a.value.num != 0 &&
            (def->bool_field == &CoreParams::check_via || def->bool_field == &CoreParams::dns_via ||
             def->bool_field == &CoreParams::rev_dns_via)) {
          diag_.error(a.value.loc,
                      strprintf("OpenSIPS's '%s = yes' (DNS checks of the Via) is not supported "
                                "by sipsd: only 'no', the default",
                                a.name.c_str()));
        }
        break;
      case cfg::CoreType::kString:
        cfg_.core.*(def->str_field) =
            a.value.kind == cfg::Value::Kind::kNumber ? std::to_string(a.value.num) : a.value.str;
        break;
      case cfg::CoreType::kSocket:
        break;
    }
  }

  void apply_alias(const cfg::CoreAssign& a) {
    const cfg::SocketSpec& s = a.socket;
    AliasSpec al;
    const std::string proto = ascii_to_lower(s.proto);
    al.any_proto = proto.empty();
    al.proto = proto == "tls" ? Proto::kTls : proto == "tcp" ? Proto::kTcp : Proto::kUdp;
    al.host = s.host;
    al.port = static_cast<uint16_t>(s.has_port ? s.port : 0);
    cfg_.aliases.push_back(std::move(al));
  }

  void apply_socket(const cfg::CoreAssign& a) {
    if (a.name == "alias") {
      apply_alias(a);
      return;
    }
    const cfg::SocketSpec& s = a.socket;
    const std::string proto = ascii_to_lower(s.proto);
    ListenSpec ls;
    if (proto == "tls") {
      ls.proto = Proto::kTls;
    } else if (proto == "tcp") {
      ls.proto = Proto::kTcp;
    } else if (proto == "udp") {
      ls.proto = Proto::kUdp;
    } else if (std::find(std::begin(kOtherProtos), std::end(kOtherProtos), proto) !=
               std::end(kOtherProtos)) {
      diag_.error(s.proto_loc, strprintf("protocol '%s' is not supported", proto.c_str()));
      return;
    } else {
      static constexpr std::string_view kKnown[] = {"tls", "tcp", "udp"};
      diag_.error(s.proto_loc,
                  strprintf("unknown protocol '%s' (expected udp, tcp or tls)%s", s.proto.c_str(),
                            did_you_mean_suffix(proto, kKnown).c_str()));
      return;
    }
    bool ok = true;
    for (const cfg::SocketOption& o : a.socket_options) {
      if (o.name == "as") {
        ls.adv_host = o.value.host;
        ls.adv_port = static_cast<uint16_t>(o.value.has_port ? o.value.port : 0);
      } else if (o.name == "use_workers") {
        diag_.warning(o.loc,
                      "socket option 'use_workers' is ignored (tcp/tls listeners are served by "
                      "the tcp_workers pool, udp listeners by the udp_workers pool)");
      } else {
        diag_.error(o.loc, strprintf("socket option '%s' is not supported yet", o.name.c_str()));
        ok = false;
      }
    }
    if (!ok) return;
    ls.host = s.host;
    ls.port_given = s.has_port;
    ls.port = static_cast<uint16_t>(s.has_port ? s.port : 0);
    ls.pos = diag_.source().pos(s.proto_loc);
    cfg_.listeners.push_back(std::move(ls));
    listener_locs_.push_back(s.proto_loc);
  }

  void apply_one(const cfg::Mpath& m) {
    diag_.warning(m.loc, "mpath ignored: modules are built into sipsd");
  }

  void apply_one(const cfg::LoadModule& m) {
    std::string name = m.path;
    size_t slash = name.rfind('/');
    if (slash != std::string::npos) name.erase(0, slash + 1);
    if (name.size() > 3 && name.ends_with(".so")) name.resize(name.size() - 3);
    if (name.empty()) {
      diag_.error(m.loc, "loadmodule: empty module name");
      return;
    }
    if (name == "tls_wolfssl") {  // another TLS library for tls_mgm; sipsd always uses OpenSSL
      diag_.notice(m.loc,
                   "tls_wolfssl: sipsd uses OpenSSL for TLS (tls_openssl); the module is "
                   "accepted and has no effect");
      name = "tls_openssl";
    }
    const cfg::ModuleDef* def = cfg::find_module(name);
    if (!def || (!def->ready && !options_.allow_unimplemented)) {
      // Its modparams are not reported again: one error per module.
      unsupported_modules_.push_back(name);
      if (def) {
        diag_.error(m.loc, strprintf("module '%s' is not supported yet", name.c_str()));
      } else if (cfg::is_unsupported_module(name)) {
        diag_.error(m.loc,
                    strprintf("OpenSIPS's module '%s' is not supported by sipsd", name.c_str()));
      } else {
        diag_.error(m.loc, strprintf("unknown module '%s'%s", name.c_str(),
                                     did_you_mean_suffix(name, cfg::module_names()).c_str()));
      }
      return;
    }
    if (cfg_.has_module(name)) {
      diag_.warning(m.loc, strprintf("module '%s' is already loaded", name.c_str()));
      return;
    }
    cfg_.modules.push_back(name);
    module_locs_.push_back(m.loc);
  }

  void apply_one(const cfg::ModParam& m) {
    std::vector<const cfg::ModuleDef*> matched;
    if (!match_modules(m, &matched)) return;
    if (matched.empty()) {
      if (names_unsupported_module(m)) return;  // the loadmodule line already said so
      diag_.error(m.module_loc,
                  strprintf("modparam: module '%s' is not loaded (loadmodule \"%s.so\" must "
                            "come first)",
                            m.module.c_str(), m.module.c_str()));
      return;
    }
    bool found = false;
    for (const cfg::ModuleDef* mod : matched) {
      const cfg::ModParamDef* p = cfg::find_mod_param(*mod, m.param);
      if (!p) continue;
      found = true;
      std::string err = cfg::check_mod_param_value(*mod, *p, m.value);
      if (!err.empty()) {
        diag_.error(m.value.loc, err);
        continue;
      }
      set_mod_param(*mod, *p, m);
    }
    if (found) return;
    for (const cfg::ModuleDef* mod : matched) {
      if (cfg::opensips::is_mod_param(mod->name, m.param)) {
        diag_.error(
            m.param_loc,
            strprintf("OpenSIPS's parameter '%s' (module %.*s) is not supported by sipsd",
                      m.param.c_str(), static_cast<int>(mod->name.size()), mod->name.data()));
        return;
      }
    }
    std::vector<std::string_view> names;
    std::string mods;
    for (const cfg::ModuleDef* mod : matched) {
      for (std::string_view n : cfg::mod_param_names(*mod)) names.push_back(n);
      if (!mods.empty()) mods += ", ";
      mods += "'" + std::string(mod->name) + "'";
    }
    diag_.error(m.param_loc, strprintf("parameter '%s' not found in module%s %s%s", m.param.c_str(),
                                       matched.size() > 1 ? "s" : "", mods.c_str(),
                                       did_you_mean_suffix(m.param, names).c_str()));
  }

  // A modparam whose module name (or regex) names a module that loadmodule refused as
  // unsupported.
  bool names_unsupported_module(const cfg::ModParam& m) {
    if (unsupported_modules_.empty() || !cfg::regex_problem(m.module).empty()) return false;
    regex_t re;
    if (regcomp(&re, ("^(" + m.module + ")$").c_str(), REG_EXTENDED | REG_ICASE | REG_NOSUB) != 0)
      return false;
    bool hit = false;
    for (const std::string& name : unsupported_modules_) {
      if (regexec(&re, name.c_str(), 0, nullptr, 0) == 0) hit = true;
    }
    regfree(&re);
    return hit;
  }

  // The module name is a case-insensitive, anchored POSIX extended regex over loaded modules.
  bool match_modules(const cfg::ModParam& m, std::vector<const cfg::ModuleDef*>* out) {
    const bool plain =
        !m.module.empty() && std::all_of(m.module.begin(), m.module.end(), [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_';
        });
    if (plain) {
      for (const std::string& name : cfg_.modules) {
        if (ascii_to_lower(name) == ascii_to_lower(m.module))
          out->push_back(cfg::find_module(name));
      }
      return true;
    }
    std::string why = cfg::regex_problem(m.module);
    regex_t re;
    int rc = why.empty() ? regcomp(&re, ("^(" + m.module + ")$").c_str(),
                                   REG_EXTENDED | REG_ICASE | REG_NOSUB)
                         : -1;
    if (rc != 0) {
      if (why.empty()) {
        char buf[256];
        regerror(rc, &re, buf, sizeof buf);
        why = buf;
      }
      diag_.error(m.module_loc, strprintf("modparam: invalid module name regex '%s': %s",
                                          m.module.c_str(), why.c_str()));
      return false;
    }
    for (const std::string& name : cfg_.modules) {
      if (regexec(&re, name.c_str(), 0, nullptr, 0) == 0) out->push_back(cfg::find_module(name));
    }
    regfree(&re);
    return true;
  }

  void set_mod_param(const cfg::ModuleDef& mod, const cfg::ModParamDef& p, const cfg::ModParam& m) {
    if (!p.no_effect.empty()) {
      diag_.warning(m.param_loc,
                    strprintf("modparam: parameter '%s' of module '%.*s' has no effect: %.*s",
                              m.param.c_str(), static_cast<int>(mod.name.size()), mod.name.data(),
                              static_cast<int>(p.no_effect.size()), p.no_effect.data()));
      return;
    }
    if (p.accumulates) {
      ModParamValue v =
          p.type == cfg::ParamType::kInt ? ModParamValue(m.value.num) : ModParamValue(m.value.str);
      cfg_.tls_mgm_params.push_back(
          ModParam{std::string(mod.name), m.param, std::move(v), diag_.source().pos(m.value.loc)});
      return;
    }
    if (mod.name == "auth" || mod.name == "auth_db" || mod.name == "db_sqlite") {
      ModParamValue v =
          p.type == cfg::ParamType::kInt ? ModParamValue(m.value.num) : ModParamValue(m.value.str);
      cfg_.auth_params.push_back(
          ModParam{std::string(mod.name), m.param, std::move(v), diag_.source().pos(m.value.loc)});
      return;
    }
    if (mod.name == "mi_fifo") {
      set_mi_fifo_param(p, m);
      return;
    }
    if (mod.name == "acc") {
      set_acc_param(p, m);
      return;
    }
    if (mod.name == "tm" || mod.name == "rr" || mod.name == "path") {
      set_int_param(mod.name, p.name, m.value.num);
      return;
    }
    if (mod.name == "usrloc" || mod.name == "registrar") {
      set_registrar_param(mod.name, p.name, m);
      return;
    }
    if (mod.name == "proto_udp") {
      if (p.name == "udp_port") cfg_.udp.port = static_cast<int>(m.value.num);
      return;
    }
    StreamProtoParams* sp = mod.name == "proto_tls"   ? &cfg_.tls
                            : mod.name == "proto_tcp" ? &cfg_.tcp
                                                      : nullptr;
    if (!sp) return;
    if (p.name == "cert_check_on_conn_reusage") {
      sp->cert_check_on_conn_reusage = m.value.num != 0;
      return;
    }
    std::string_view field = std::string_view(p.name).substr(4);  // drop "tls_" / "tcp_"
    const int64_t v = m.value.num;
    if (field == "port") {
      sp->port = static_cast<int>(v);
    } else if (field == "crlf_pingpong") {
      sp->crlf_pingpong = v != 0;
    } else if (field == "crlf_drop") {
      sp->crlf_drop = v != 0;
    } else if (field == "max_msg_chunks") {
      sp->max_msg_chunks = static_cast<int>(v);
    } else if (field == "record_handoff") {
      sp->record_handoff = v != 0;
    }
  }

  void set_int_param(std::string_view module, std::string_view name, int64_t v) {
    const int i = static_cast<int>(v);
    TmParams& t = cfg_.tm;
    RrParams& r = cfg_.rr;
    if (module == "tm") {
      if (name == "fr_timeout") t.fr_timeout = i;
      if (name == "fr_inv_timeout") t.fr_inv_timeout = i;
      if (name == "T1_timer") t.t1_timer = i;
      if (name == "T2_timer") t.t2_timer = i;
      if (name == "wt_timer") t.wt_timer = i;
      if (name == "restart_fr_on_each_reply") t.restart_fr_on_each_reply = v != 0;
      if (name == "auto_100trying") t.auto_100trying = v != 0;
      if (name == "disable_6xx_block") t.disable_6xx_block = v != 0;
      if (name == "max_transactions") t.max_transactions = i;
      if (name == "max_branches") t.max_branches = i;
    } else if (module == "rr") {
      if (name == "append_fromtag") r.append_fromtag = v != 0;
      if (name == "enable_double_rr") r.enable_double_rr = v != 0;
    } else if (module == "path") {
      if (name == "use_received") cfg_.path_mod.use_received = v != 0;
      if (name == "enable_double_path") cfg_.path_mod.enable_double_path = v != 0;
    }
  }

  void set_registrar_param(std::string_view module, std::string_view name, const cfg::ModParam& m) {
    const int i = static_cast<int>(m.value.num);
    const std::string str =
        m.value.kind == cfg::Value::Kind::kNumber ? std::to_string(m.value.num) : m.value.str;
    UsrlocParams& u = cfg_.usrloc;
    RegistrarParams& r = cfg_.registrar;
    if (module == "usrloc") {
      if (name == "db_mode") {
        if (i != 0 && i != 2) {
          diag_.error(m.value.loc, strprintf("modparam: usrloc db_mode %d is not supported (0: "
                                             "memory only, 2: write-back)",
                                             i));
          return;
        }
        u.db_mode = i;
      }
      if (name == "working_mode_preset" && str == "single-instance-sql-write-back") u.db_mode = 2;
      if (name == "working_mode_preset" && str != "single-instance-no-db" &&
          str != "single-instance-sql-write-back") {
        diag_.error(m.value.loc,
                    strprintf("modparam: usrloc working_mode_preset '%s' is not supported "
                              "(single-instance-no-db, single-instance-sql-write-back)",
                              str.c_str()));
        return;
      }
      if (name == "db_url") u.db_url = str;
      if (name == "timer_interval") u.timer_interval = i;
      if (name == "nat_bflag") u.nat_bflag = str;
      if (name == "use_domain") u.use_domain = i != 0;
      if (name == "hash_size") u.hash_size = i;
      if (name == "cseq_delay") u.cseq_delay = i;
      if (name == "max_contacts_total") u.max_contacts_total = i;
      return;
    }
    if (name == "default_expires") r.default_expires = i;
    if (name == "min_expires") r.min_expires = i;
    if (name == "max_expires") r.max_expires = i;
    if (name == "max_contacts") r.max_contacts = i;
    if (name == "tcp_persistent_flag") r.tcp_persistent_flag = str;
    if (name == "received_avp") {
      r.received_avp = std::string(cfg::avp_param_name(str));
      if (r.received_avp.empty())
        diag_.error(m.value.loc,
                    "modparam: registrar received_avp expects an AVP name "
                    "(\"rcv\" or \"$avp(rcv)\"), got '" +
                        str + "'");
    }
    if (name == "received_param") r.received_param = str;
    if (name == "retry_after") r.retry_after = i;
  }

  void set_acc_param(const cfg::ModParamDef& p, const cfg::ModParam& m) {
    if (p.name == "log_level") {
      if (m.value.num == 0) {
        diag_.error(m.value.loc, "modparam: acc log_level 0 is not a level (-3..4 except 0)");
        return;
      }
      cfg_.acc.log_level = static_cast<int>(m.value.num);
    } else if (p.name == "log_facility") {
      int facility = 0;
      if (!parse_syslog_facility(m.value.str, &facility)) {
        diag_.error(m.value.loc, strprintf("modparam: acc log_facility: unknown syslog facility "
                                           "'%s'",
                                           m.value.str.c_str()));
        return;
      }
      cfg_.acc.log_facility = m.value.str;
    } else if (p.name == "db_url") {
      if (m.value.str.rfind("sqlite://", 0) != 0) {
        diag_.error(m.value.loc, strprintf("modparam: acc db_url '%s': sipsd has db_sqlite only "
                                           "(sqlite:///path/file.db)",
                                           m.value.str.c_str()));
        return;
      }
      cfg_.acc.db_url = m.value.str;
    } else if (p.name == "db_table_acc" || p.name == "db_table_missed_calls") {
      if (m.value.str.empty() ||
          m.value.str.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789_") != std::string::npos) {
        diag_.error(m.value.loc, strprintf("modparam: acc %s: '%s' is not a table name "
                                           "(letters, digits, '_')",
                                           m.param.c_str(), m.value.str.c_str()));
        return;
      }
      (p.name == "db_table_acc" ? cfg_.acc.db_table_acc : cfg_.acc.db_table_missed_calls) =
          m.value.str;
    } else if (m.value.num != 0) {  // early_media, report_cancels, detect_direction
      diag_.error(m.value.loc, strprintf("modparam: acc '%s' = %lld is not supported by sipsd "
                                         "(only 0, OpenSIPS's default)",
                                         m.param.c_str(), static_cast<long long>(m.value.num)));
    }
  }

  void set_mi_fifo_param(const cfg::ModParamDef& p, const cfg::ModParam& m) {
    MiFifoParams& f = cfg_.mi_fifo;
    const std::string who = "modparam: parameter '" + m.param + "' of module 'mi_fifo'";
    const std::string str =
        m.value.kind == cfg::Value::Kind::kNumber ? std::to_string(m.value.num) : m.value.str;
    if (p.name == "fifo_mode") {
      if (m.value.num > 0777) {
        diag_.error(m.value.loc,
                    strprintf("%s must be a permission mode 0..0777 (write it in octal), got 0%llo",
                              who.c_str(), static_cast<unsigned long long>(m.value.num)));
        return;
      }
      f.fifo_mode = m.value.num == 0 ? 0600 : static_cast<int>(m.value.num);
      if (f.fifo_mode & 0002) {
        diag_.warning(m.value.loc, strprintf("fifo_mode 0%o lets every local user send management "
                                             "commands",
                                             static_cast<unsigned>(f.fifo_mode)));
      }
    } else if (p.name == "fifo_name" || p.name == "reply_dir") {
      if (str.empty()) {
        diag_.error(m.value.loc, who + " must not be empty");
        return;
      }
      if (p.name == "fifo_name") {
        f.fifo_name = str;
        return;
      }
      if (str.size() >= 127) {  // reply_dir + name must stay below 128 bytes (OpenSIPS)
        diag_.error(m.value.loc, strprintf("%s is too long (%zu bytes): reply paths must be "
                                           "shorter than 128 bytes",
                                           who.c_str(), str.size()));
        return;
      }
      if (str.back() != '/') {
        diag_.warning(m.value.loc, strprintf("reply_dir '%s' does not end with '/': replies go to "
                                             "'%sNAME' (the name is appended verbatim)",
                                             str.c_str(), str.c_str()));
      }
      f.reply_dir = str;
    } else if (p.name == "fifo_user") {
      f.fifo_user = str;
    } else if (p.name == "fifo_group") {
      f.fifo_group = str;
    }
  }

  void apply_one(const cfg::RouteDef& r) { builder_.add_route(r, cfg_.modules); }

  Loc module_loc(std::string_view name) const {
    for (size_t i = 0; i < cfg_.modules.size(); ++i) {
      if (cfg_.modules[i] == name) return module_locs_[i];
    }
    return Loc{};
  }

  void check_listeners() {
    bool reported[3] = {false, false, false};
    for (size_t i = 0; i < cfg_.listeners.size(); ++i) {
      ListenSpec& ls = cfg_.listeners[i];
      const char* module = ls.proto == Proto::kTls   ? "proto_tls"
                           : ls.proto == Proto::kTcp ? "proto_tcp"
                                                     : "proto_udp";
      auto p = static_cast<size_t>(ls.proto);
      if (!cfg_.has_module(module) && !reported[p]) {
        reported[p] = true;
        diag_.error(listener_locs_[i],
                    strprintf("listeners found for protocol %s, but loadmodule \"%s.so\" is "
                              "missing",
                              proto_name(ls.proto), module));
      }
      if (!ls.port_given) {
        ls.port = static_cast<uint16_t>(ls.proto == Proto::kTls   ? cfg_.tls.port
                                        : ls.proto == Proto::kTcp ? cfg_.tcp.port
                                                                  : cfg_.udp.port);
      }
    }
    for (size_t i = 0; i < cfg_.listeners.size(); ++i) {
      const ListenSpec& a = cfg_.listeners[i];
      if (a.port == 0) continue;  // ephemeral ports never clash
      for (size_t j = 0; j < i; ++j) {
        const ListenSpec& b = cfg_.listeners[j];
        if (a.proto == b.proto && a.host == b.host && a.port == b.port) {
          diag_.error(listener_locs_[i],
                      strprintf("duplicate listener %s:%s:%u (already defined at %s)",
                                proto_name(a.proto), a.host.c_str(), a.port, b.pos.str().c_str()));
          break;
        }
      }
    }
    if (cfg_.listeners.empty()) diag_.error(Loc{}, "no listen/socket defined");
  }

  Config& cfg_;
  CfgDiag& diag_;
  CfgScriptBuilder& builder_;
  const LoadOptions& options_;
  std::vector<Loc> module_locs_;                  // parallel to cfg_.modules
  std::vector<std::string> unsupported_modules_;  // loadmodule lines refused
  std::vector<Loc> listener_locs_;                // parallel to cfg_.listeners
};

Result<Config> load_source(const cfg::CfgSource& src, const LoadOptions& options) {
  CfgDiag diag(src);
  Config cfg;
  cfg.path = src.main_file();
  CfgScriptBuilder builder(diag, options.allow_unimplemented);
  Loader loader(cfg, diag, builder, options);
  cfg::Parser parser(src, diag);
  cfg::Item item;
  while (parser.next(&item)) {
    loader.apply(item);
    if (diag.too_many()) break;
  }
  if (!parser.failed() && !diag.too_many()) {
    loader.finish();
    cfg.script = builder.finish(cfg.core.max_while_loops);
  }
  if (diag.error_count() > 0) return make_error(diag.error_text());
  if (!cfg.script) return make_error(src.main_file() + ": internal error: no script compiled");
  cfg.warnings = diag.warnings();
  cfg.notices = diag.notices();
  return cfg;
}

}  // namespace

Result<Config> load_config(const std::string& path, const LoadOptions& options) {
  Result<cfg::CfgSource> src = cfg::CfgSource::from_file(path);
  if (!src.ok()) return make_error(src.message());
  return load_source(*src, options);
}

Result<Config> load_config_text(std::string_view text, const std::string& name,
                                const LoadOptions& options) {
  Result<cfg::CfgSource> src = cfg::CfgSource::from_text(text, name);
  if (!src.ok()) return make_error(src.message());
  return load_source(*src, options);
}

}  // namespace sipsd
