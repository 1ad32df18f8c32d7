// CfgScriptBuilder: compiles route blocks (the cfg AST) into the node tree of script_node.h,
// resolving at load everything the cfg fixes: variables to PvRefs and slots, functions to their
// table rows (availability, module, argument kinds, route types), regex literals, route names
// to indexes, flag names to bits. finish() checks what needs the whole file: route() targets,
// route-name arguments, the route types each sub-route is reached from, recursion.
#include <algorithm>
#include <charconv>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/base/ascii.h"
#include "core/cfg/ast.h"
#include "core/cfg/did_you_mean.h"
#include "core/cfg/opensips_names.h"
#include "core/cfg/pv_spec.h"
#include "core/cfg/schema.h"
#include "core/cfg/script.h"
#include "core/cfg/script_node.h"

namespace sipsd {

namespace {

using cfg::ArgKind;
using cfg::Loc;
using cfg::Tok;
using script::CallArg;
using script::Expr;
using script::ExprPtr;
using script::Format;
using script::Stmt;

constexpr int kMaxFlags = 32;

bool parse_int(std::string_view s, int64_t* out) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out, 10);
  return ec == std::errc() && ptr == s.data() + s.size();
}

bool valid_var_name(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

// A string that the interpreter does not have to copy: a literal, or something built fresh.
bool stable(const Expr& e) {
  switch (e.op) {
    case Expr::Op::kConst:
    case Expr::Op::kRc:
    case Expr::Op::kCall:
    case Expr::Op::kRouteCall:
    case Expr::Op::kNot:
    case Expr::Op::kAnd:
    case Expr::Op::kOr:
    case Expr::Op::kCmp:
    case Expr::Op::kMatch:
    case Expr::Op::kMyself:
    case Expr::Op::kNeg:
      return true;
    case Expr::Op::kParam:
      return e.tr.empty() || e.tr.back().op != script::Transform::Op::kSSubstr;
    default:
      return false;  // views into the env, $var or $avp storage (also through s.substr/uri.*)
  }
}

}  // namespace

struct CfgScriptBuilder::State {
  State(cfg::CfgDiag& d, bool allow) : diag(d), allow_unimplemented(allow) {
    impl = std::make_unique<Script::Impl>();
  }

  cfg::CfgDiag& diag;
  bool allow_unimplemented;
  std::unique_ptr<Script::Impl> impl;
  const std::vector<std::string>* modules = nullptr;

  std::array<std::map<std::string, int, std::less<>>, kRouteTypeCount> names;  // -> RouteRef.index
  std::map<std::string, int, std::less<>> var_slots, avp_slots, flag_bits;
  uint32_t flags_used = 0;

  struct CallSite {
    const cfg::FuncDef* def;
    Loc loc;
  };
  struct Edge {
    int from;  // global route index
    script::RouteCall* call;
  };
  struct RouteArgFixup {
    script::Call* call;
    size_t arg;
    RouteType type;
    std::string name;
    Loc loc;
  };
  std::vector<std::vector<CallSite>> calls;  // by global route index
  std::vector<Edge> edges;
  std::vector<RouteArgFixup> route_args;
  std::vector<script::RouteCall*> first_call;  // by global route: route(x) as first statement
  int cur = -1;                                // global index of the route being compiled
  int loops = 0;                               // while/switch nesting (for break)

  void error(Loc loc, const std::string& msg) { diag.error(loc, msg); }

  bool module_loaded(std::string_view name) const {
    return std::find(modules->begin(), modules->end(), name) != modules->end();
  }

  // ---- variables ----------------------------------------------------------------------------

  // The Expr that reads a variable spelled `text` ("$rm", "$(var(x){s.len})"); null after an
  // error. `in_format`: inside a string ("... in format string").
  ExprPtr compile_pv(const std::string& text, Loc loc, bool in_format, bool for_write) {
    cfg::PvSpec spec;
    std::string why;
    size_t used = cfg::parse_pv_spec(text, &spec, &why);
    const char* where = in_format ? " in format string" : "";
    if (used == 0 || used != text.size()) {
      if (why.empty()) why = "invalid script variable";
      error(loc, strprintf("%s '%s'%s", why.c_str(), text.c_str(), where));
      return nullptr;
    }
    const cfg::PvDef* def = cfg::find_pv_def(spec.name);
    if (!def) {
      std::string_view mod = cfg::opensips::variable_module(spec.name);
      if (!mod.empty()) {
        error(loc, strprintf("OpenSIPS's variable $%s (module %.*s) is not supported by sipsd%s",
                             spec.name.c_str(), static_cast<int>(mod.size()), mod.data(), where));
        return nullptr;
      }
    }
    if (!def || (def->arg == cfg::PvArg::kNone && spec.has_arg)) {
      std::string suffix = def ? "" : did_you_mean_suffix("$" + spec.name, cfg::pv_names());
      error(loc,
            strprintf("unknown script variable '%s'%s%s", text.c_str(), where, suffix.c_str()));
      return nullptr;
    }
    auto e = std::make_unique<Expr>();
    e->where = diag.where(loc);
    PvId id = def->id;
    if (def->arg == cfg::PvArg::kName && (!spec.has_arg || spec.arg.empty())) {
      error(loc, strprintf("script variable '%s'%s needs a name: $%s(name)", text.c_str(), where,
                           spec.name.c_str()));
      return nullptr;
    }
    if (id == PvId::kSocketIn && spec.has_arg) {
      static constexpr std::pair<std::string_view, PvId> kFields[] = {
          {"proto", PvId::kProto}, {"ip", PvId::kRcvIp}, {"port", PvId::kRcvPort}};
      const auto* f = std::find_if(std::begin(kFields), std::end(kFields),
                                   [&](const auto& x) { return x.first == spec.arg; });
      if (f == std::end(kFields)) {
        error(loc, strprintf("unknown script variable '%s'%s ($socket_in fields: proto, ip, "
                             "port)",
                             text.c_str(), where));
        return nullptr;
      }
      id = f->second;
      def = &cfg::pv_def(id);
    }
    if (id == PvId::kSocketOut && spec.has_arg && spec.arg != "proto" && spec.arg != "ip" &&
        spec.arg != "port") {
      error(loc, strprintf("unknown script variable '%s'%s ($socket_out fields: proto, ip, port)",
                           text.c_str(), where));
      return nullptr;
    }
    if (!def->module.empty() && !module_loaded(def->module)) {
      error(loc, strprintf("unknown script variable '%s'%s, missing loadmodule \"%.*s.so\"?",
                           text.c_str(), where, static_cast<int>(def->module.size()),
                           def->module.data()));
      return nullptr;
    }
    if (!def->ready && !allow_unimplemented) {
      error(loc,
            strprintf("script variable '%s'%s is not supported by sipsd yet", text.c_str(), where));
      return nullptr;
    }
    e->ref.id = id;
    e->text = spec.arg;
    e->ref.name = e->text;
    switch (id) {
      case PvId::kVar:
      case PvId::kAvp: {
        if (!valid_var_name(spec.arg)) {
          error(loc, strprintf("invalid name '%s' in '%s'", spec.arg.c_str(), text.c_str()));
          return nullptr;
        }
        auto& slots = id == PvId::kVar ? var_slots : avp_slots;
        auto& names_by_slot = id == PvId::kVar ? impl->vars : impl->avps;
        auto it = slots.find(spec.arg);
        if (it == slots.end()) {
          it = slots.emplace(spec.arg, static_cast<int>(names_by_slot.size())).first;
          names_by_slot.push_back(spec.arg);
        }
        e->ref.slot = it->second;
        e->op = id == PvId::kVar ? Expr::Op::kVar : Expr::Op::kAvp;
        break;
      }
      case PvId::kRc:
        e->op = Expr::Op::kRc;
        break;
      case PvId::kParam: {
        int64_t n = 0;
        if (!parse_int(spec.arg, &n) || n < 1 || n > script::kMaxRouteArgs) {
          error(loc, strprintf("'%s': the route parameter number must be 1..%d", text.c_str(),
                               script::kMaxRouteArgs));
          return nullptr;
        }
        e->ref.index = static_cast<int>(n - 1);
        e->op = Expr::Op::kParam;
        break;
      }
      default:
        e->op = Expr::Op::kPv;
        break;
    }
    if (spec.has_index) {
      int64_t idx = 0;
      if (id != PvId::kHdr && id != PvId::kAvp) {
        error(loc, strprintf("script variable '%s' takes no index", text.c_str()));
        return nullptr;
      }
      if (spec.index == "*") {
        error(loc, strprintf("'%s': the index [*] is not supported yet", text.c_str()));
        return nullptr;
      }
      if (!parse_int(spec.index, &idx) || idx < -1000 || idx > 1000) {
        error(loc, strprintf("'%s': the index must be an integer", text.c_str()));
        return nullptr;
      }
      e->ref.index = static_cast<int>(idx);
    }
    for (const std::string& t : spec.transforms) {
      script::Transform tr;
      std::string problem = script::compile_transform(t, &tr);
      if (!problem.empty()) {
        error(loc, strprintf("'%s': %s", text.c_str(), problem.c_str()));
        return nullptr;
      }
      e->tr.push_back(std::move(tr));
    }
    if (for_write) {
      if (!def->writable) {
        error(loc, strprintf("'%s' is read-only; only %s can be assigned", text.c_str(),
                             cfg::writable_pv_text().c_str()));
        return nullptr;
      }
      if (!e->tr.empty() || spec.has_index) {
        error(loc, strprintf("cannot assign to '%s' (transformations and indexes are read-only)",
                             text.c_str()));
        return nullptr;
      }
    }
    return e;
  }

