// The route script: CfgScriptBuilder compiles route blocks (cfg AST) into a tree of nodes with
// everything resolved at load — script variables to PvId, functions to opcodes, regexes
// compiled, route(name) to an index, is_method lists split — and Script::run_request walks it.
//
// Route recursion is rejected at load (with no writable variables a recursive route(...) can
// never stop), and so are chains of route() calls nested deeper than kMaxRouteDepth; the
// interpreter still checks the depth as a backstop and treats hitting it as `drop`, with an
// error log.
#include "core/cfg/script.h"

#include <regex.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/cfg/ast.h"
#include "core/cfg/did_you_mean.h"
#include "core/cfg/schema.h"

namespace sipsd {

namespace {

constexpr int kMaxRouteDepth = 100;

using cfg::Loc;

// Text with script variables substituted at run time (xlog text, sl_send_reply reasons).
struct Format {
  struct Piece {
    bool is_pv = false;
    PvId pv = PvId::kRm;
    std::string text;  // literal piece
  };
  std::vector<Piece> pieces;

  bool constant() const { return pieces.empty() || (pieces.size() == 1 && !pieces[0].is_pv); }
  std::string_view literal() const {
    return pieces.empty() ? std::string_view() : std::string_view(pieces[0].text);
  }
  void render(ScriptEnv& env, std::string& out) const {
    for (const Piece& p : pieces) {
      if (!p.is_pv) {
        out += p.text;
        continue;
      }
      std::optional<std::string_view> v = env.pv(p.pv);
      if (v) {
        out.append(v->data(), v->size());
      } else {
        out += "<null>";  // what OpenSIPS prints for a NULL variable
      }
    }
  }
};

// A compiled POSIX extended, case-insensitive regex (owned).
class Regex {
 public:
  Regex() = default;
  ~Regex() {
    if (ok_) regfree(&re_);
  }
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // 0 or the regcomp error; *why gets the message.
  int compile(const std::string& pattern, std::string* why) {
    int rc = regcomp(&re_, pattern.c_str(), REG_EXTENDED | REG_ICASE | REG_NOSUB);
    ok_ = rc == 0;
    if (!ok_) {
      char buf[256];
      regerror(rc, &re_, buf, sizeof buf);
      *why = buf;
    }
    return rc;
  }

  bool match(std::string_view s) const {
#ifdef REG_STARTEND
    regmatch_t m[1];
    m[0].rm_so = 0;
    m[0].rm_eo = static_cast<regoff_t>(s.size());
    return regexec(&re_, s.empty() ? "" : s.data(), 1, m, REG_STARTEND) == 0;
#else
    std::string copy(s);
    return regexec(&re_, copy.c_str(), 0, nullptr, 0) == 0;
#endif
  }

 private:
  regex_t re_{};
  bool ok_ = false;
};

struct Cond;

struct Node {
  enum class Op : uint8_t {
    kIf,
    kExit,
    kDrop,
    kReturn,
    kRoute,
    kXlog,
    kIsMethod,
    kSlSendReply,
    kIsPeerVerified
  };

  Node() = default;
  explicit Node(Op o) : op(o) {}
  Node(Node&&) noexcept;
  ~Node();

  Op op = Op::kExit;
  int value = 0;  // kReturn: the value; kRoute: the route index; kSlSendReply: the code
  LogLevel level = LogLevel::kNotice;  // kXlog
  Format text;                         // kXlog: the text; kSlSendReply: the reason
  std::vector<std::string> methods;    // kIsMethod
  std::unique_ptr<Cond> cond;          // kIf
  std::vector<Node> then_body;         // kIf
  std::vector<Node> else_body;         // kIf
  // Load time only: route(name) is resolved in finish().
  std::string target;
  Loc loc;
};

struct Cond {
  enum class Kind : uint8_t { kAnd, kOr, kNot, kCmp, kPv, kCall, kConst };
  enum class Rhs : uint8_t { kNull, kString, kNumber, kPv };

