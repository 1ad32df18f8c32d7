// Script::run: walks the compiled tree of script_node.h for one message.
//
// Strings: values are views. Literals live in the Script; what the env returns lives until the
// env's next call; $var and $avp values until they change; what the interpreter builds (format
// strings, concatenations, transformations, copies) lives in per-process scratch strings taken
// by a block's statements and released when the block ends. The compiler marks the places where
// a view must be copied because something computed later could invalidate it (copy_a,
// CallArg::copy). Nothing is allocated per run once the scratch strings have grown.
//
// Limits (each logged, then the run ends as `drop`): route() calls nested deeper than
// kMaxRouteDepth, more than kMaxSteps loop iterations and route() calls in one run. A while
// loop stops after max_while_loops iterations (logged) and the script goes on after it, as in
// OpenSIPS.
#include <algorithm>
#include <charconv>
#include <limits>
#include <new>

#include "core/base/ascii.h"
#include "core/cfg/script.h"
#include "core/cfg/script_node.h"

namespace sipsd::script {

namespace {

using cfg::ArgKind;

enum class Flow : uint8_t { kNext, kBreak, kReturn, kExit, kDrop };

bool truthy(const ScriptValue& v) {
  switch (v.kind()) {
    case ScriptValue::Kind::kNull:
      return false;
    case ScriptValue::Kind::kInt:
      return v.int_value() != 0;
    case ScriptValue::Kind::kStr:
      return !v.str().empty() && v.str() != "0";
    case ScriptValue::Kind::kRegex:
      return true;
  }
  return false;
}

template <class T>
bool compare(cfg::Tok op, const T& l, const T& r) {
  switch (op) {
    case cfg::Tok::kEq:
      return l == r;
    case cfg::Tok::kNe:
      return l != r;
    case cfg::Tok::kLt:
      return l < r;
    case cfg::Tok::kGt:
      return l > r;
    case cfg::Tok::kLe:
      return l <= r;
    case cfg::Tok::kGe:
      return l >= r;
    default:
      return false;
  }
}

// == / != / < ... on two values (as OpenSIPS): NULL equals only NULL; two integers, or an
// integer and a string holding one, compare as numbers; a string that is no number is only
// different from an integer; two strings compare byte-wise.
bool compare_values(cfg::Tok op, const ScriptValue& l, const ScriptValue& r) {
  if (l.is_null() || r.is_null()) {
    if (op == cfg::Tok::kEq) return l.is_null() && r.is_null();
    if (op == cfg::Tok::kNe) return !(l.is_null() && r.is_null());
    return false;
  }
  if (l.is_int() || r.is_int()) {
    int64_t a, b;
    if (!l.to_int(&a) || !r.to_int(&b)) return op == cfg::Tok::kNe;
    return compare(op, a, b);
  }
  return compare(op, l.str(), r.str());
}

// Room for a call's arguments, not initialized: only the ones in use are written (zeroing the
// whole array on every call showed in the profile).
template <size_t N>
class ArgBuffer {
 public:
  void set(size_t i, const ScriptValue& v) { new (buf_ + i * sizeof(ScriptValue)) ScriptValue(v); }
  const ScriptValue* data() const {
    return std::launder(reinterpret_cast<const ScriptValue*>(buf_));
  }

 private:
  alignas(ScriptValue) unsigned char buf_[N * sizeof(ScriptValue)];
};

}  // namespace

class Runner {
 public:
  Runner(const Script::Impl& s, ScriptEnv& env, ProcessState& st)
      : s_(s), env_(env), st_(st), scratch_(st.scratch) {}

  ScriptResult run(const Route& r) {
    switch (run_block(r.body)) {
      case Flow::kExit:
        return {ScriptOutcome::kExit, 0};
      case Flow::kDrop:
        return {ScriptOutcome::kDrop, 0};
      case Flow::kReturn:
        return {ScriptOutcome::kEnd, ret_};
      default:
        return {ScriptOutcome::kEnd, 1};
    }
  }

 private:
  // ---- statements ---------------------------------------------------------------------------

  // Scratch strings made by a block's statements live until the block ends (a loop's body
  // releases them on each iteration).
  Flow run_block(const std::vector<Stmt>& body, size_t first = 0) {
    const size_t mark = scratch_.mark();
    Flow f = Flow::kNext;
    for (const Stmt *n = body.data() + first, *end = body.data() + body.size(); n < end; ++n) {
      f = run_stmt(*n);
      if (f != Flow::kNext) break;
    }
    scratch_.release(mark);
    return f;
  }

