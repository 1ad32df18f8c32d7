// What the cfg may name: core parameters, built-in modules with their parameters and script
// functions, and the OpenSIPS names sipsd knows but does not support yet (so the error can say
// "not supported yet" instead of "unknown"). Also the value type checks.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/cfg/ast.h"
#include "core/cfg/config.h"
#include "core/cfg/script.h"
#include "core/cfg/script_types.h"

namespace sipsd::cfg {

// ---- core parameters ------------------------------------------------------------------------

enum class CoreType : uint8_t { kInt, kBool, kString, kSocket };

struct CoreParamDef {
  std::string_view name;
  CoreType type;
  int64_t min = 0;  // kInt
  int64_t max = 0;
  int CoreParams::*int_field = nullptr;
  bool CoreParams::*bool_field = nullptr;
  std::string CoreParams::*str_field = nullptr;
  // A deprecated spelling: the warning says to use this name instead.
  std::string_view use_instead = {};
  // kString: the value must be a string (not a number) that this accepts ("" = fine, else
  // why not).
  std::string (*check_text)(std::string_view value) = nullptr;
};

const CoreParamDef* find_core_param(std::string_view name);
// Every row, in table order (the README reference is generated from these).
std::span<const CoreParamDef> core_param_defs();
// Supported names, for did-you-mean.
const std::vector<std::string_view>& core_param_names();
// An OpenSIPS core parameter sipsd does not implement (udp_workers, alias, ...).
bool is_unsupported_core_param(std::string_view name);

// Checks `value` against `def` (type and range). Returns "" when fine, else the message
// (without position).
std::string check_core_value(const CoreParamDef& def, const Value& value);

// ---- modules, their parameters and functions -------------------------------------------------

enum class ParamType : uint8_t { kInt, kStr, kIntOrStr };  // kIntOrStr: a name or an id

struct ModParamDef {
  std::string_view name;
  ParamType type;
  int64_t min = 0;  // kInt
  int64_t max = 0;
  bool accumulates = false;  // repeatable, collected in order (tls_mgm)
  // Accepted but without effect: the warning gives this reason.
  std::string_view no_effect = {};
};

// How the compiler treats one function argument (OpenSIPS's CMD_PARAM_* kinds, resolved at
// load as far as they can be). What ScriptEnv::call() receives for each kind:
enum class ArgKind : uint8_t {
  kStr,     // string (NULL stays NULL). A quoted literal expands $variables at run time
            // ("X-Src: $si\r\n"); any other expression is evaluated and turned into text.
  kInt,     // integer. Literals (numbers, or quoted numbers) are checked against [min, max] at
            // load; other expressions at run time (the call is then -1 without reaching the env).
  kRoute,   // a route name (a word, number or quoted string) of type ArgSpec::route: an
            // integer, the RouteRef index of that route. Resolved at load, an error if missing.
  kStatic,  // a quoted literal, passed as written (no $variable expansion).
  kFlag,    // a flag name or number: an integer bit 0..31 (names get bits at load).
  kRegex,   // a regex (ScriptValue::regex()): POSIX extended, case-insensitive. A literal is
            // compiled at load; any other expression at run time (per-process cache).
  kAny,     // any expression, passed as evaluated (NULL, integer or string).
};

constexpr int kMaxFuncArgs = 4;

struct ArgSpec {
  ArgKind kind = ArgKind::kAny;
  // For messages: "reply code", "reason phrase". kStatic: "a|b|c" means the literal must be
  // one of these words (ASCII case-insensitive).
  std::string_view what = {};
  RouteType route = RouteType::kRequest;  // kRoute
  int64_t min = INT64_MIN;                // kInt
  int64_t max = INT64_MAX;
  // kStr: a number literal is refused ("<f>: a quoted <what> is expected"); quoted strings and
  // other expressions are fine.
  bool quoted = false;
};

// One script function (OpenSIPS 3.x names, arguments and route types). `id` is its FuncId.
struct FuncDef {
  std::string_view name;
  FuncId id;
  int min_args = 0;
  int max_args = 0;
  std::array<ArgSpec, kMaxFuncArgs> args = {};
  RouteMask routes = kAllRoutes;  // route types it may be used in (OpenSIPS's masks)
  bool builtin = false;           // carried out by the interpreter (never reaches the env)
  bool ready = false;             // sipsd implements it today; see LoadOptions
};

struct ModuleDef {
  std::string_view name;
  std::span<const ModParamDef> params;
  std::span<const FuncDef> funcs;
  // sipsd implements the module today; the others load only with
  // LoadOptions::allow_unimplemented (their functions are being written).
  bool ready = true;
};

// Built-in modules (loadmodule may name them); null for anything else.
const ModuleDef* find_module(std::string_view name);
std::span<const ModuleDef> module_defs();
std::span<const FuncDef> core_func_defs();
const std::vector<std::string_view>& module_names();
// An OpenSIPS module sipsd does not know at all yet (mi_http, registrar, ...); the ones it
// knows but does not carry out yet are ModuleDefs with ready = false (tm, rr, ...).
bool is_unsupported_module(std::string_view name);

const ModParamDef* find_mod_param(const ModuleDef& module, std::string_view name);
std::vector<std::string_view> mod_param_names(const ModuleDef& module);

// Checks a modparam value; "" when fine, else the message (without position).
std::string check_mod_param_value(const ModuleDef& module, const ModParamDef& def,
                                  const Value& value);

// A script function: from a module (module != null) or the core (xlog).
struct FuncInfo {
  const FuncDef* def = nullptr;
  const ModuleDef* module = nullptr;
};

// Looks up a script function by name among all built-in modules and the core.
FuncInfo find_function(std::string_view name);
// Every function, indexed by FuncId.
const FuncDef& func_def(FuncId id);
// The module that provides a function ("core" for the core's).
std::string_view func_module(FuncId id);
// Supported function names and statement keywords, for did-you-mean.
const std::vector<std::string_view>& function_names();
// The OpenSIPS module of a function sipsd does not implement yet ("registrar" for save), or "".
std::string_view unsupported_function_module(std::string_view name);
// "route", "failure_route", ... (the cfg keyword of a route type).
std::string_view route_type_keyword(RouteType t);
// "route, failure_route" for a mask, in RouteType order.
std::string route_mask_text(RouteMask mask);

// Script variables (OpenSIPS 3.x names).
enum class PvArg : uint8_t {
  kNone,      // $name
  kName,      // $name(arg), the argument required ($hdr(Name), $var(x), $avp(x), $param(1))
  kOptional,  // $socket_in or $socket_in(field)
};

struct PvDef {
  std::string_view name;  // without '$'
  PvId id;
  std::string_view module = {};  // "" = core; else its loadmodule is needed
  bool writable = false;
  bool numeric = false;  // the env answers an integer
  PvArg arg = PvArg::kNone;
  bool ready = true;  // sipsd answers it today; see LoadOptions
};

// The supported variables by name without '$' ("rm", "si", "hdr", ...); null when unknown.
const PvDef* find_pv_def(std::string_view name);
// The first (canonical) definition of an id.
const PvDef& pv_def(PvId id);
std::span<const PvDef> pv_defs();
// Compatibility helper: find_pv_def()->id.
bool find_pv(std::string_view name, PvId* id);
// The module that provides a variable ("tls_mgm" for $tls_*), "" for the core ones.
std::string_view pv_module(PvId id);
const std::vector<std::string_view>& pv_names();  // with '$', for did-you-mean
// "$ru $rU $rd $rp $du $var(x) $avp(x)": the writable ones, for messages.
const std::string& writable_pv_text();

// regcomp() builds automata whose size multiplies with repetition counts ("(a{99}){99}"): the
// cfg's regexes (modparam module names, =~ literals) must stay small. "" when fine, else why not.
std::string regex_problem(std::string_view pattern);

}  // namespace sipsd::cfg
