// The compiled form of the route script, shared by the compiler (script_compile.cc) and the
// interpreter (script_run.cc). Internal to core/cfg.
//
// Everything the cfg fixes is resolved here: variables to PvRefs with their slots, functions to
// their FuncDef, route names to indexes, regex literals compiled, constant strings kept once.
// Nodes are a tree of unique_ptrs walked recursively; the parser bounds the nesting.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/cfg/schema.h"
#include "core/cfg/script.h"
#include "core/cfg/script_regex.h"
#include "core/cfg/script_transform.h"
#include "core/cfg/token.h"

namespace sipsd::script {

constexpr int kMaxRouteDepth = 100;        // route() calls nested at run time
constexpr int kMaxRouteArgs = 8;           // route(name, args...)
constexpr int64_t kMaxSteps = 1000000;     // statements one run may execute
constexpr size_t kMaxValueLength = 65536;  // longest string `+` builds

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

// A string argument with $variables expanded at run time ("X-Src: $si\r\n").
struct Format {
  struct Piece {
    std::string text;  // literal text (when !pv)
    ExprPtr pv;        // a variable read
    // pv is a plain env variable (no transformation): its ref, read without walking pv.
    bool direct = false;
    PvRef ref;
  };
  std::vector<Piece> pieces;
  bool constant() const { return pieces.empty() || (pieces.size() == 1 && !pieces[0].pv); }
  std::string_view literal() const {
    return pieces.empty() ? std::string_view() : std::string_view(pieces[0].text);
  }
};

// One argument of a function call, as its ArgKind asks.
struct CallArg {
  enum class Mode : uint8_t {
    kConst,   // value (strings point into text; regexes into re)
    kFormat,  // fmt rendered into a scratch string
    kExpr,    // expr evaluated (turned into text for kStr, into an integer for kInt)
    kRegex,   // expr evaluated, then compiled through the per-process cache
  };
  Mode mode = Mode::kConst;
  cfg::ArgKind kind = cfg::ArgKind::kAny;
  ScriptValue value;
  std::string text;
  std::unique_ptr<ScriptRegex> re;
  Format fmt;
  ExprPtr expr;
  // The value may be a view into the env or a variable, and a later argument is computed:
  // copy it into a scratch string first.
  bool copy = false;
};

struct Call {
  FuncId id = FuncId::kXlog;  // def->id, kept here (one load less per call)
  const cfg::FuncDef* def = nullptr;
  std::vector<CallArg> args;
  // Every argument is a constant (the common case: sl_send_reply(404, "Not Here"), t_relay()):
  // the values, passed to the env as they are.
  bool all_const = false;
  std::vector<ScriptValue> const_args;
  LogLevel level = LogLevel::kNotice;  // xlog
  std::vector<std::string> methods;    // is_method, split at load
  std::string where;                   // "file:line:col" for run-time messages
};

struct Route;

// route(name[, args...]): `target` is the request route's index, `route` that route.
struct RouteCall {
  int target = -1;
  const Route* route = nullptr;
  std::string name;  // load: resolved in finish()
  cfg::Loc loc;
  std::string where;
  std::vector<ExprPtr> args;
};

struct Expr {
  enum class Op : uint8_t {
    kConst,      // value
    kPv,         // env variable: ref, then tr
    kVar,        // $var(ref.slot), then tr
    kAvp,        // $avp(ref.slot)[ref.index], then tr
    kRc,         // $rc / $retcode
    kParam,      // $param(ref.index), then tr
    kCall,       // call: its value ($rc)
    kRouteCall,  // route: its value ($rc)
    kNot,        // !a
    kAnd,        // a && b
    kOr,         // a || b
    kCmp,        // a tok b: == != < > <= >=
    kMatch,      // a =~ re / b, a !~ re / b (tok)
    kMyself,     // is_myself(a) (tok: == or !=)
    kArith,      // a tok b: + - * / %
    kNeg,        // -a
  };
  Op op = Op::kConst;
  cfg::Tok tok = cfg::Tok::kEq;
  ScriptValue value;  // kConst (strings point into text)
  std::string text;
  PvRef ref;
  std::vector<Transform> tr;
  ExprPtr a;
  ExprPtr b;
  std::unique_ptr<ScriptRegex> re;  // kMatch against a literal
  std::unique_ptr<Call> call;
  std::unique_ptr<RouteCall> route;
  bool copy_a = false;  // kCmp/kMatch/kArith: a's string must survive b's evaluation
  std::string where;    // for run-time messages
};

struct Stmt;

struct SwitchCase {
  ScriptValue label;  // strings point into text
  std::string text;
  size_t first = 0;  // into the switch's body
};

struct Stmt {
  enum class Op : uint8_t {
    kCall,    // expr->call, a function call statement (its value only sets $rc; 0 stops)
    kExpr,    // expr (route(...); its value only sets $rc, 0 stops)
    kIf,      // expr ? body : else_body
    kWhile,   // while (expr) body
    kSwitch,  // switch (expr) cases over body
    kAssign,  // target tok expr
    kExit,
    kDrop,
    kReturn,  // expr (null: 1)
    kBreak,
  };
  Op op = Op::kExpr;
  ExprPtr expr;
  const Call* call = nullptr;  // kCall: expr->call; kIf: the condition when it is a call
  std::vector<Stmt> body;
  std::vector<Stmt> else_body;
  std::vector<SwitchCase> cases;
  int default_case = -1;             // into cases
  ExprPtr target;                    // kAssign: kPv, kVar or kAvp
  cfg::Tok tok = cfg::Tok::kAssign;  // kAssign: kAssign (=), kColonAssign (:=) or an arith op
  bool replace = false;              // kAssign: `:=`
  std::string where;
};

struct Route {
  RouteType type = RouteType::kRequest;
  std::string name;  // "" for the unnamed ones and the main route
  int interval = 0;  // timer_route
  std::vector<Stmt> body;
  cfg::Loc loc;
};

// Per-process state behind ScriptVars.
struct VarSlot {
  ScriptValue::Kind kind = ScriptValue::Kind::kNull;
  int64_t num = 0;
  std::string str;
};

// Strings the interpreter builds while it runs, reused across runs. Taken and released in
// stack order (mark/release around each statement), so views into them stay valid as long as
// the statement that made them.
class ScratchPool {
 public:
  std::string& take() {
    if (used_ == bufs_.size()) bufs_.push_back(std::make_unique<std::string>());
    std::string& s = *bufs_[used_++];
    s.clear();
    return s;
  }
  size_t mark() const { return used_; }
  void release(size_t mark) { used_ = mark; }

 private:
  std::vector<std::unique_ptr<std::string>> bufs_;
  size_t used_ = 0;
};

struct ProcessState {
  std::vector<VarSlot> vars;
  ScratchPool scratch;
  RegexCache regexes;
};

}  // namespace sipsd::script

namespace sipsd {

struct Script::Impl {
  std::vector<script::Route> routes;
  std::array<std::vector<int>, kRouteTypeCount> by_type;  // RouteRef.index -> routes index
  // The same as pointers, for run() (filled when the script is complete).
  std::array<std::vector<const script::Route*>, kRouteTypeCount> refs;
  std::vector<TimerRoute> timers;
  std::vector<std::string> vars;   // by slot
  std::vector<std::string> avps;   // by slot
  std::vector<std::string> flags;  // by bit ("" = by number only)
  int main = -1;                   // RouteRef.index of the main route
  int max_while_loops = 10000;

  const script::Route& at(RouteRef r) const {
    return routes[static_cast<size_t>(
        by_type[static_cast<size_t>(r.type)][static_cast<size_t>(r.index)])];
  }
};

}  // namespace sipsd
