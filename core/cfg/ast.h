// The parsed cfg: one Item per top-level statement (reference A3, A13), in file order. The
// parser checks syntax only; core/config.cc checks and applies the values, core/script.cc
// compiles route blocks into a Script (CfgScriptBuilder, declared at the end).
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

struct Arg {
  enum class Kind : uint8_t { kEmpty, kString, kNumber, kPv, kId, kNull };
  Kind kind = Kind::kEmpty;
  std::string text;  // kString: value; kPv: spelling ("$rm"); kId: the word
  int64_t num = 0;   // kNumber
  Loc loc;
};

// name(args) — also `exit`, `drop`, `return [N]`, `route(name)` and `xlog(...)`, told apart by
// name. `parens` is false for the keyword forms written without parentheses.
struct Call {
  std::string name;
  Loc loc;
  bool parens = true;
  std::vector<Arg> args;
};

struct Expr {
  enum class Kind : uint8_t {
    kAnd,     // lhs && rhs (same precedence as ||, left-associative)
    kOr,      // lhs || rhs
    kNot,     // !lhs
    kCmp,     // left OP right
    kPv,      // a bare script variable (left)
    kCall,    // a function call used as a condition
    kNumber,  // a number used as a condition (left.num)
  };
  Kind kind = Kind::kNumber;
  Loc loc;
  std::unique_ptr<Expr> lhs, rhs;
  Arg left;
  Tok op = Tok::kEq;
  Loc op_loc;
  Arg right;
  Call call;
};

struct Stmt {
  enum class Kind : uint8_t { kBlock, kIf, kCall };
  Kind kind = Kind::kCall;
  Loc loc;
  std::vector<Stmt> body;       // kBlock; kIf: the then-branch
  std::vector<Stmt> else_body;  // kIf
  std::unique_ptr<Expr> cond;   // kIf
  Call call;                    // kCall
};

// route / route[name] / onreply_route / failure_route[name] / ...
struct RouteDef {
  std::string kind;  // "route", "onreply_route", ...
  Loc loc;
  bool has_name = false;
  Value name;
  std::vector<Stmt> body;
};

using Item = std::variant<CoreAssign, Mpath, LoadModule, ModParam, RouteDef>;

}  // namespace sipsd::cfg

namespace sipsd {

class Script;

// Compiles route blocks into a Script (implemented in core/script.cc). Functions are resolved
// when their route is added, against the modules loaded so far (as OpenSIPS does while
// parsing); route(name) calls are resolved, and recursion rejected, in finish().
class CfgScriptBuilder {
 public:
  explicit CfgScriptBuilder(cfg::CfgDiag& diag);
  ~CfgScriptBuilder();
  CfgScriptBuilder(const CfgScriptBuilder&) = delete;
  CfgScriptBuilder& operator=(const CfgScriptBuilder&) = delete;

  void add_route(const cfg::RouteDef& route, const std::vector<std::string>& loaded_modules);
  // The compiled script, or null when an error was reported (to the CfgDiag).
  std::shared_ptr<const Script> finish();

 private:
  struct State;
  std::unique_ptr<State> st_;
};

}  // namespace sipsd