  Flow run_stmt(const Stmt& n) {
    Flow f = Flow::kNext;
    switch (n.op) {
      case Stmt::Op::kCall:
        call(*n.call);
        break;
      case Stmt::Op::kExpr:
        eval(*n.expr);
        break;
      case Stmt::Op::kIf: {
        bool t = n.call ? call(*n.call) > 0 : truth(*n.expr);
        if (stop_ != Flow::kNext) return stop_;
        return run_block(t ? n.body : n.else_body);
      }
      case Stmt::Op::kWhile:
        f = run_while(n);
        break;
      case Stmt::Op::kSwitch:
        f = run_switch(n);
        break;
      case Stmt::Op::kAssign:
        assign(n);
        break;
      case Stmt::Op::kExit:
        return Flow::kExit;
      case Stmt::Op::kDrop:
        return Flow::kDrop;
      case Stmt::Op::kReturn:
        f = do_return(n);
        break;
      case Stmt::Op::kBreak:
        return Flow::kBreak;
    }
    if (stop_ != Flow::kNext) return stop_;
    return f;
  }

  // Loop iterations and route() calls of one run: past kMaxSteps the run is dropped (nested
  // loops multiply their max_while_loops bounds).
  bool step(const std::string& where) {
    if (++steps_ <= kMaxSteps) return true;
    LOG_ERR("script",
            "%s: more than %lld loop iterations and route() calls for one message, "
            "dropping it",
            where.c_str(), static_cast<long long>(kMaxSteps));
    stop_ = Flow::kDrop;
    return false;
  }

  Flow do_return(const Stmt& n) {
    ret_ = 1;
    if (!n.expr) return Flow::kReturn;
    ScriptValue v = eval(*n.expr);
    if (stop_ != Flow::kNext) return stop_;
    int64_t x;
    if (!v.to_int(&x)) {
      LOG_ERR("script", "%s: return value is not an integer, returning -1", n.where.c_str());
      x = -1;
    }
    x = std::clamp<int64_t>(x, INT32_MIN, INT32_MAX);
    if (x == 0) return Flow::kExit;  // return(0) ends the whole script
    ret_ = static_cast<int>(x);
    return Flow::kReturn;
  }

  Flow run_while(const Stmt& n) {
    const int max = s_.max_while_loops;
    for (int i = 0;; ++i) {
      const size_t mark = scratch_.mark();
      bool t = truth(*n.expr);
      scratch_.release(mark);
      if (stop_ != Flow::kNext) return stop_;
      if (!t) return Flow::kNext;
      if (i >= max) {
        LOG_ERR("script", "%s: runaway while loop (%d iterations, max_while_loops), leaving it",
                n.where.c_str(), max);
        return Flow::kNext;
      }
      if (!step(n.where)) return Flow::kDrop;
      Flow f = run_block(n.body);
      if (f == Flow::kBreak) return Flow::kNext;
      if (f != Flow::kNext) return f;
    }
  }

  Flow run_switch(const Stmt& n) {
    ScriptValue v = eval(*n.expr);
    if (stop_ != Flow::kNext) return stop_;
    size_t first = n.body.size();
    bool found = false;
    for (const SwitchCase& c : n.cases) {
      if (&c - n.cases.data() == n.default_case) continue;
      if (compare_values(cfg::Tok::kEq, v, c.label)) {
        first = c.first;
        found = true;
        break;
      }
    }
    if (!found && n.default_case >= 0) first = n.cases[static_cast<size_t>(n.default_case)].first;
    Flow f = run_block(n.body, first);
    return f == Flow::kBreak ? Flow::kNext : f;
  }

