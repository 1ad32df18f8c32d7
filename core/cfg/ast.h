// The parsed cfg: one Item per top-level statement in file order. The
// parser checks syntax only; core/cfg/config.cc checks and applies the values,
// core/cfg/script_compile.cc compiles route blocks into a Script (CfgScriptBuilder, declared at
// the end).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "core/cfg/lexer.h"

namespace sipsd::cfg {

// A literal on the right of `name =` or as a modparam value.
struct Value {
  enum class Kind : uint8_t { kNumber, kString, kId };
  Kind kind = Kind::kNumber;
  int64_t num = 0;  // kNumber (signed)
  std::string str;  // kString (adjacent strings already joined where allowed), kId
  Loc loc;
};

// `socket=` / `listen=` options: `as`, `tag`, `use_workers`, ... Their arguments are consumed
// by the parser; only the name and place matter to the checks.
struct SocketOption {
  std::string name;  // lowercase
  Loc loc;
  SocketSpec value;  // `as`: the advertised host[:port]
};

// name = value (core parameters; `listen` and `socket` carry a socket definition).
struct CoreAssign {
  std::string name;
  Loc name_loc;
  bool is_socket = false;
  Value value;        // !is_socket
  SocketSpec socket;  // is_socket
  std::vector<SocketOption> socket_options;
};

struct Mpath {
  Value value;
  Loc loc;
};

struct LoadModule {
  std::string path;  // as written
  Loc loc;           // the string
};

struct ModParam {
  std::string module;  // a case-insensitive, anchored POSIX extended regex
  Loc module_loc;
  std::string param;
  Loc param_loc;
  Value value;
  Loc loc;  // the `modparam` keyword
};

// ---- route script ---------------------------------------------------------------------------

struct Expr;

// name(args) — also `exit`, `drop`, `return [value]` and `route(name, ...)`, told apart by
// name. `parens` is false for the keyword forms written without parentheses.
struct Call {
  std::string name;
  Loc loc;
  bool parens = true;
  std::vector<Expr> args;  // Expr::Kind::kEmpty for an empty slot: f("a", , 3)
};

// An expression: conditions, assignment values, function arguments .
struct Expr {
  enum class Kind : uint8_t {
    kEmpty,   // an empty argument slot
    kAnd,     // lhs && rhs (same precedence as ||, left-associative)
    kOr,      // lhs || rhs
    kNot,     // !lhs
    kCmp,     // lhs op rhs: == != < > <= >= =~ !~
    kArith,   // lhs op rhs: + - * / % (one precedence level, left-associative, as OpenSIPS)
    kNeg,     // -lhs
    kNumber,  // num
    kString,  // text (decoded)
    kNull,    // NULL / null
    kPv,      // text: the spelling, '$' included ("$rm", "$(var(x){s.len})")
    kId,      // text: a bare word (route and flag names as arguments)
    kMyself,  // the word `myself` (right side of == / !=)
    kCall,    // call
  };
  Kind kind = Kind::kNumber;
  Loc loc;
  Tok op = Tok::kEq;  // kCmp, kArith
  Loc op_loc;
  std::unique_ptr<Expr> lhs, rhs;
  std::string text;
  int64_t num = 0;
  bool parenthesized = false;  // written inside ( ) or [ ]
  Call call;
};

struct Stmt;

// `case label:` / `default:` of a switch; its statements start at body[first].
struct SwitchCase {
  bool is_default = false;
  Expr label;  // kNumber or kString
  Loc loc;
  size_t first = 0;
};

struct Stmt {
  enum class Kind : uint8_t {
    kBlock,   // { body }
    kIf,      // if (cond) body else else_body
    kCall,    // call;
    kAssign,  // target op value;
    kWhile,   // while (cond) body
    kSwitch,  // switch (cond) { cases over body }
    kBreak,   // break;
  };
  Kind kind = Kind::kCall;
  Loc loc;
  std::vector<Stmt> body;        // kBlock; kIf: the then-branch; kWhile; kSwitch (flat)
  std::vector<Stmt> else_body;   // kIf
  std::unique_ptr<Expr> cond;    // kIf, kWhile; kSwitch: the value switched on
  Call call;                     // kCall
  std::unique_ptr<Expr> target;  // kAssign: a kPv
  Tok assign_op = Tok::kAssign;  // kAssign: kAssign or kAssignOp (assign_text says which)
  std::string assign_text;       // "=", ":=", "+=", ...
  Loc op_loc;
  std::unique_ptr<Expr> value;    // kAssign
  std::vector<SwitchCase> cases;  // kSwitch
};

// route / route[name] / onreply_route / failure_route[name] / timer_route[name, N] / ...
struct RouteDef {
  std::string kind;  // "route", "onreply_route", ...
  Loc loc;
  bool has_name = false;
  Value name;
  bool has_interval = false;  // timer_route
  int64_t interval = 0;
  Loc interval_loc;
  std::vector<Stmt> body;
};

using Item = std::variant<CoreAssign, Mpath, LoadModule, ModParam, RouteDef>;

}  // namespace sipsd::cfg

namespace sipsd {

class Script;

// Compiles route blocks into a Script (core/cfg/script_compile.cc). Functions and variables are
// resolved when their route is added, against the modules loaded so far (as OpenSIPS does while
// parsing); route names, route types of sub-routes and recursion are checked in finish().
class CfgScriptBuilder {
 public:
  // allow_unimplemented: accept functions, variables and modules sipsd does not carry out yet
  // (LoadOptions, for tests of the script engine and of the layers being written).
  CfgScriptBuilder(cfg::CfgDiag& diag, bool allow_unimplemented);
  ~CfgScriptBuilder();
  CfgScriptBuilder(const CfgScriptBuilder&) = delete;
  CfgScriptBuilder& operator=(const CfgScriptBuilder&) = delete;

  void add_route(const cfg::RouteDef& route, const std::vector<std::string>& loaded_modules);
  // The compiled script, or null when an error was reported (to the CfgDiag).
  std::shared_ptr<const Script> finish(int max_while_loops);

 private:
  struct State;
  std::unique_ptr<State> st_;
};

}  // namespace sipsd