  Kind kind = Kind::kConst;
  std::unique_ptr<Cond> a, b;  // kAnd, kOr: both; kNot: a
  PvId pv = PvId::kRm;         // kCmp: the left side; kPv
  cfg::Tok op = cfg::Tok::kEq;
  Rhs rhs = Rhs::kNull;
  std::string str;             // Rhs::kString
  int64_t num = 0;             // Rhs::kNumber
  PvId rhs_pv = PvId::kRm;     // Rhs::kPv
  std::unique_ptr<Regex> re;   // =~ / !~
  std::unique_ptr<Node> call;  // kCall
  bool value = false;          // kConst
};

Node::Node(Node&&) noexcept = default;
Node::~Node() = default;

struct Route {
  std::string name;  // "" for the main route
  std::vector<Node> body;
  Loc loc;
};

bool equal_icase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// A whole decimal integer with an optional sign.
bool parse_int(std::string_view s, int64_t* out) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out, 10);
  return ec == std::errc() && ptr == s.data() + s.size();
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

}  // namespace

struct Script::Impl {
  std::vector<Route> routes;
  int main = -1;  // index of the main route, -1 when there is none
};

namespace {

enum class Flow : uint8_t { kNext, kReturn, kExit, kDrop };

class Runner {
 public:
  Runner(const Script::Impl& s, ScriptEnv& env) : s_(s), env_(env) {}

  Flow run_block(const std::vector<Node>& body) {
    for (const Node& n : body) {
      Flow flow = Flow::kNext;
      switch (n.op) {
        case Node::Op::kIf: {
          bool t = eval(*n.cond, &flow);
          if (flow != Flow::kNext) return flow;
          flow = run_block(t ? n.then_body : n.else_body);
          if (flow != Flow::kNext) return flow;
          break;
        }
        case Node::Op::kExit:
          return Flow::kExit;
        case Node::Op::kDrop:
          return Flow::kDrop;
        case Node::Op::kReturn:
          ret_ = n.value;
          return Flow::kReturn;
        default: {
          int v = call(n, &flow);
          if (flow != Flow::kNext) return flow;
          if (v == 0) return Flow::kExit;  // a function returning 0 stops the script
          break;
        }
      }
    }
    return Flow::kNext;
  }

 private:
  // Runs a function or route(...) call and returns its value; *flow is set when the call
  // stopped the script (exit or drop inside a sub-route).
  int call(const Node& n, Flow* flow) {
    switch (n.op) {
      case Node::Op::kRoute: {
        if (depth_ >= kMaxRouteDepth) {
          LOG_ERR("script", "route(%s): calls nested deeper than %d, dropping the request",
                  s_.routes[static_cast<size_t>(n.value)].name.c_str(), kMaxRouteDepth);
          *flow = Flow::kDrop;
          return -1;
        }
        ++depth_;
        Flow f = run_block(s_.routes[static_cast<size_t>(n.value)].body);
        --depth_;
        if (f == Flow::kExit || f == Flow::kDrop) {
          *flow = f;
          return 0;
        }
        return f == Flow::kReturn ? ret_ : 1;
      }
      case Node::Op::kXlog: {
        if (!logger().enabled(n.level)) return 1;  // nothing to render
        if (n.text.constant()) {
          env_.xlog(n.level, n.text.literal());
        } else {
          std::string text;
          text.reserve(128);
          n.text.render(env_, text);
          env_.xlog(n.level, text);
        }
        return 1;
      }
      case Node::Op::kIsMethod: {
        std::optional<std::string_view> m = env_.pv(PvId::kRm);
        if (!m) return -1;
        for (const std::string& want : n.methods) {
          if (equal_icase(*m, want)) return 1;
        }
        return -1;
      }
      case Node::Op::kIsPeerVerified: {
        // $tls_peer_verified is "1" only for a TLS peer whose certificate verified OK.
        std::optional<std::string_view> v = env_.pv(PvId::kTlsPeerVerified);
        return v && *v == "1" ? 1 : -1;
      }
      case Node::Op::kSlSendReply: {
        if (n.text.constant()) return env_.sl_send_reply(n.value, n.text.literal());
        std::string reason;
        n.text.render(env_, reason);
        return env_.sl_send_reply(n.value, reason);
      }
      default:
        return 1;
    }
  }