  // A string with $variables: literal pieces and variable reads. `strip_newline`: xlog drops
  // the trailing newline (the logger ends the line).
  bool compile_format(const std::string& s, Loc loc, bool strip_newline, Format* out) {
    std::string lit;
    bool ok = true;
    auto flush = [&] {
      if (!lit.empty()) {
        Format::Piece piece;
        piece.text = std::move(lit);
        out->pieces.push_back(std::move(piece));
      }
      lit.clear();
    };
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] != '$') {
        lit += s[i];
        continue;
      }
      cfg::PvSpec spec;
      std::string why;
      size_t used = cfg::parse_pv_spec(std::string_view(s).substr(i), &spec, &why);
      if (used == 0) {
        if (!why.empty()) {
          if (why.starts_with("unbalanced '('")) why = "unbalanced '(' in a script variable";
          error(loc, why + " of the format string");
          return false;
        }
        lit += '$';  // a lone '$' is text
        continue;
      }
      ExprPtr pv = compile_pv(s.substr(i, used), loc, true, false);
      if (!pv) {
        ok = false;
      } else {
        flush();
        Format::Piece piece;
        piece.direct = pv->op == Expr::Op::kPv && pv->tr.empty();
        piece.ref = pv->ref;
        piece.pv = std::move(pv);
        out->pieces.push_back(std::move(piece));
      }
      i += used - 1;
    }
    flush();
    if (strip_newline && !out->pieces.empty() && !out->pieces.back().pv) {
      std::string& t = out->pieces.back().text;
      while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
      if (t.empty()) out->pieces.pop_back();
    }
    return ok;
  }

  // ---- expressions --------------------------------------------------------------------------

  static ExprPtr make_const(ScriptValue v, std::string text = {}) {
    auto e = std::make_unique<Expr>();
    e->op = Expr::Op::kConst;
    e->text = std::move(text);
    e->value = v.is_str() ? ScriptValue::of(std::string_view(e->text)) : v;
    return e;
  }

  ExprPtr compile_expr(const cfg::Expr& x) {
    switch (x.kind) {
      case cfg::Expr::Kind::kNumber:
        return make_const(ScriptValue::of(x.num));
      case cfg::Expr::Kind::kString:
        return make_const(ScriptValue::of(std::string_view()), x.text);
      case cfg::Expr::Kind::kNull:
        return make_const(ScriptValue::null());
      case cfg::Expr::Kind::kPv:
        return compile_pv(x.text, x.loc, false, false);
      case cfg::Expr::Kind::kId:
        error(x.loc, strprintf("bare word <%s> found, command calls need '()'", x.text.c_str()));
        return nullptr;
      case cfg::Expr::Kind::kMyself:
        error(x.loc, "'myself' can only be used on the right of == or != ($rd == myself)");
        return nullptr;
      case cfg::Expr::Kind::kEmpty:
        error(x.loc, "a value is expected");
        return nullptr;
      case cfg::Expr::Kind::kCall:
        return compile_call(x.call);
      case cfg::Expr::Kind::kNot:
      case cfg::Expr::Kind::kNeg: {
        auto e = std::make_unique<Expr>();
        e->op = x.kind == cfg::Expr::Kind::kNot ? Expr::Op::kNot : Expr::Op::kNeg;
        e->where = diag.where(x.loc);
        e->a = compile_expr(*x.lhs);
        return e->a ? std::move(e) : nullptr;
      }
      case cfg::Expr::Kind::kAnd:
      case cfg::Expr::Kind::kOr: {
        auto e = std::make_unique<Expr>();
        e->op = x.kind == cfg::Expr::Kind::kAnd ? Expr::Op::kAnd : Expr::Op::kOr;
        e->a = compile_expr(*x.lhs);
        e->b = compile_expr(*x.rhs);
        return e->a && e->b ? std::move(e) : nullptr;
      }
      case cfg::Expr::Kind::kArith:
        return compile_arith(x);
      case cfg::Expr::Kind::kCmp:
        return compile_cmp(x);
    }
    return nullptr;
  }

  ExprPtr compile_arith(const cfg::Expr& x) {
    // OpenSIPS gives + - * / % one precedence level: 7 + 3 * 2 is 20. Say so when it matters.
    const bool mul = x.op == Tok::kStar || x.op == Tok::kSlash || x.op == Tok::kPercent;
    if (mul && x.lhs->kind == cfg::Expr::Kind::kArith && !x.lhs->parenthesized &&
        (x.lhs->op == Tok::kPlus || x.lhs->op == Tok::kMinus)) {
      diag.warning(x.op_loc, strprintf("%s is applied to everything on its left: + - * / %% "
                                       "have one precedence level, left to right (as in "
                                       "OpenSIPS); add parentheses to make this clear",
                                       cfg::tok_name(x.op)));
    }
    auto e = std::make_unique<Expr>();
    e->op = Expr::Op::kArith;
    e->tok = x.op;
    e->where = diag.where(x.op_loc);
    e->a = compile_expr(*x.lhs);
    e->b = compile_expr(*x.rhs);
    if (!e->a || !e->b) return nullptr;
    e->copy_a = !stable(*e->a) && e->b->op != Expr::Op::kConst;
    return e;
  }

  ExprPtr compile_cmp(const cfg::Expr& x) {
    auto e = std::make_unique<Expr>();
    e->tok = x.op;
    e->where = diag.where(x.op_loc);
    const char* op_name = cfg::tok_name(x.op);
    const bool regex_op = x.op == Tok::kMatch || x.op == Tok::kNotMatch;
    if (x.rhs->kind == cfg::Expr::Kind::kMyself) {
      // `X == myself`: is_myself() on X's host and port.
      if (x.op != Tok::kEq && x.op != Tok::kNe) {
        error(x.op_loc, strprintf("myself can only be compared with == or !=, not %s", op_name));
        return nullptr;
      }
      const cfg::FuncDef& def = cfg::func_def(FuncId::kIsMyself);
      if (!def.ready && !allow_unimplemented) {
        error(x.rhs->loc, "'== myself' needs is_myself(), which sipsd does not support yet");
        return nullptr;
      }
      calls[static_cast<size_t>(cur)].push_back(CallSite{&def, x.rhs->loc});
      e->op = Expr::Op::kMyself;
      e->a = compile_expr(*x.lhs);
      return e->a ? std::move(e) : nullptr;
    }
    e->a = compile_expr(*x.lhs);
    bool ok = e->a != nullptr;
    const cfg::Expr& r = *x.rhs;
    if (r.kind == cfg::Expr::Kind::kNull && x.op != Tok::kEq && x.op != Tok::kNe) {
      error(x.op_loc, strprintf("NULL can only be compared with == or !=, not %s", op_name));
      return nullptr;
    }
    if (regex_op) {
      e->op = Expr::Op::kMatch;
      if (r.kind == cfg::Expr::Kind::kNumber || r.kind == cfg::Expr::Kind::kNull) {
        error(r.loc, strprintf("%s needs a quoted regular expression", op_name));
        return nullptr;
      }
      if (r.kind == cfg::Expr::Kind::kString) {
        e->re = std::make_unique<ScriptRegex>();
        std::string why = e->re->compile(r.text);
        if (!why.empty()) {
          error(r.loc,
                strprintf("invalid regular expression \"%s\": %s", r.text.c_str(), why.c_str()));
          return nullptr;
        }
        return ok ? std::move(e) : nullptr;
      }
    } else {
      e->op = Expr::Op::kCmp;
    }
    e->b = compile_expr(r);
    if (!e->b || !ok) return nullptr;
    e->copy_a = !stable(*e->a) && e->b->op != Expr::Op::kConst;
    return e;
  }

  // ---- calls --------------------------------------------------------------------------------

  bool check_arg_count(const cfg::Call& c, int min, int max) {
    int n = static_cast<int>(c.args.size());
    if (n < min) {
      error(c.loc, strprintf("too few parameters for command <%s>", c.name.c_str()));
      return false;
    }
    if (n > max) {
      error(c.loc, strprintf("too many parameters for command <%s>", c.name.c_str()));
      return false;
    }
    for (size_t i = 0; i < c.args.size(); ++i) {
      if (c.args[i].kind == cfg::Expr::Kind::kEmpty && static_cast<int>(i) < min) {
        error(c.args[i].loc,
              strprintf("parameter %zu of command <%s> is missing", i + 1, c.name.c_str()));
        return false;
      }
    }
    return true;
  }

  // The name a route(...) / t_on_*(...) argument spells, or "" after an error.
  bool route_name_of(const cfg::Expr& a, std::string* name) {
    switch (a.kind) {
      case cfg::Expr::Kind::kId:
      case cfg::Expr::Kind::kString:
        *name = a.text;
        return !name->empty();
      case cfg::Expr::Kind::kNumber:
        *name = std::to_string(a.num);
        return true;
      default:
        return false;
    }
  }

  ExprPtr compile_route_call(const cfg::Call& c) {
    if (c.args.empty() || c.args[0].kind == cfg::Expr::Kind::kEmpty) {
      error(c.loc, "too few parameters for command <route>");
      return nullptr;
    }
    auto rc = std::make_unique<script::RouteCall>();
    rc->loc = c.args[0].loc;
    rc->where = diag.where(c.loc);
    if (!route_name_of(c.args[0], &rc->name)) {
      error(c.args[0].loc, "route(...) expects a route name");
      return nullptr;
    }
    if (c.args.size() > static_cast<size_t>(script::kMaxRouteArgs) + 1) {
      error(c.args[script::kMaxRouteArgs + 1].loc,
            strprintf("route(): at most %d parameters", script::kMaxRouteArgs));
      return nullptr;
    }
    bool ok = true;
    for (size_t i = 1; i < c.args.size(); ++i) {
      ExprPtr a = compile_expr(c.args[i]);
      if (!a) ok = false;
      rc->args.push_back(std::move(a));
    }
    if (!ok) return nullptr;
    auto e = std::make_unique<Expr>();
    e->op = Expr::Op::kRouteCall;
    e->route = std::move(rc);
    edges.push_back(Edge{cur, e->route.get()});
    return e;
  }

  ExprPtr compile_call(const cfg::Call& c) {
    const std::string& name = c.name;
    if (name == "route") return compile_route_call(c);
    if (name == "exit" || name == "drop" || name == "return") {
      error(c.loc, strprintf("'%s' cannot be used in a condition", name.c_str()));
      return nullptr;
    }
    cfg::FuncInfo fi = cfg::find_function(name);
    const bool hidden =
        fi.def && !allow_unimplemented && (!fi.def->ready || (fi.module && !fi.module->ready));
    if (!fi.def || (hidden && (!fi.module || !fi.module->ready))) {
      std::string_view mod =
          fi.def ? cfg::func_module(fi.def->id) : cfg::unsupported_function_module(name);
      if (!mod.empty()) {
        error(c.loc, strprintf("OpenSIPS's function %s() (module %.*s) is not supported by sipsd",
                               name.c_str(), static_cast<int>(mod.size()), mod.data()));
      } else {
        error(c.loc, strprintf("unknown command <%s>, missing loadmodule?%s", name.c_str(),
                               did_you_mean_suffix(name, cfg::function_names()).c_str()));
      }
      return nullptr;
    }
    if (fi.module && !module_loaded(fi.module->name)) {
      error(c.loc, strprintf("unknown command <%s>, missing loadmodule \"%.*s.so\"?", name.c_str(),
                             static_cast<int>(fi.module->name.size()), fi.module->name.data()));
      return nullptr;
    }
    if (hidden) {
      error(c.loc,
            strprintf("command <%s> (module %.*s) is not supported by sipsd yet", name.c_str(),
                      static_cast<int>(fi.module->name.size()), fi.module->name.data()));
      return nullptr;
    }
    const cfg::FuncDef& def = *fi.def;
    if (!check_arg_count(c, def.min_args, def.max_args)) return nullptr;
    calls[static_cast<size_t>(cur)].push_back(CallSite{&def, c.loc});
    auto call = std::make_unique<script::Call>();
    call->def = &def;
    call->id = def.id;
    call->where = diag.where(c.loc);
    bool ok = true;
    if (def.id == FuncId::kXlog) {
      ok = compile_xlog(c, call.get());
    } else if (def.id == FuncId::kIsMethod) {
      ok = compile_is_method(c, call.get());
    } else {
      call->args.resize(c.args.size());
      for (size_t i = 0; i < c.args.size(); ++i) {
        if (!compile_arg(c, def, i, call.get())) ok = false;
      }
      if (!ok) return nullptr;
      // A value that points into the env or a variable must outlive the later arguments.
      bool later_computed = false;
      for (size_t i = call->args.size(); i-- > 0;) {
        CallArg& a = call->args[i];
        a.copy = later_computed && a.mode == CallArg::Mode::kExpr && !stable(*a.expr);
        if (a.mode != CallArg::Mode::kConst) later_computed = true;
      }
      call->all_const = !later_computed;
      if (call->all_const) {
        for (const CallArg& a : call->args) call->const_args.push_back(a.value);
      }
    }
    if (!ok) return nullptr;
    auto e = std::make_unique<Expr>();
    e->op = Expr::Op::kCall;
    e->call = std::move(call);
    return e;
  }

  std::string fname(const cfg::FuncDef& def) const { return std::string(def.name); }

  bool compile_arg(const cfg::Call& c, const cfg::FuncDef& def, size_t i, script::Call* call) {
    const cfg::Expr& a = c.args[i];
    const cfg::ArgSpec& spec = def.args[i];
    CallArg& out = call->args[i];
    out.kind = spec.kind;
    const std::string f = fname(def);
    const std::string what(spec.what);
    if (a.kind == cfg::Expr::Kind::kEmpty) {  // an optional parameter left out
      out.mode = CallArg::Mode::kConst;
      out.value = ScriptValue::null();
      return true;
    }
    if (a.kind == cfg::Expr::Kind::kId && spec.kind != ArgKind::kRoute &&
        spec.kind != ArgKind::kFlag) {
      error(a.loc, strprintf("bare word <%s> found, command calls need '()'; quote strings "
                             "(\"%s\")",
                             a.text.c_str(), a.text.c_str()));
      return false;
    }
    auto set_const_str = [&out](std::string text) {
      out.mode = CallArg::Mode::kConst;
      out.text = std::move(text);
      out.value = ScriptValue::of(std::string_view(out.text));
    };
    auto compile_as_expr = [&]() {
      out.mode = CallArg::Mode::kExpr;
      out.expr = compile_expr(a);
      return out.expr != nullptr;
    };
    switch (spec.kind) {
      case ArgKind::kStr:
        if (a.kind == cfg::Expr::Kind::kString) {
          if (!compile_format(a.text, a.loc, false, &out.fmt)) return false;
          if (out.fmt.constant()) {
            set_const_str(std::string(out.fmt.literal()));
            out.fmt.pieces.clear();
          } else {
            out.mode = CallArg::Mode::kFormat;
          }
          return true;
        }
        if (spec.quoted && a.kind == cfg::Expr::Kind::kNumber) {
          error(a.loc, strprintf("%s: a quoted %s is expected", f.c_str(), what.c_str()));
          return false;
        }
        if (a.kind == cfg::Expr::Kind::kNumber) {
          set_const_str(std::to_string(a.num));
          return true;
        }
        return compile_as_expr();
      case ArgKind::kInt: {
        int64_t v = 0;
        bool literal = false;
        if (a.kind == cfg::Expr::Kind::kNumber) {
          v = a.num;
          literal = true;
        } else if (a.kind == cfg::Expr::Kind::kString) {
          if (parse_int(a.text, &v)) {
            literal = true;
          } else if (a.text.find('$') != std::string::npos) {
            out.mode = CallArg::Mode::kFormat;  // "$var(code)": the text must be a number
            return compile_format(a.text, a.loc, false, &out.fmt);
          } else {
            error(a.loc, strprintf("%s: the %s must be a number", f.c_str(), what.c_str()));
            return false;
          }
        } else if (a.kind == cfg::Expr::Kind::kNull) {
          error(a.loc, strprintf("%s: the %s must be a number", f.c_str(), what.c_str()));
          return false;
        }
        if (!literal) return compile_as_expr();
        if (v < spec.min || v > spec.max) {
          error(a.loc,
                strprintf("%s: %s %lld is out of range (%lld..%lld)", f.c_str(), what.c_str(),
                          static_cast<long long>(v), static_cast<long long>(spec.min),
                          static_cast<long long>(spec.max)));
          return false;
        }
        out.mode = CallArg::Mode::kConst;
        out.value = ScriptValue::of(v);
        return true;
      }
      case ArgKind::kRoute: {
        std::string target;
        if (!route_name_of(a, &target)) {
          error(a.loc, strprintf("%s: a %.*s name is expected", f.c_str(),
                                 static_cast<int>(cfg::route_type_keyword(spec.route).size()),
                                 cfg::route_type_keyword(spec.route).data()));
          return false;
        }
        out.mode = CallArg::Mode::kConst;
        route_args.push_back(RouteArgFixup{call, i, spec.route, std::move(target), a.loc});
        return true;
      }
      case ArgKind::kStatic: {
        if (a.kind != cfg::Expr::Kind::kString) {
          error(a.loc, strprintf("%s: a quoted %s is expected", f.c_str(), what.c_str()));
          return false;
        }
        if (what.find('|') != std::string::npos && def.id != FuncId::kIsMethod) {
          // A choice among words ("all|branch|last"), case-insensitively.
          bool found = false;
          std::string_view rest = what;
          while (!rest.empty()) {
            std::string_view w = rest.substr(0, rest.find('|'));
            if (ascii_iequals(w, a.text)) found = true;
            rest.remove_prefix(std::min(rest.size(), w.size() + 1));
          }
          if (!found) {
            std::string choices = what;
            std::replace(choices.begin(), choices.end(), '|', ',');
            error(a.loc, strprintf("%s: \"%s\" is not one of %s", f.c_str(), a.text.c_str(),
                                   choices.c_str()));
            return false;
          }
        }
        if (def.id == FuncId::kDoAccounting && i == 0) {
          // "log", "db" or both ("log|db"); OpenSIPS's aaa and evi back-ends are not here.
          std::string_view rest = a.text;
          while (true) {
            std::string_view w = rest.substr(0, rest.find('|'));
            if (!ascii_iequals(w, "log") && !ascii_iequals(w, "db")) {
              error(a.loc, strprintf("OpenSIPS's accounting to \"%.*s\" (module acc) is not "
                                     "supported by sipsd (only \"log\" and \"db\")",
                                     static_cast<int>(w.size()), w.data()));
              return false;
            }
            if (w.size() == rest.size()) break;
            rest.remove_prefix(w.size() + 1);
          }
        }
        set_const_str(a.text);
        return true;
      }
      case ArgKind::kFlag:
        return compile_flag(def, a, &out);
      case ArgKind::kRegex:
        if (a.kind == cfg::Expr::Kind::kString) {
          out.re = std::make_unique<ScriptRegex>();
          std::string why = out.re->compile(a.text);
          if (!why.empty()) {
            error(a.loc,
                  strprintf("invalid regular expression \"%s\": %s", a.text.c_str(), why.c_str()));
            return false;
          }
          out.mode = CallArg::Mode::kConst;
          out.value = ScriptValue::of(out.re.get());
          return true;
        }
        if (a.kind == cfg::Expr::Kind::kNumber || a.kind == cfg::Expr::Kind::kNull) {
          error(a.loc, strprintf("%s: a regular expression is expected", f.c_str()));
          return false;
        }
        if (!compile_as_expr()) return false;
        out.mode = CallArg::Mode::kRegex;
        return true;
      case ArgKind::kAny:
        if (a.kind == cfg::Expr::Kind::kString) {
          set_const_str(a.text);
          return true;
        }
        if (a.kind == cfg::Expr::Kind::kNumber || a.kind == cfg::Expr::Kind::kNull) {
          out.mode = CallArg::Mode::kConst;
          out.value =
              a.kind == cfg::Expr::Kind::kNull ? ScriptValue::null() : ScriptValue::of(a.num);
          return true;
        }
        return compile_as_expr();
    }
    return false;
  }

  bool compile_flag(const cfg::FuncDef& def, const cfg::Expr& a, CallArg* out) {
    out->mode = CallArg::Mode::kConst;
    if (a.kind == cfg::Expr::Kind::kNumber) {
      if (a.num < 0 || a.num >= kMaxFlags) {
        error(a.loc, strprintf("%.*s: flag %lld is out of range (0..%d)",
                               static_cast<int>(def.name.size()), def.name.data(),
                               static_cast<long long>(a.num), kMaxFlags - 1));
        return false;
      }
      const auto bit = static_cast<size_t>(a.num);
      if (bit < impl->flags.size() && !impl->flags[bit].empty()) {
        error(a.loc, strprintf("%.*s: flag %lld is already the named flag '%s'",
                               static_cast<int>(def.name.size()), def.name.data(),
                               static_cast<long long>(a.num), impl->flags[bit].c_str()));
        return false;
      }
      flags_used |= 1u << bit;
      out->value = ScriptValue::of(a.num);
      return true;
    }
    if (a.kind != cfg::Expr::Kind::kString && a.kind != cfg::Expr::Kind::kId) {
      error(a.loc, strprintf("%.*s: a flag name or number is expected",
                             static_cast<int>(def.name.size()), def.name.data()));
      return false;
    }
    int64_t n = 0;
    if (parse_int(a.text, &n)) {
      cfg::Expr num = cfg::Expr();
      num.kind = cfg::Expr::Kind::kNumber;
      num.num = n;
      num.loc = a.loc;
      return compile_flag(def, num, out);
    }
    if (!valid_var_name(a.text)) {
      error(a.loc, strprintf("%.*s: invalid flag name \"%s\"", static_cast<int>(def.name.size()),
                             def.name.data(), a.text.c_str()));
      return false;
    }
    auto it = flag_bits.find(a.text);
    if (it == flag_bits.end()) {
      int bit = 0;
      while (bit < kMaxFlags && (flags_used & (1u << bit))) ++bit;
      if (bit == kMaxFlags) {
        error(a.loc, strprintf("too many flags (at most %d)", kMaxFlags));
        return false;
      }
      flags_used |= 1u << bit;
      if (impl->flags.size() <= static_cast<size_t>(bit)) impl->flags.resize(bit + 1);
      impl->flags[static_cast<size_t>(bit)] = a.text;
      it = flag_bits.emplace(a.text, bit).first;
    }
    out->value = ScriptValue::of(static_cast<int64_t>(it->second));
    return true;
  }

  bool compile_xlog(const cfg::Call& c, script::Call* out) {
    out->level = LogLevel::kNotice;  // the one-parameter form logs at NOTICE (A9)
    const cfg::Expr* fmt = &c.args[0];
    if (c.args.size() == 2) {
      const cfg::Expr& lv = c.args[0];
      fmt = &c.args[1];
      if (lv.kind != cfg::Expr::Kind::kString) {
        error(lv.loc, "xlog: the log level must be a quoted level name (\"L_INFO\")");
        return false;
      }
      if (!parse_xlog_level(lv.text, &out->level)) {
        static constexpr std::string_view kLevels[] = {"L_ALERT",  "L_CRIT", "L_ERR", "L_WARN",
                                                       "L_NOTICE", "L_INFO", "L_DBG"};
        error(lv.loc, strprintf("xlog: unknown log level '%s' (use L_ALERT, L_CRIT, L_ERR, "
                                "L_WARN, L_NOTICE, L_INFO or L_DBG)%s",
                                lv.text.c_str(), did_you_mean_suffix(lv.text, kLevels).c_str()));
        return false;
      }
    }
    if (fmt->kind != cfg::Expr::Kind::kString) {
      error(fmt->loc, "xlog: a quoted format string is expected");
      return false;
    }
    out->args.resize(1);
    CallArg& a = out->args[0];
    a.kind = ArgKind::kStr;
    if (!compile_format(fmt->text, fmt->loc, true, &a.fmt)) return false;
    if (a.fmt.constant()) {
      a.mode = CallArg::Mode::kConst;
      a.text = std::string(a.fmt.literal());
      a.value = ScriptValue::of(std::string_view(a.text));
      a.fmt.pieces.clear();
    } else {
      a.mode = CallArg::Mode::kFormat;
    }
    return true;
  }

  bool compile_is_method(const cfg::Call& c, script::Call* out) {
    const cfg::Expr& a = c.args[0];
    if (a.kind != cfg::Expr::Kind::kString) {
      error(a.loc, "is_method: a quoted list of methods is expected (\"INVITE|REGISTER\")");
      return false;
    }
    std::string_view list = a.text;
    for (;;) {
      size_t bar = list.find('|');
      std::string_view item = list.substr(0, bar);
      while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
      while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
      if (item.empty()) {
        error(a.loc, strprintf("is_method: empty method name in \"%s\"", a.text.c_str()));
        return false;
      }
      out->methods.emplace_back(item);
      if (bar == std::string_view::npos) break;
      list.remove_prefix(bar + 1);
    }
    return true;
  }

  // ---- statements ---------------------------------------------------------------------------

  // A statement that does not compile is dropped with everything compiled inside it: the
  // route() calls and route-name arguments recorded meanwhile must go too (they point into it).
  bool compile_stmt(const cfg::Stmt& s, std::vector<Stmt>* out) {
    const size_t edges_before = edges.size();
    const size_t route_args_before = route_args.size();
    if (compile_stmt_into(s, out)) return true;
    edges.resize(edges_before);
    route_args.resize(route_args_before);
    return false;
  }

  bool compile_stmt_into(const cfg::Stmt& s, std::vector<Stmt>* out) {
    Stmt n;
    n.where = diag.where(s.loc);
    switch (s.kind) {
      case cfg::Stmt::Kind::kBlock:
        compile_block(s.body, out);  // a nested block is just more statements
        return true;
      case cfg::Stmt::Kind::kIf: {
        n.op = Stmt::Op::kIf;
        n.expr = compile_expr(*s.cond);
        if (n.expr && n.expr->op == Expr::Op::kCall) n.call = n.expr->call.get();
        compile_block(s.body, &n.body);
        compile_block(s.else_body, &n.else_body);
        break;
      }
      case cfg::Stmt::Kind::kWhile: {
        n.op = Stmt::Op::kWhile;
        n.expr = compile_expr(*s.cond);
        ++loops;
        compile_block(s.body, &n.body);
        --loops;
        break;
      }
      case cfg::Stmt::Kind::kSwitch:
        if (!compile_switch(s, &n)) return false;
        break;
      case cfg::Stmt::Kind::kBreak:
        if (loops == 0) {
          error(s.loc, "'break' outside a while loop or a switch");
          return false;
        }
        n.op = Stmt::Op::kBreak;
        out->push_back(std::move(n));
        return true;
      case cfg::Stmt::Kind::kAssign:
        if (!compile_assign(s, &n)) return false;
        break;
      case cfg::Stmt::Kind::kCall:
        if (!compile_call_stmt(s.call, &n)) return false;
        break;
    }
    if (!n.expr && n.op != Stmt::Op::kExit && n.op != Stmt::Op::kDrop &&
        n.op != Stmt::Op::kReturn) {
      return false;  // the error is reported
    }
    out->push_back(std::move(n));
    return true;
  }

  bool compile_call_stmt(const cfg::Call& c, Stmt* n) {
    const std::string& name = c.name;
    if (name == "exit" || name == "drop") {
      if (!check_arg_count(c, 0, 0)) return false;
      n->op = name == "exit" ? Stmt::Op::kExit : Stmt::Op::kDrop;
      return true;
    }
    if (name == "return") {
      n->op = Stmt::Op::kReturn;
      if (c.args.empty()) return true;  // return; is return(1)
      const cfg::Expr& a = c.args[0];
      if (a.kind == cfg::Expr::Kind::kNumber) {
        if (a.num < INT32_MIN || a.num > INT32_MAX) {
          error(a.loc, "return value out of range");
          return false;
        }
        if (a.num == 0) {
          n->op = Stmt::Op::kExit;  // return(0) ends the whole script
          return true;
        }
      } else if (a.kind == cfg::Expr::Kind::kString) {
        error(a.loc, "return expects a number or an expression, not a string");
        return false;
      }
      n->expr = compile_expr(a);
      return n->expr != nullptr;
    }
    n->expr = compile_call(c);
    if (!n->expr) return false;
    n->op = n->expr->op == Expr::Op::kCall ? Stmt::Op::kCall : Stmt::Op::kExpr;
    if (n->op == Stmt::Op::kCall) n->call = n->expr->call.get();
    return true;
  }

  bool compile_assign(const cfg::Stmt& s, Stmt* n) {
    n->op = Stmt::Op::kAssign;
    n->where = diag.where(s.op_loc);
    const std::string& op = s.assign_text;
    if (op == "=" || op == ":=") {
      n->tok = Tok::kAssign;
      n->replace = op == ":=";
    } else if (op == "+=") {
      n->tok = Tok::kPlus;
    } else if (op == "-=") {
      n->tok = Tok::kMinus;
    } else if (op == "*=") {
      n->tok = Tok::kStar;
    } else if (op == "/=") {
      n->tok = Tok::kSlash;
    } else if (op == "%=") {
      n->tok = Tok::kPercent;
    } else {
      error(s.op_loc, strprintf("assignment operator '%s' is not supported yet", op.c_str()));
      return false;
    }
    n->target = compile_pv(s.target->text, s.target->loc, false, true);
    n->expr = compile_expr(*s.value);
    return n->target && n->expr;
  }

  bool compile_switch(const cfg::Stmt& s, Stmt* n) {
    n->op = Stmt::Op::kSwitch;
    n->expr = compile_expr(*s.cond);
    // Case positions index the AST body; statements may compile to none or several.
    std::vector<size_t> start(s.body.size() + 1, 0);
    ++loops;
    for (size_t i = 0; i < s.body.size(); ++i) {
      start[i] = n->body.size();
      compile_stmt(s.body[i], &n->body);
    }
    --loops;
    start[s.body.size()] = n->body.size();
    n->cases.resize(s.cases.size());
    for (size_t i = 0; i < s.cases.size(); ++i) {
      const cfg::SwitchCase& c = s.cases[i];
      script::SwitchCase& out = n->cases[i];
      out.first = start[c.first];
      if (c.is_default) {
        if (n->default_case >= 0) {
          error(c.loc, "switch: a second 'default'");
          return false;
        }
        n->default_case = static_cast<int>(i);
        continue;
      }
      if (c.label.kind == cfg::Expr::Kind::kString) {
        out.text = c.label.text;
        out.label = ScriptValue::of(std::string_view(out.text));
      } else {
        out.label = ScriptValue::of(c.label.num);
      }
    }
    return n->expr != nullptr;
  }

  void compile_block(const std::vector<cfg::Stmt>& body, std::vector<Stmt>* out) {
    for (const cfg::Stmt& s : body) {
      if (diag.too_many()) return;
      compile_stmt(s, out);
    }
  }

  // ---- finish -------------------------------------------------------------------------------

  std::string route_label(int global) const {
    const script::Route& r = impl->routes[static_cast<size_t>(global)];
    if (r.type == RouteType::kRequest) {
      return r.name.empty() ? std::string("the main route") : "route[" + r.name + "]";
    }
    std::string kw(cfg::route_type_keyword(r.type));
    return r.name.empty() ? kw : kw + "[" + r.name + "]";
  }

  int find_route(RouteType t, std::string_view name) const {
    const auto& m = names[static_cast<size_t>(t)];
    if (t == RouteType::kRequest && (name == "0" || name.empty())) return impl->main;
    auto it = m.find(name);
    return it == m.end() ? -1 : it->second;
  }

  int global_of(RouteType t, int index) const {
    return impl->by_type[static_cast<size_t>(t)][static_cast<size_t>(index)];
  }

  std::string names_hint(RouteType t, const std::string& name) const {
    std::vector<std::string> known;
    for (const auto& [k, v] : names[static_cast<size_t>(t)]) known.push_back(k);
    return did_you_mean_suffix(name, known);
  }

  void resolve() {
    for (Edge& e : edges) {
      int idx = find_route(RouteType::kRequest, e.call->name);
      if (idx < 0) {
        error(e.call->loc, strprintf("route '%s' is not defined%s", e.call->name.c_str(),
                                     names_hint(RouteType::kRequest, e.call->name).c_str()));
        continue;
      }
      e.call->target = idx;
    }
    for (RouteArgFixup& f : route_args) {
      int idx = find_route(f.type, f.name);
      if (idx < 0 || (f.type == RouteType::kRequest && f.name.empty())) {
        std::string_view kw = cfg::route_type_keyword(f.type);
        error(f.loc, strprintf("%.*s '%s' is not defined%s", static_cast<int>(kw.size()), kw.data(),
                               f.name.c_str(), names_hint(f.type, f.name).c_str()));
        continue;
      }
      f.call->args[f.arg].value = ScriptValue::of(static_cast<int64_t>(idx));
      if (f.call->all_const) f.call->const_args[f.arg] = f.call->args[f.arg].value;
    }
  }

  // A route whose first statement is route(x) calls x before anything could stop it: a cycle of
  // such calls can never end.
  void check_endless_recursion() {
    const size_t n = impl->routes.size();
    std::vector<int> next(n, -1);
    for (size_t i = 0; i < n; ++i) {
      if (first_call[i] && first_call[i]->target >= 0) {
        next[i] = global_of(RouteType::kRequest, first_call[i]->target);
      }
    }
    std::vector<int> state(n, 0);  // 0 new, 1 on the current walk, 2 done
    for (size_t root = 0; root < n; ++root) {
      std::vector<int> walk;
      int r = static_cast<int>(root);
      while (r >= 0 && state[static_cast<size_t>(r)] == 0) {
        state[static_cast<size_t>(r)] = 1;
        walk.push_back(r);
        r = next[static_cast<size_t>(r)];
      }
      if (r >= 0 && state[static_cast<size_t>(r)] == 1) {
        auto from = std::find(walk.begin(), walk.end(), r);
        std::string path;
        for (auto it = from; it != walk.end(); ++it) path += route_label(*it) + " -> ";
        path += route_label(r);
        error(first_call[static_cast<size_t>(walk.back())]->loc, "recursive route call: " + path);
      }
      for (int w : walk) state[static_cast<size_t>(w)] = 2;
    }
  }

  // Longest chain of route() calls from each route; routes that can reach a cycle are bounded
  // at run time only (recursion stops when a $var says so).
  void check_depth(const std::vector<std::vector<std::pair<int, Loc>>>& graph) {
    const size_t n = graph.size();
    std::vector<int> color(n, 0), height(n, 1);
    std::vector<bool> unbounded(n, false);
    struct Visit {
      int route;
      size_t next_edge;
    };
    for (size_t root = 0; root < n; ++root) {
      if (color[root] != 0) continue;
      std::vector<Visit> stack{{static_cast<int>(root), 0}};
      color[root] = 1;
      while (!stack.empty()) {
        Visit& v = stack.back();
        const auto r = static_cast<size_t>(v.route);
        if (v.next_edge == graph[r].size()) {
          color[r] = 2;
          stack.pop_back();
          if (!stack.empty()) {
            auto parent = static_cast<size_t>(stack.back().route);
            height[parent] = std::max(height[parent], height[r] + 1);
            if (unbounded[r]) unbounded[parent] = true;
          }
          continue;
        }
        const auto to = static_cast<size_t>(graph[r][v.next_edge++].first);
        if (color[to] == 1) {
          for (const Visit& s : stack) unbounded[static_cast<size_t>(s.route)] = true;
        } else if (color[to] == 2) {
          height[r] = std::max(height[r], height[to] + 1);
          if (unbounded[to]) unbounded[r] = true;
        } else {
          color[to] = 1;
          stack.push_back(Visit{static_cast<int>(to), 0});
        }
      }
    }
    for (size_t r = 0; r < n; ++r) {
      if (!unbounded[r] && height[r] - 1 > script::kMaxRouteDepth) {
        error(impl->routes[r].loc, strprintf("route() calls from %s nest %d deep (at most %d)",
                                             route_label(static_cast<int>(r)).c_str(),
                                             height[r] - 1, script::kMaxRouteDepth));
        return;
      }
    }
  }

  // Functions are allowed in some route types only. A named sub-route runs in the types of
  // the routes that call it (directly or not); each function in it must allow all of them.
  void check_route_types(const std::vector<std::vector<std::pair<int, Loc>>>& graph) {
    const size_t n = impl->routes.size();
    std::vector<RouteMask> mask(n, 0);
    // For each route and type: where the type came from (the route() call), for messages.
    std::vector<std::array<Loc, kRouteTypeCount>> via(n);
    std::vector<std::array<int, kRouteTypeCount>> via_from(n);
    std::vector<int> work;
    for (size_t i = 0; i < n; ++i) {
      const script::Route& r = impl->routes[i];
      const bool sub = r.type == RouteType::kRequest && !r.name.empty();
      if (sub) continue;
      mask[i] = route_bit(r.type);
      via_from[i].fill(-1);
      work.push_back(static_cast<int>(i));
    }
    for (size_t i = 0; i < n; ++i) {
      if (mask[i] == 0) via_from[i].fill(-1);
    }
    while (!work.empty()) {
      const auto r = static_cast<size_t>(work.back());
      work.pop_back();
      for (const auto& [to_i, loc] : graph[r]) {
        const auto to = static_cast<size_t>(to_i);
        const RouteMask added = static_cast<RouteMask>(mask[r] & ~mask[to]);
        if (added == 0) continue;
        for (size_t t = 0; t < kRouteTypeCount; ++t) {
          if (added & route_bit(static_cast<RouteType>(t))) {
            via[to][t] = loc;
            via_from[to][t] = static_cast<int>(r);
          }
        }
        mask[to] |= added;
        work.push_back(to_i);
      }
    }
    for (size_t i = 0; i < n; ++i) {
      for (const CallSite& c : calls[i]) {
        const RouteMask bad = static_cast<RouteMask>(mask[i] & ~c.def->routes);
        if (bad == 0) continue;
        size_t t = 0;
        while (!(bad & route_bit(static_cast<RouteType>(t)))) ++t;
        std::string_view kw = cfg::route_type_keyword(static_cast<RouteType>(t));
        std::string msg =
            strprintf("%.*s() cannot be used in %.*s", static_cast<int>(c.def->name.size()),
                      c.def->name.data(), static_cast<int>(kw.size()), kw.data());
        if (via_from[i][t] >= 0) {
          msg +=
              strprintf(" (%s is called from %s at %s)", route_label(static_cast<int>(i)).c_str(),
                        route_label(via_from[i][t]).c_str(), diag.where(via[i][t]).c_str());
        }
        msg += " (allowed in: " + cfg::route_mask_text(c.def->routes) + ")";
        error(c.loc, msg);
      }
    }
  }
};

