// The route script: compiled once from the cfg (core/cfg/script_compile.cc) with everything
// that can be resolved at load resolved — variable slots, function ids, route indexes, regexes,
// constant strings — and interpreted per message (core/cfg/script_run.cc).
//
// The interpreter reaches the message, the connection and the transaction only through
// ScriptEnv: variables by PvId, functions by FuncId (core/cfg/script_types.h; the table of
// names, arguments and allowed route types is in core/cfg/schema.h). It keeps $var(x) in a
// per-process ScriptVars and $avp(x) in the AvpStore the env hands over, so it can be
// unit-tested without sockets and the layers above implement the functions.
//
// OpenSIPS rules: a function's value > 0 is true, < 0 false, and 0 stops
// the script like `exit`; $rc/$retcode is the last value of a function or route(); `exit`,
// `drop` and `return(0)` anywhere end the whole run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/log.h"
#include "core/cfg/pv.h"
#include "core/cfg/script_types.h"

namespace sipsd {

class ScriptRegex;  // core/cfg/script_regex.h

// A script value: NULL, a 64-bit integer, a string, or (only as a function argument of kind
// ArgKind::kRegex) a compiled regular expression. A string is a view: what the interpreter
// passes stays valid until the callee returns; what a ScriptEnv returns must stay valid until
// the env's next call (the interpreter copies what it needs longer).
class ScriptValue {
 public:
  enum class Kind : uint8_t { kNull, kInt, kStr, kRegex };

  constexpr ScriptValue() = default;
  static constexpr ScriptValue null() { return ScriptValue(); }
  static constexpr ScriptValue of(int64_t v) {
    ScriptValue x;
    x.kind_ = Kind::kInt;
    x.u_.i = v;
    return x;
  }
  static constexpr ScriptValue of(int v) { return of(static_cast<int64_t>(v)); }
  static constexpr ScriptValue of(std::string_view s) {
    ScriptValue x;
    x.kind_ = Kind::kStr;
    x.s_ = s;
    return x;
  }
  static ScriptValue of(const ScriptRegex* re) {
    ScriptValue x;
    x.kind_ = Kind::kRegex;
    x.u_.re = re;
    return x;
  }

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::kNull; }
  bool is_int() const { return kind_ == Kind::kInt; }
  bool is_str() const { return kind_ == Kind::kStr; }
  int64_t int_value() const { return kind_ == Kind::kInt ? u_.i : 0; }
  std::string_view str() const { return s_; }  // kStr ("" otherwise)
  const ScriptRegex* regex() const { return kind_ == Kind::kRegex ? u_.re : nullptr; }

  // An integer, or a string that is a whole decimal integer ("42", "-7", "+3"): true and *out.
  bool to_int(int64_t* out) const;

 private:
  Kind kind_ = Kind::kNull;
  union {
    int64_t i = 0;
    const ScriptRegex* re;
  } u_;
  std::string_view s_;
};

// A variable as the script names it, resolved at load. The views point into the Script.
struct PvRef {
  PvId id = PvId::kRm;
  std::string_view name;  // $hdr(Name): "Name"; $var(x)/$avp(x): "x"; "" otherwise
  int index = 0;          // $(hdr(Name)[i]): 0 = first (also when not written), -1 = last
  int slot = -1;          // $var/$avp: the storage slot
};

// $avp(x) values of one message or transaction: several values per name, the newest first.
// Slots come from the Script (avp_slot()); a plain value type, so tm can copy it into a
// transaction and hand the copy to the failure/reply routes later. clear() keeps its buffers:
// a store reused per message does not allocate in the steady state.
class AvpStore {
 public:
  // Index 0 is the newest value, 1 the one before, -1 the oldest. NULL when there is none.
  // A string stays valid until the store changes.
  ScriptValue get(int slot, int index = 0) const;
  size_t count(int slot) const;
  // $avp(x) = v: adds v as the newest value (NULL: removes the newest, as OpenSIPS does).
  void add(int slot, const ScriptValue& v);
  // $avp(x) := v: replaces every value of the slot with v (NULL: removes them all).
  void set(int slot, const ScriptValue& v);
  void erase_newest(int slot);
  void erase_all(int slot);
  void clear();
  bool empty() const { return live_ == 0; }

 private:
  struct Entry {
    int32_t slot;
    bool is_int;
    bool dead;
    int64_t num;
    uint32_t off;  // into bytes_ (strings)
    uint32_t len;
  };
  Entry* newest(int slot, int index);
  const Entry* newest(int slot, int index) const;
  void compact();

  std::vector<Entry> entries_;  // oldest first
  std::string bytes_;
  size_t dead_bytes_ = 0;
  size_t live_ = 0;
};

namespace script {
class Runner;
struct ProcessState;
}  // namespace script