  void assign(const Stmt& n) {
    const Expr& t = *n.target;
    ScriptValue v = eval(*n.expr);
    if (stop_ != Flow::kNext) return;
    if (n.tok != cfg::Tok::kAssign) {
      // $x += v: the current value op v. Copy v first: reading $x may invalidate it.
      if (!stable(*n.expr)) v = own(v);
      ScriptValue cur = eval(t);
      v = arith(n.tok, cur, v, n.where);
    }
    switch (t.op) {
      case Expr::Op::kVar:
        set_var(t.ref.slot, v);
        break;
      case Expr::Op::kAvp: {
        AvpStore& avps = env_.avps();
        if (n.tok == cfg::Tok::kAssign) {
          if (n.replace) {
            avps.set(t.ref.slot, v);  // $avp(x) := v
          } else {
            avps.add(t.ref.slot, v);  // $avp(x) = v: a new newest value (NULL: drop the newest)
          }
        } else {
          avps.erase_newest(t.ref.slot);  // $avp(x) += v: the newest value changes
          if (!v.is_null()) avps.add(t.ref.slot, v);
        }
        break;
      }
      default:
        env_.pv_set(t.ref, v);
        break;
    }
  }

  static bool stable(const Expr& e) {
    return e.op == Expr::Op::kConst || e.op == Expr::Op::kArith || e.op == Expr::Op::kCall ||
           e.op == Expr::Op::kRc || e.op == Expr::Op::kCmp || e.op == Expr::Op::kNot;
  }

  void set_var(int slot, const ScriptValue& v) {
    VarSlot& s = st_.vars[static_cast<size_t>(slot)];
    s.kind = v.kind() == ScriptValue::Kind::kRegex ? ScriptValue::Kind::kNull : v.kind();
    s.num = v.int_value();
    if (!v.is_str()) return;
    const char* p = v.str().data();
    if (p >= s.str.data() && p <= s.str.data() + s.str.size()) {
      if (p == s.str.data() && v.str().size() == s.str.size()) return;  // $var(a) = $var(a)
      std::string& tmp = scratch_.take();  // a part of itself ($(var(a){s.substr,1}))
      tmp.assign(v.str());
      s.str.assign(tmp);
      return;
    }
    s.str.assign(v.str());
  }

  // ---- values -------------------------------------------------------------------------------

  // A copy of v's string in a scratch buffer (other values as they are).
  ScriptValue own(const ScriptValue& v) {
    if (!v.is_str()) return v;
    std::string& buf = scratch_.take();
    buf.assign(v.str());
    return ScriptValue::of(std::string_view(buf));
  }

  std::string_view text(const ScriptValue& v) {
    if (v.is_str()) return v.str();
    std::string& buf = scratch_.take();
    append_text(buf, v, "");
    return buf;
  }

  static void append_text(std::string& out, const ScriptValue& v, std::string_view null_text) {
    switch (v.kind()) {
      case ScriptValue::Kind::kStr:
        out.append(v.str());
        break;
      case ScriptValue::Kind::kInt: {
        char buf[24];
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v.int_value());
        out.append(buf, static_cast<size_t>(end - buf));
        break;
      }
      default:
        out.append(null_text);
        break;
    }
  }

  ScriptValue read_pv(const Expr& e) {
    ScriptValue v;
    switch (e.op) {
      case Expr::Op::kPv:
        v = env_.pv_get(e.ref);
        break;
      case Expr::Op::kVar: {
        const VarSlot& s = st_.vars[static_cast<size_t>(e.ref.slot)];
        if (s.kind == ScriptValue::Kind::kInt) {
          v = ScriptValue::of(s.num);
        } else if (s.kind == ScriptValue::Kind::kStr) {
          v = ScriptValue::of(std::string_view(s.str));
        }
        break;
      }
      case Expr::Op::kAvp:
        v = env_.avps().get(e.ref.slot, e.ref.index);
        break;
      case Expr::Op::kParam:
        if (e.ref.index < nparams_) v = params_[e.ref.index];
        break;
      case Expr::Op::kRc:
        v = ScriptValue::of(static_cast<int64_t>(rc_));
        break;
      default:
        break;
    }
    for (const Transform& t : e.tr) v = apply_transform(t, v, scratch_.take());
    return v;
  }