CfgScriptBuilder::CfgScriptBuilder(cfg::CfgDiag& diag, bool allow_unimplemented)
    : st_(std::make_unique<State>(diag, allow_unimplemented)) {}

CfgScriptBuilder::~CfgScriptBuilder() = default;

void CfgScriptBuilder::add_route(const cfg::RouteDef& r,
                                 const std::vector<std::string>& loaded_modules) {
  State& st = *st_;
  static constexpr std::pair<std::string_view, RouteType> kKinds[] = {
      {"route", RouteType::kRequest},         {"branch_route", RouteType::kBranch},
      {"failure_route", RouteType::kFailure}, {"onreply_route", RouteType::kOnReply},
      {"local_route", RouteType::kLocal},     {"error_route", RouteType::kError},
      {"startup_route", RouteType::kStartup}, {"timer_route", RouteType::kTimer},
      {"event_route", RouteType::kEvent},
  };
  const auto* kind = std::find_if(std::begin(kKinds), std::end(kKinds),
                                  [&](const auto& k) { return k.first == r.kind; });
  if (kind == std::end(kKinds)) {
    st.error(r.loc, strprintf("'%s' is not supported yet", r.kind.c_str()));
    return;
  }
  const RouteType type = kind->second;
  const bool needs_name = type == RouteType::kBranch || type == RouteType::kFailure ||
                          type == RouteType::kTimer || type == RouteType::kEvent;
  const bool takes_name = needs_name || type == RouteType::kRequest || type == RouteType::kOnReply;
  if (needs_name && !r.has_name) {
    st.error(r.loc, type == RouteType::kTimer
                        ? "'timer_route' needs a name and an interval: timer_route[name, "
                          "seconds] { ... }"
                        : strprintf("'%s' needs a name: %s[name] { ... }", r.kind.c_str(),
                                    r.kind.c_str()));
    return;
  }
  if (!takes_name && r.has_name) {
    st.error(r.name.loc, strprintf("'%s' takes no name", r.kind.c_str()));
    return;
  }
  if (type == RouteType::kTimer && (!r.has_interval || r.interval < 1 || r.interval > 86400)) {
    st.error(r.has_interval ? r.interval_loc : r.name.loc,
             "timer_route: the interval must be 1..86400 seconds (timer_route[name, seconds])");
    return;
  }
  const bool is_main = type == RouteType::kRequest && (!r.has_name || r.name.str == "0");
  std::string name = r.has_name && !is_main ? r.name.str : "";
  auto& names = st.names[static_cast<size_t>(type)];
  script::Route route;
  route.type = type;
  route.name = name;
  route.interval = static_cast<int>(r.interval);
  route.loc = (is_main || !r.has_name) ? r.loc : r.name.loc;
  bool duplicate = false;
  auto it = names.find(name);
  if ((is_main && st.impl->main >= 0) || (!is_main && it != names.end())) {
    const int prev = is_main ? st.impl->main : it->second;
    const std::string where =
        st.diag.where(st.impl->routes[static_cast<size_t>(st.global_of(type, prev))].loc);
    if (is_main) {
      st.error(r.loc, strprintf("the main route is already defined at %s", where.c_str()));
    } else if (type == RouteType::kRequest) {
      st.error(r.name.loc,
               strprintf("route '%s' is already defined at %s", name.c_str(), where.c_str()));
    } else if (name.empty()) {
      st.error(r.loc, strprintf("%s is already defined at %s", r.kind.c_str(), where.c_str()));
    } else {
      st.error(r.name.loc, strprintf("%s '%s' is already defined at %s", r.kind.c_str(),
                                     name.c_str(), where.c_str()));
    }
    duplicate = true;
  }
  // Compile even a duplicate, to report the errors inside; it is dropped afterwards.
  const int global = static_cast<int>(st.impl->routes.size());
  st.cur = global;
  st.calls.emplace_back();
  st.first_call.push_back(nullptr);
  st.modules = &loaded_modules;
  st.compile_block(r.body, &route.body);
  st.modules = nullptr;
  if (!route.body.empty() && route.body[0].op == Stmt::Op::kExpr &&
      route.body[0].expr->op == Expr::Op::kRouteCall) {
    st.first_call.back() = route.body[0].expr->route.get();
  }
  if (duplicate) {
    // Keep the slot (edges and call sites refer to it) but make it unreachable by name.
    route.type = type;
    st.impl->routes.push_back(std::move(route));
    st.calls.back().clear();
    return;
  }
  const int index = static_cast<int>(st.impl->by_type[static_cast<size_t>(type)].size());
  st.impl->by_type[static_cast<size_t>(type)].push_back(global);
  if (is_main) {
    st.impl->main = index;
  } else {
    names.emplace(name, index);
  }
  if (type == RouteType::kTimer) {
    st.impl->timers.push_back(TimerRoute{name, route.interval, RouteRef{type, index}});
  }
  st.impl->routes.push_back(std::move(route));
}