// Per-process script state, owned by the caller of Script::run (one per worker process): the
// $var(x) values (they survive from one message to the next, as in OpenSIPS), the interpreter's
// scratch buffers and the cache of regexes built at run time. Not thread-safe; never shared.
class ScriptVars {
 public:
  ScriptVars();
  ~ScriptVars();
  ScriptVars(const ScriptVars&) = delete;
  ScriptVars& operator=(const ScriptVars&) = delete;

  // The value of $var slot `slot` (NULL before the first assignment). A string stays valid
  // until that variable changes.
  ScriptValue get(int slot) const;
  void set(int slot, const ScriptValue& v);
  // Every $var back to NULL.
  void clear();

 private:
  friend class script::Runner;
  friend class Script;
  std::unique_ptr<script::ProcessState> st_;
};

// What the script sees of the world.
class ScriptEnv {
 public:
  virtual ~ScriptEnv() = default;

  // Every variable except $var, $avp, $rc/$retcode and $param (is_script_pv). NULL when not
  // present. Numeric variables (schema: PvDef::numeric) should come back as integers. The
  // string must stay valid until the env's next call.
  virtual ScriptValue pv_get(const PvRef& ref) = 0;
  // The writable ones ($ru $rU $rd $rp $du; schema: PvDef::writable). `v` may be NULL
  // ($du = NULL resets it), and its string may be a view the env itself handed out ($du = $ru):
  // copy it before changing what it points into. false = refused (the env logs why).
  virtual bool pv_set(const PvRef& ref, const ScriptValue& v) = 0;
  // A function that is not builtin (schema: FuncDef::builtin), with its arguments evaluated
  // as the table's ArgKinds say (route names as route indexes, flags as bits, regexes
  // compiled). args.size() is the number written in the cfg (an empty optional slot is NULL).
  // Return > 0 true, < 0 false, 0 stop the script.
  virtual int call(FuncId id, std::span<const ScriptValue> args) = 0;
  // xlog output, already formatted (variables substituted, trailing newline removed). Only
  // called when the logger's level lets the line through.
  virtual void xlog(LogLevel level, std::string_view text) = 0;
  // The $avp store of the current message or transaction (asked for only when the script
  // uses $avp).
  virtual AvpStore& avps() = 0;
};

// A route of the compiled script: its type and its index among the routes of that type (the
// value t_on_failure() & co. receive).
struct RouteRef {
  RouteType type = RouteType::kRequest;
  int index = -1;
  bool valid() const { return index >= 0; }
};

struct TimerRoute {
  std::string name;
  int interval = 0;  // seconds
  RouteRef route;
};

enum class ScriptOutcome : uint8_t {
  kEnd,   // the route ran to its end, or `return`ed from it
  kExit,  // `exit` (or return(0), or a function returning 0)
  kDrop,  // `drop`, or the run was cut short by a limit (logged)
};

struct ScriptResult {
  ScriptOutcome outcome = ScriptOutcome::kEnd;
  // kEnd: the route's return value (1 when it ran to its end); kExit, kDrop: 0.
  int retcode = 1;
};

class CfgScriptBuilder;  // core/cfg/ast.h

// A compiled, immutable route script, shared by every message a process handles.
class Script {
 public:
  ~Script();
  Script(const Script&) = delete;
  Script& operator=(const Script&) = delete;

  // route{} / route[0]; invalid when the cfg has none.
  RouteRef main_route() const;
  // A named route of that type (for kRequest "" and "0" are the main route; the unnamed
  // onreply_route, error_route, local_route and startup_route are named ""). Invalid when
  // there is none.
  RouteRef route(RouteType t, std::string_view name) const;
  RouteRef default_onreply_route() const { return route(RouteType::kOnReply, ""); }
  RouteRef error_route() const { return route(RouteType::kError, ""); }
  RouteRef local_route() const { return route(RouteType::kLocal, ""); }
  RouteRef startup_route() const { return route(RouteType::kStartup, ""); }
  const std::vector<TimerRoute>& timer_routes() const;
  size_t route_count(RouteType t) const;
  // "" for the unnamed ones; "" for an invalid ref too.
  std::string_view route_name(RouteRef r) const;

  // Runs one route. An invalid ref returns {kEnd, 1} at once.
  ScriptResult run(RouteRef r, ScriptEnv& env, ScriptVars& vars) const;

  // $var / $avp slots: how many the script uses, and which slot a name has (-1: the script
  // never names it).
  size_t var_count() const;
  size_t avp_count() const;
  int var_slot(std::string_view name) const;
  int avp_slot(std::string_view name) const;
  std::string_view avp_name(int slot) const;
  // setflag() names, by bit ("" for bits used by number only or not at all).
  std::string_view flag_name(int bit) const;
  int max_while_loops() const;

  struct Impl;

 private:
  friend class CfgScriptBuilder;
  explicit Script(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sipsd