  bool eval(const Cond& c, Flow* flow) {
    switch (c.kind) {
      case Cond::Kind::kAnd: {
        bool l = eval(*c.a, flow);
        if (*flow != Flow::kNext || !l) return false;
        return eval(*c.b, flow);
      }
      case Cond::Kind::kOr: {
        bool l = eval(*c.a, flow);
        if (*flow != Flow::kNext) return false;
        if (l) return true;
        return eval(*c.b, flow);
      }
      case Cond::Kind::kNot: {
        bool v = eval(*c.a, flow);
        return *flow == Flow::kNext && !v;
      }
      case Cond::Kind::kConst:
        return c.value;
      case Cond::Kind::kPv: {
        std::optional<std::string_view> v = env_.pv(c.pv);
        return v && !v->empty() && *v != "0";
      }
      case Cond::Kind::kCall: {
        int r = call(*c.call, flow);
        if (*flow != Flow::kNext) return false;
        if (r == 0) {  // 0 stops the script, like exit
          *flow = Flow::kExit;
          return false;
        }
        return r > 0;
      }
      case Cond::Kind::kCmp:
        return compare_pv(c);
    }
    return false;
  }

  bool compare_pv(const Cond& c) {
    std::optional<std::string_view> l = env_.pv(c.pv);
    const bool negative = c.op == cfg::Tok::kNe || c.op == cfg::Tok::kNotMatch;
    switch (c.rhs) {
      case Cond::Rhs::kNull:
        return c.op == cfg::Tok::kEq ? !l.has_value() : l.has_value();
      case Cond::Rhs::kNumber: {
        int64_t x;
        if (!l || !parse_int(*l, &x)) return negative;  // not an integer: only != holds
        return compare(c.op, x, c.num);
      }
      case Cond::Rhs::kString:
        if (!l) return negative;
        if (c.re) return c.re->match(*l) != (c.op == cfg::Tok::kNotMatch);
        return compare(c.op, *l, std::string_view(c.str));
      case Cond::Rhs::kPv: {
        std::optional<std::string_view> r = env_.pv(c.rhs_pv);
        if (!l || !r) {
          if (c.op == cfg::Tok::kEq) return !l && !r;
          if (c.op == cfg::Tok::kNe) return l.has_value() != r.has_value();
          return false;
        }
        return compare(c.op, *l, *r);
      }
    }
    return false;
  }

  const Script::Impl& s_;
  ScriptEnv& env_;
  int depth_ = 0;
  int ret_ = 1;
};

}  // namespace