  ScriptValue arith(cfg::Tok op, const ScriptValue& a, const ScriptValue& b,
                    const std::string& where) {
    if (op == cfg::Tok::kPlus && (a.is_str() || b.is_str())) {
      if (a.str().size() + b.str().size() + 24 > kMaxValueLength) {
        LOG_ERR("script", "%s: string longer than %zu bytes, using NULL", where.c_str(),
                kMaxValueLength);
        return ScriptValue::null();
      }
      std::string& buf = scratch_.take();
      append_text(buf, a, "");
      append_text(buf, b, "");
      return ScriptValue::of(std::string_view(buf));
    }
    if (a.is_null() && b.is_null()) return ScriptValue::null();
    int64_t x = 0, y = 0;
    if ((!a.is_null() && !a.to_int(&x)) || (!b.is_null() && !b.to_int(&y))) {
      LOG_ERR("script", "%s: %s needs integers, using NULL", where.c_str(), cfg::tok_name(op));
      return ScriptValue::null();
    }
    const auto ux = static_cast<uint64_t>(x), uy = static_cast<uint64_t>(y);
    switch (op) {
      case cfg::Tok::kPlus:
        return ScriptValue::of(static_cast<int64_t>(ux + uy));
      case cfg::Tok::kMinus:
        return ScriptValue::of(static_cast<int64_t>(ux - uy));
      case cfg::Tok::kStar:
        return ScriptValue::of(static_cast<int64_t>(ux * uy));
      case cfg::Tok::kSlash:
      case cfg::Tok::kPercent:
        if (y == 0) {
          LOG_ERR("script", "%s: division by zero, using NULL", where.c_str());
          return ScriptValue::null();
        }
        if (x == std::numeric_limits<int64_t>::min() && y == -1) {
          return ScriptValue::of(op == cfg::Tok::kSlash ? x : 0);
        }
        return ScriptValue::of(op == cfg::Tok::kSlash ? x / y : x % y);
      default:
        return ScriptValue::null();
    }
  }

  ScriptValue eval(const Expr& e) {
    switch (e.op) {
      case Expr::Op::kConst:
        return e.value;
      case Expr::Op::kPv:
      case Expr::Op::kVar:
      case Expr::Op::kAvp:
      case Expr::Op::kParam:
        return read_pv(e);
      case Expr::Op::kRc:
        return e.tr.empty() ? ScriptValue::of(static_cast<int64_t>(rc_)) : read_pv(e);
      case Expr::Op::kCall:
        return ScriptValue::of(static_cast<int64_t>(call(*e.call)));
      case Expr::Op::kRouteCall:
        return ScriptValue::of(static_cast<int64_t>(route_call(*e.route)));
      case Expr::Op::kNot:
      case Expr::Op::kAnd:
      case Expr::Op::kOr:
      case Expr::Op::kCmp:
      case Expr::Op::kMatch:
      case Expr::Op::kMyself:
        return ScriptValue::of(static_cast<int64_t>(truth(e) ? 1 : 0));
      case Expr::Op::kArith: {
        ScriptValue a = eval(*e.a);
        if (e.copy_a) a = own(a);
        if (stop_ != Flow::kNext) return ScriptValue::null();
        ScriptValue b = eval(*e.b);
        if (stop_ != Flow::kNext) return ScriptValue::null();
        return arith(e.tok, a, b, e.where);
      }
      case Expr::Op::kNeg: {
        ScriptValue a = eval(*e.a);
        int64_t x;
        if (a.is_null()) return a;
        if (!a.to_int(&x)) {
          LOG_ERR("script", "%s: '-' needs an integer, using NULL", e.where.c_str());
          return ScriptValue::null();
        }
        return ScriptValue::of(static_cast<int64_t>(0 - static_cast<uint64_t>(x)));
      }
    }
    return ScriptValue::null();
  }

  // The truth value of a condition. A function or route() returning 0 stops the script.
  bool truth(const Expr& e) {
    switch (e.op) {
      case Expr::Op::kNot: {
        bool v = truth(*e.a);
        return stop_ == Flow::kNext && !v;
      }
      case Expr::Op::kAnd:
        return truth(*e.a) && stop_ == Flow::kNext && truth(*e.b);
      case Expr::Op::kOr: {
        bool l = truth(*e.a);
        if (stop_ != Flow::kNext) return false;
        return l || truth(*e.b);
      }
      case Expr::Op::kCall:
        return call(*e.call) > 0;
      case Expr::Op::kRouteCall:
        return route_call(*e.route) > 0;
      case Expr::Op::kCmp: {
        ScriptValue a = eval(*e.a);
        if (e.copy_a) a = own(a);
        if (stop_ != Flow::kNext) return false;
        ScriptValue b = eval(*e.b);
        if (stop_ != Flow::kNext) return false;
        return compare_values(e.tok, a, b);
      }
      case Expr::Op::kMatch:
        return match(e);
      case Expr::Op::kMyself:
        return myself(e);
      default:
        return truthy(eval(e));
    }
  }