std::shared_ptr<const Script> CfgScriptBuilder::finish(int max_while_loops) {
  State& st = *st_;
  st.resolve();
  const size_t n = st.impl->routes.size();
  std::vector<std::vector<std::pair<int, Loc>>> graph(n);
  for (const State::Edge& e : st.edges) {
    if (e.call->target < 0) continue;
    graph[static_cast<size_t>(e.from)].emplace_back(
        st.global_of(RouteType::kRequest, e.call->target), e.call->loc);
  }
  if (st.diag.error_count() == 0) st.check_endless_recursion();
  if (st.diag.error_count() == 0) st.check_depth(graph);
  if (st.diag.error_count() == 0) st.check_route_types(graph);
  if (st.impl->main < 0) {
    st.diag.warning(Loc{}, "no main route (route { ... }) is defined: the script does nothing");
  }
  st.impl->max_while_loops = max_while_loops;
  if (st.diag.error_count() > 0) return nullptr;
  for (size_t t = 0; t < kRouteTypeCount; ++t) {
    for (int global : st.impl->by_type[t]) {
      st.impl->refs[t].push_back(&st.impl->routes[static_cast<size_t>(global)]);
    }
  }
  for (State::Edge& e : st.edges) {
    e.call->route = st.impl->refs[0][static_cast<size_t>(e.call->target)];
  }
  return std::shared_ptr<const Script>(new Script(std::move(st.impl)));
}

}  // namespace sipsd