Script::Script(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Script::~Script() = default;

ScriptOutcome Script::run_request(ScriptEnv& env) const {
  if (impl_->main < 0) return ScriptOutcome::kEnd;
  Runner runner(*impl_, env);
  switch (runner.run_block(impl_->routes[static_cast<size_t>(impl_->main)].body)) {
    case Flow::kExit:
      return ScriptOutcome::kExit;
    case Flow::kDrop:
      return ScriptOutcome::kDrop;
    default:
      return ScriptOutcome::kEnd;
  }
}

// ---------------------------------------------------------------------------------------------
// Compilation

struct CfgScriptBuilder::State {
  explicit State(cfg::CfgDiag& d) : diag(d), impl(std::make_unique<Script::Impl>()) {}

  cfg::CfgDiag& diag;
  std::unique_ptr<Script::Impl> impl;
  std::map<std::string, int> by_name;  // named routes
  const std::vector<std::string>* modules = nullptr;

  void error(Loc loc, const std::string& msg) { diag.error(loc, msg); }

  bool module_loaded(std::string_view name) const {
    return std::find(modules->begin(), modules->end(), name) != modules->end();
  }

  // "$rm" / "$(rm)" -> PvId.
  bool resolve_pv(const cfg::Arg& a, PvId* id) {
    std::string_view name = a.text;
    if (name.starts_with("$")) name.remove_prefix(1);
    if (name.size() >= 2 && name.front() == '(' && name.back() == ')') {
      name = name.substr(1, name.size() - 2);
    }
    if (cfg::find_pv(name, id)) {
      std::string why = pv_unavailable(*id);
      if (why.empty()) return true;
      error(a.loc, strprintf("unknown script variable '%s'%s", a.text.c_str(), why.c_str()));
      return false;
    }
    error(a.loc, strprintf("unknown script variable '%s'%s", a.text.c_str(),
                           did_you_mean_suffix(a.text, cfg::pv_names()).c_str()));
    return false;
  }

  // "" when a known variable may be used here, else the end of the error message: a module
  // variable ($tls_*) needs its module loaded, as in OpenSIPS.
  std::string pv_unavailable(PvId id) const {
    std::string_view mod = cfg::pv_module(id);
    if (mod.empty() || module_loaded(mod)) return {};
    return strprintf(", missing loadmodule \"%.*s.so\"?", static_cast<int>(mod.size()), mod.data());
  }

  bool compile_format(const cfg::Arg& a, bool strip_newline, Format* out) {
    const std::string& s = a.text;
    std::string lit;
    bool ok = true;
    auto flush = [&] {
      if (!lit.empty()) out->pieces.push_back(Format::Piece{false, PvId::kRm, std::move(lit)});
      lit.clear();
    };
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] != '$') {
        lit += s[i];
        continue;
      }
      size_t j = i + 1;
      std::string_view name;
      bool has_args = false;
      auto skip_parens = [&](size_t k) -> size_t {  // k at '(' -> index after the matching ')'
        int depth = 0;
        for (; k < s.size(); ++k) {
          if (s[k] == '(') ++depth;
          if (s[k] == ')' && --depth == 0) return k + 1;
        }
        return std::string::npos;
      };
      if (j < s.size() && s[j] == '(') {
        size_t end = skip_parens(j);
        if (end == std::string::npos) {
          error(a.loc, "unbalanced '(' in a script variable of the format string");
          return false;
        }
        name = std::string_view(s).substr(j + 1, end - j - 2);
        j = end;
      } else if (j < s.size() &&
                 ((s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' && s[j] <= 'Z') || s[j] == '_')) {
        while (j < s.size() && ((s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' && s[j] <= 'Z') ||
                                (s[j] >= '0' && s[j] <= '9') || s[j] == '_')) {
          ++j;
        }
        name = std::string_view(s).substr(i + 1, j - i - 1);
        if (j < s.size() && s[j] == '(') {
          size_t end = skip_parens(j);
          if (end == std::string::npos) {
            error(a.loc, "unbalanced '(' in a script variable of the format string");
            return false;
          }
          has_args = true;
          j = end;
        }
      } else {
        lit += '$';  // a lone '$' is text
        continue;
      }
      PvId id;
      std::string why;
      if (has_args || !cfg::find_pv(name, &id) || !(why = pv_unavailable(id)).empty()) {
        std::string spelled = s.substr(i, j - i);
        if (why.empty()) why = did_you_mean_suffix(spelled, cfg::pv_names());
        error(a.loc, strprintf("unknown script variable '%s' in format string%s", spelled.c_str(),
                               why.c_str()));
        ok = false;
      } else {
        flush();
        out->pieces.push_back(Format::Piece{true, id, {}});
      }
      i = j - 1;
    }
    flush();
    if (strip_newline && !out->pieces.empty() && !out->pieces.back().is_pv) {
      std::string& t = out->pieces.back().text;
      while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
      if (t.empty()) out->pieces.pop_back();
    }
    return ok;
  }

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
      if (c.args[i].kind == cfg::Arg::Kind::kEmpty) {
        error(c.args[i].loc,
              strprintf("parameter %zu of command <%s> is missing", i + 1, c.name.c_str()));
        return false;
      }
    }
    return true;
  }

  bool compile_call(const cfg::Call& c, Node* out) {
    out->loc = c.loc;
    const std::string& name = c.name;
    if (name == "exit" || name == "drop") {
      if (!check_arg_count(c, 0, 0)) return false;
      out->op = name == "exit" ? Node::Op::kExit : Node::Op::kDrop;
      return true;
    }
    if (name == "return") {
      if (!check_arg_count(c, 0, 1)) return false;
      out->op = Node::Op::kReturn;
      out->value = 1;
      if (c.args.empty()) return true;
      const cfg::Arg& a = c.args[0];
      if (a.kind == cfg::Arg::Kind::kPv) {
        error(a.loc, "return($var) is not supported yet; return a number");
        return false;
      }
      if (a.kind != cfg::Arg::Kind::kNumber) {
        error(a.loc, "return expects a number");
        return false;
      }
      if (a.num < INT32_MIN || a.num > INT32_MAX) {
        error(a.loc, "return value out of range");
        return false;
      }
      out->value = static_cast<int>(a.num);
      if (out->value == 0) out->op = Node::Op::kExit;  // return(0) ends the whole script
      return true;
    }
    if (name == "route") {
      if (c.args.empty() || c.args[0].kind == cfg::Arg::Kind::kEmpty) {
        error(c.loc, "too few parameters for command <route>");
        return false;
      }
      if (c.args.size() > 1) {
        error(c.args[1].loc, "route parameters are not supported yet");
        return false;
      }
      const cfg::Arg& a = c.args[0];
      out->op = Node::Op::kRoute;
      switch (a.kind) {
        case cfg::Arg::Kind::kId:
        case cfg::Arg::Kind::kString:
          out->target = a.text;
          break;
        case cfg::Arg::Kind::kNumber:
          out->target = std::to_string(a.num);
          break;
        default:
          error(a.loc, "route(...) expects a route name");
          return false;
      }
      out->loc = a.loc;
      return true;
    }
    cfg::FuncInfo fi = cfg::find_function(name);
    if (!fi.def) {
      std::string msg = strprintf("unknown command <%s>, missing loadmodule?", name.c_str());
      std::string_view mod = cfg::unsupported_function_module(name);
      if (mod == "core") {
        msg += " (<" + name + "> is an OpenSIPS core function sipsd does not support yet)";
      } else if (!mod.empty()) {
        msg += " (<" + name + "> comes from OpenSIPS module '" + std::string(mod) +
               "', not supported by sipsd yet)";
      } else {
        msg += did_you_mean_suffix(name, cfg::function_names());
      }
      error(c.loc, msg);
      return false;
    }
    if (fi.module && !module_loaded(fi.module->name)) {
      error(c.loc, strprintf("unknown command <%s>, missing loadmodule \"%.*s.so\"?", name.c_str(),
                             static_cast<int>(fi.module->name.size()), fi.module->name.data()));
      return false;
    }
    if (!check_arg_count(c, fi.def->min_args, fi.def->max_args)) return false;
    if (name == "xlog") return compile_xlog(c, out);
    if (name == "is_method") return compile_is_method(c, out);
    if (name == "sl_send_reply") return compile_sl_send_reply(c, out);
    if (name == "is_peer_verified") {
      out->op = Node::Op::kIsPeerVerified;
      return true;
    }
    // The schema lists a function this compiler has no node for: a bug, reported as one.
    error(c.loc, strprintf("internal error: command <%s> has no compiled form", name.c_str()));
    return false;
  }

  bool compile_xlog(const cfg::Call& c, Node* out) {
    out->op = Node::Op::kXlog;
    out->level = LogLevel::kNotice;  // the one-parameter form logs at NOTICE (A9)
    const cfg::Arg* fmt = &c.args[0];
    if (c.args.size() == 2) {
      const cfg::Arg& lv = c.args[0];
      fmt = &c.args[1];
      if (lv.kind != cfg::Arg::Kind::kString) {
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
    if (fmt->kind != cfg::Arg::Kind::kString) {
      error(fmt->loc, "xlog: a quoted format string is expected");
      return false;
    }
    return compile_format(*fmt, true, &out->text);
  }

  bool compile_is_method(const cfg::Call& c, Node* out) {
    const cfg::Arg& a = c.args[0];
    if (a.kind != cfg::Arg::Kind::kString) {
      error(a.loc, "is_method: a quoted list of methods is expected (\"INVITE|REGISTER\")");
      return false;
    }
    out->op = Node::Op::kIsMethod;
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

  bool compile_sl_send_reply(const cfg::Call& c, Node* out) {
    const cfg::Arg& code = c.args[0];
    const cfg::Arg& reason = c.args[1];
    int64_t v = 0;
    if (code.kind == cfg::Arg::Kind::kNumber) {
      v = code.num;
    } else if (code.kind != cfg::Arg::Kind::kString || !parse_int(code.text, &v)) {
      error(code.loc, "sl_send_reply: the reply code must be a number");
      return false;
    }
    if (v < 100 || v > 699) {
      error(code.loc, strprintf("sl_send_reply: reply code %lld is out of range (100..699)",
                                static_cast<long long>(v)));
      return false;
    }
    if (reason.kind != cfg::Arg::Kind::kString) {
      error(reason.loc, "sl_send_reply: a quoted reason phrase is expected");
      return false;
    }
    out->op = Node::Op::kSlSendReply;
    out->value = static_cast<int>(v);
    return compile_format(reason, false, &out->text);
  }

  std::unique_ptr<Cond> compile_cond(const cfg::Expr& e) {
    auto c = std::make_unique<Cond>();
    switch (e.kind) {
      case cfg::Expr::Kind::kAnd:
      case cfg::Expr::Kind::kOr: {
        c->kind = e.kind == cfg::Expr::Kind::kAnd ? Cond::Kind::kAnd : Cond::Kind::kOr;
        c->a = compile_cond(*e.lhs);
        c->b = compile_cond(*e.rhs);
        if (!c->a || !c->b) return nullptr;
        return c;
      }
      case cfg::Expr::Kind::kNot:
        c->kind = Cond::Kind::kNot;
        c->a = compile_cond(*e.lhs);
        if (!c->a) return nullptr;
        return c;
      case cfg::Expr::Kind::kNumber:
        c->kind = Cond::Kind::kConst;
        c->value = e.left.num != 0;
        return c;
      case cfg::Expr::Kind::kPv:
        c->kind = Cond::Kind::kPv;
        if (!resolve_pv(e.left, &c->pv)) return nullptr;
        return c;
      case cfg::Expr::Kind::kCall:
        c->kind = Cond::Kind::kCall;
        c->call = std::make_unique<Node>();
        if (!compile_call(e.call, c->call.get())) return nullptr;
        return c;
      case cfg::Expr::Kind::kCmp:
        return compile_cmp(e, std::move(c));
    }
    return nullptr;
  }

  std::unique_ptr<Cond> compile_cmp(const cfg::Expr& e, std::unique_ptr<Cond> c) {
    c->kind = Cond::Kind::kCmp;
    c->op = e.op;
    bool ok = resolve_pv(e.left, &c->pv);
    const bool regex_op = e.op == cfg::Tok::kMatch || e.op == cfg::Tok::kNotMatch;
    const char* op_name = cfg::tok_name(e.op);
    switch (e.right.kind) {
      case cfg::Arg::Kind::kNull:
        c->rhs = Cond::Rhs::kNull;
        if (e.op != cfg::Tok::kEq && e.op != cfg::Tok::kNe) {
          error(e.op_loc, strprintf("NULL can only be compared with == or !=, not %s", op_name));
          return nullptr;
        }
        break;
      case cfg::Arg::Kind::kNumber:
        c->rhs = Cond::Rhs::kNumber;
        c->num = e.right.num;
        if (regex_op) {
          error(e.right.loc, strprintf("%s needs a quoted regular expression", op_name));
          return nullptr;
        }
        break;
      case cfg::Arg::Kind::kString:
        c->rhs = Cond::Rhs::kString;
        c->str = e.right.text;
        if (regex_op) {
          std::string why = cfg::regex_problem(c->str);
          c->re = std::make_unique<Regex>();
          if (!why.empty() || c->re->compile(c->str, &why) != 0) {
            error(e.right.loc,
                  strprintf("invalid regular expression \"%s\": %s", c->str.c_str(), why.c_str()));
            return nullptr;
          }
        }
        break;
      case cfg::Arg::Kind::kPv:
        c->rhs = Cond::Rhs::kPv;
        if (!resolve_pv(e.right, &c->rhs_pv)) return nullptr;
        if (regex_op) {
          error(e.right.loc, strprintf("the regular expression of %s must be a quoted string "
                                       "(patterns from script variables are not supported)",
                                       op_name));
          return nullptr;
        }
        break;
      default:
        error(e.right.loc, "a string, number, NULL or script variable is expected");
        return nullptr;
    }
    return ok ? std::move(c) : nullptr;
  }

  void compile_block(const std::vector<cfg::Stmt>& body, std::vector<Node>* out) {
    for (const cfg::Stmt& s : body) {
      if (diag.too_many()) return;
      switch (s.kind) {
        case cfg::Stmt::Kind::kBlock:
          compile_block(s.body, out);  // a nested block is just more statements
          break;
        case cfg::Stmt::Kind::kIf: {
          Node n(Node::Op::kIf);
          n.loc = s.loc;
          n.cond = compile_cond(*s.cond);
          compile_block(s.body, &n.then_body);
          compile_block(s.else_body, &n.else_body);
          if (n.cond) out->push_back(std::move(n));
          break;
        }
        case cfg::Stmt::Kind::kCall: {
          Node n;
          if (compile_call(s.call, &n)) out->push_back(std::move(n));
          break;
        }
      }
    }
  }

  // ---- finish: resolve route(name), reject recursion ----------------------------------------

  struct Edge {
    int to;
    Loc loc;
  };

  int find_route(const std::string& name) const {
    if (name == "0") return impl->main;
    auto it = by_name.find(name);
    return it == by_name.end() ? -1 : it->second;
  }

  std::string route_label(int idx) const {
    const Route& r = impl->routes[static_cast<size_t>(idx)];
    return r.name.empty() ? std::string("the main route") : "route[" + r.name + "]";
  }

  void resolve_calls(std::vector<Node>& body, std::vector<Edge>* edges) {
    for (Node& n : body) {
      if (n.op == Node::Op::kRoute) resolve_call(n, edges);
      if (n.cond) resolve_cond(*n.cond, edges);
      resolve_calls(n.then_body, edges);
      resolve_calls(n.else_body, edges);
    }
  }

  void resolve_cond(Cond& c, std::vector<Edge>* edges) {
    if (c.a) resolve_cond(*c.a, edges);
    if (c.b) resolve_cond(*c.b, edges);
    if (c.call && c.call->op == Node::Op::kRoute) resolve_call(*c.call, edges);
  }

  void resolve_call(Node& n, std::vector<Edge>* edges) {
    int idx = find_route(n.target);
    if (idx < 0) {
      std::vector<std::string> names;
      for (const auto& [k, v] : by_name) names.push_back(k);
      error(n.loc, strprintf("route '%s' is not defined%s", n.target.c_str(),
                             did_you_mean_suffix(n.target, names).c_str()));
      return;
    }
    n.value = idx;
    edges->push_back(Edge{idx, n.loc});
  }

  // Iterative depth-first search over the route call graph: rejects a call that closes a
  // cycle, and chains of route() calls deeper than the interpreter allows.
  void check_call_graph(const std::vector<std::vector<Edge>>& graph) {
    const size_t n = graph.size();
    std::vector<int> color(n, 0);   // 0 unvisited, 1 on the stack, 2 done
    std::vector<int> height(n, 1);  // routes in the longest chain starting here
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
          }
          continue;
        }
        const Edge& e = graph[r][v.next_edge++];
        const auto to = static_cast<size_t>(e.to);
        if (color[to] == 1) {
          std::string path;
          auto from = std::find_if(stack.begin(), stack.end(),
                                   [&](const Visit& x) { return x.route == e.to; });
          for (auto it = from; it != stack.end(); ++it) path += route_label(it->route) + " -> ";
          path += route_label(e.to);
          error(e.loc, "recursive route call: " + path);
          return;
        }
        if (color[to] == 2) {
          height[r] = std::max(height[r], height[to] + 1);
        } else {
          color[to] = 1;
          stack.push_back(Visit{e.to, 0});
        }
      }
    }
    for (size_t r = 0; r < n; ++r) {
      if (height[r] - 1 > kMaxRouteDepth) {
        error(impl->routes[r].loc,
              strprintf("route() calls from %s nest %d deep (at most %d)",
                        route_label(static_cast<int>(r)).c_str(), height[r] - 1, kMaxRouteDepth));
        return;
      }
    }
  }
};