  bool match(const Expr& e) {
    const bool negate = e.tok == cfg::Tok::kNotMatch;
    ScriptValue a = eval(*e.a);
    if (e.copy_a) a = own(a);
    const ScriptRegex* re = e.re.get();
    if (!re) {
      ScriptValue p = eval(*e.b);
      if (stop_ != Flow::kNext) return false;
      if (p.is_null()) return negate;
      std::string why;
      re = st_.regexes.get(text(p), &why);
      if (!re) {
        LOG_ERR("script", "%s: invalid regular expression \"%.*s\": %s", e.where.c_str(),
                static_cast<int>(text(p).size()), text(p).data(), why.c_str());
        return false;
      }
    }
    if (a.is_null()) return negate;
    return re->match(text(a)) != negate;
  }

  // X == myself: is_myself(host[, port]) of X, a SIP URI or a bare host.
  bool myself(const Expr& e) {
    const bool eq = e.tok == cfg::Tok::kEq;
    ScriptValue v = eval(*e.a);
    if (stop_ != Flow::kNext) return false;
    if (v.is_null()) return !eq;
    std::string_view s = text(v);
    SipUriParts u;
    ScriptValue args[2];
    size_t n = 1;
    if (split_sip_uri(s, &u)) {
      args[0] = ScriptValue::of(u.host);
      if (u.port >= 0) {
        args[1] = ScriptValue::of(static_cast<int64_t>(u.port));
        n = 2;
      }
    } else {
      args[0] = ScriptValue::of(s);
    }
    int r = env_.call(FuncId::kIsMyself, std::span<const ScriptValue>(args, n));
    rc_ = r;
    if (r == 0) {
      stop_ = Flow::kExit;
      return false;
    }
    return (r > 0) == eq;
  }

  // ---- calls --------------------------------------------------------------------------------

  bool arg_value(const Call& c, size_t i, ScriptValue* out) {
    const CallArg& a = c.args[i];
    switch (a.mode) {
      case CallArg::Mode::kConst:
        *out = a.value;
        return true;
      case CallArg::Mode::kFormat: {
        std::string& buf = scratch_.take();
        render(a.fmt, buf);
        *out = ScriptValue::of(std::string_view(buf));
        break;
      }
      case CallArg::Mode::kExpr:
        *out = eval(*a.expr);
        if (a.copy) *out = own(*out);
        break;
      case CallArg::Mode::kRegex: {
        ScriptValue p = eval(*a.expr);
        if (stop_ != Flow::kNext) return false;
        if (p.is_null()) {
          LOG_ERR("script", "%s: parameter %zu is NULL, not a regular expression", c.where.c_str(),
                  i + 1);
          return false;
        }
        std::string why;
        const ScriptRegex* re = st_.regexes.get(text(p), &why);
        if (!re) {
          LOG_ERR("script", "%s: invalid regular expression \"%.*s\": %s", c.where.c_str(),
                  static_cast<int>(text(p).size()), text(p).data(), why.c_str());
          return false;
        }
        *out = ScriptValue::of(re);
        return true;
      }
    }
    if (stop_ != Flow::kNext) return false;
    if (a.kind == ArgKind::kInt) {
      int64_t x;
      const cfg::ArgSpec& spec = c.def->args[i];
      // An optional integer that is NULL at run time ($rp of a URI without a port) is as if
      // it had not been given.
      if (out->is_null() && static_cast<int>(i) >= c.def->min_args) return true;
      if (!out->to_int(&x) || x < spec.min || x > spec.max) {
        LOG_ERR("script", "%s: %.*s: parameter %zu (%.*s) must be an integer in %lld..%lld",
                c.where.c_str(), static_cast<int>(c.def->name.size()), c.def->name.data(), i + 1,
                static_cast<int>(spec.what.size()), spec.what.data(),
                static_cast<long long>(spec.min), static_cast<long long>(spec.max));
        return false;
      }
      *out = ScriptValue::of(x);
    } else if (a.kind == ArgKind::kStr && out->is_int()) {
      *out = ScriptValue::of(text(*out));
    }
    return true;
  }

  void render(const Format& f, std::string& out) {
    for (const Format::Piece& p : f.pieces) {
      if (p.direct) {
        append_text(out, env_.pv_get(p.ref), "<null>");  // what OpenSIPS prints for NULL
      } else if (p.pv) {
        append_text(out, read_pv(*p.pv), "<null>");
      } else {
        out.append(p.text);
      }
    }
  }

  int call(const Call& c) {
    int r = 1;
    switch (c.id) {
      case FuncId::kXlog:
        if (logger().xlog_enabled(c.level)) {  // below xlog_level: nothing to render
          const CallArg& a = c.args[0];
          if (a.mode == CallArg::Mode::kConst) {
            env_.xlog(c.level, a.value.str());
          } else {
            std::string& buf = scratch_.take();
            render(a.fmt, buf);
            env_.xlog(c.level, buf);
          }
        }
        break;
      case FuncId::kIsMethod: {
        ScriptValue m = env_.pv_get(PvRef{PvId::kRm, {}, 0, -1});
        r = -1;
        if (m.is_str()) {
          for (const std::string& want : c.methods) {
            if (ascii_iequals(m.str(), want)) r = 1;
          }
        }
        break;
      }
      case FuncId::kIsPeerVerified: {
        // $tls_peer_verified is "1" only for a TLS peer whose certificate verified OK.
        ScriptValue v = env_.pv_get(PvRef{PvId::kTlsPeerVerified, {}, 0, -1});
        int64_t x = 0;
        r = v.to_int(&x) && x == 1 ? 1 : -1;
        break;
      }
      default:
        r = call_env(c);
        if (stop_ != Flow::kNext) return 0;
        break;
    }
    rc_ = r;
    if (r == 0) stop_ = Flow::kExit;  // a function returning 0 stops the script
    return r;
  }

  int call_env(const Call& c) {
    if (c.all_const) return env_.call(c.id, c.const_args);
    ArgBuffer<cfg::kMaxFuncArgs> args;
    const size_t n = c.args.size();
    for (size_t i = 0; i < n; ++i) {
      ScriptValue v;
      if (!arg_value(c, i, &v)) return -1;
      args.set(i, v);
    }
    return env_.call(c.id, std::span<const ScriptValue>(args.data(), n));
  }

  int route_call(const RouteCall& rc) {
    if (depth_ >= kMaxRouteDepth) {
      LOG_ERR("script", "route(%s): calls nested deeper than %d, dropping the message",
              rc.name.c_str(), kMaxRouteDepth);
      stop_ = Flow::kDrop;
      return 0;
    }
    if (!step(rc.where)) return 0;
    ArgBuffer<kMaxRouteArgs> args;
    const size_t n = rc.args.size();
    for (size_t i = 0; i < n; ++i) {
      args.set(i, own(eval(*rc.args[i])));
      if (stop_ != Flow::kNext) return 0;
    }
    const ScriptValue* saved_params = params_;
    const int saved_nparams = nparams_;
    params_ = args.data();
    nparams_ = static_cast<int>(n);
    ++depth_;
    Flow f = run_block(rc.route->body);
    --depth_;
    params_ = saved_params;
    nparams_ = saved_nparams;
    int r = 1;
    if (f == Flow::kExit || f == Flow::kDrop) {
      stop_ = f;
      r = 0;
    } else if (f == Flow::kReturn) {
      r = ret_;
    }
    rc_ = r;
    return r;
  }

  const Script::Impl& s_;
  ScriptEnv& env_;
  ProcessState& st_;
  ScratchPool& scratch_;
  Flow stop_ = Flow::kNext;  // exit/drop reached inside an expression (a call returned 0, ...)
  int rc_ = 1;
  int ret_ = 1;
  int depth_ = 0;
  int64_t steps_ = 0;
  const ScriptValue* params_ = nullptr;
  int nparams_ = 0;
};

}  // namespace sipsd::script

namespace sipsd {

ScriptResult Script::run(RouteRef r, ScriptEnv& env, ScriptVars& vars) const {
  if (static_cast<size_t>(r.type) >= kRouteTypeCount ||
      static_cast<size_t>(r.index) >= impl_->refs[static_cast<size_t>(r.type)].size()) {
    return {};  // also an invalid ref (index -1)
  }
  script::ProcessState& st = *vars.st_;
  if (st.vars.size() < impl_->vars.size()) st.vars.resize(impl_->vars.size());
  script::Runner runner(*impl_, env, st);
  return runner.run(impl_->at(r));
}

}  // namespace sipsd