CfgScriptBuilder::CfgScriptBuilder(cfg::CfgDiag& diag) : st_(std::make_unique<State>(diag)) {}

CfgScriptBuilder::~CfgScriptBuilder() = default;

void CfgScriptBuilder::add_route(const cfg::RouteDef& r,
                                 const std::vector<std::string>& loaded_modules) {
  State& st = *st_;
  if (r.kind != "route") {
    st.error(r.loc, strprintf("'%s' is not supported yet", r.kind.c_str()));
    return;
  }
  const bool is_main = !r.has_name || r.name.str == "0";
  Route route;
  route.name = is_main ? "" : r.name.str;
  route.loc = is_main ? r.loc : r.name.loc;
  bool duplicate = false;
  if (is_main && st.impl->main >= 0) {
    st.error(
        r.loc,
        strprintf("the main route is already defined at %s",
                  st.diag.where(st.impl->routes[static_cast<size_t>(st.impl->main)].loc).c_str()));
    duplicate = true;
  } else if (!is_main && st.by_name.count(route.name)) {
    st.error(
        r.name.loc,
        strprintf("route '%s' is already defined at %s", route.name.c_str(),
                  st.diag.where(st.impl->routes[static_cast<size_t>(st.by_name[route.name])].loc)
                      .c_str()));
    duplicate = true;
  }
  st.modules = &loaded_modules;
  st.compile_block(r.body, &route.body);  // even a duplicate, to report the errors inside
  st.modules = nullptr;
  if (duplicate) return;
  int idx = static_cast<int>(st.impl->routes.size());
  if (is_main) {
    st.impl->main = idx;
  } else {
    st.by_name[route.name] = idx;
  }
  st.impl->routes.push_back(std::move(route));
}

std::shared_ptr<const Script> CfgScriptBuilder::finish() {
  State& st = *st_;
  const size_t n = st.impl->routes.size();
  std::vector<std::vector<State::Edge>> graph(n);
  for (size_t i = 0; i < n; ++i) st.resolve_calls(st.impl->routes[i].body, &graph[i]);
  st.check_call_graph(graph);
  if (st.impl->main < 0) {
    st.diag.warning(Loc{}, "no main route (route { ... }) is defined: the script does nothing");
  }
  if (st.diag.error_count() > 0) return nullptr;
  return std::shared_ptr<const Script>(new Script(std::move(st.impl)));
}

}  // namespace sipsd
