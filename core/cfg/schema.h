// What the cfg may name: core parameters, built-in modules with their parameters and script
// functions, and the OpenSIPS names sipsd knows but does not support yet (so the error can say
// "not supported yet" instead of "unknown"). Also the value type checks.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/cfg/ast.h"
#include "core/cfg/config.h"
#include "core/cfg/script.h"

namespace sipsd::cfg {

// ---- core parameters (reference A4) ---------------------------------------------------------

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
// Supported names, for did-you-mean.
const std::vector<std::string_view>& core_param_names();
// An OpenSIPS core parameter sipsd does not implement (udp_workers, alias, ...).
bool is_unsupported_core_param(std::string_view name);

// Checks `value` against `def` (type and range). Returns "" when fine, else the message
// (without position).
std::string check_core_value(const CoreParamDef& def, const Value& value);

// ---- modules, their parameters and functions (reference A6, A7, A11) -----------------------

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

struct FuncDef {
  std::string_view name;
  int min_args;
  int max_args;
};

struct ModuleDef {
  std::string_view name;
  std::span<const ModParamDef> params;
  std::span<const FuncDef> funcs;
};

// Built-in modules (loadmodule may name them); null for anything else.
const ModuleDef* find_module(std::string_view name);
const std::vector<std::string_view>& module_names();
// An OpenSIPS module sipsd does not implement yet (mi_http, tm, proto_udp, ...).
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
// Supported function names and statement keywords, for did-you-mean.
const std::vector<std::string_view>& function_names();
// The OpenSIPS module of a function sipsd does not implement yet ("tm" for t_relay), or "".
std::string_view unsupported_function_module(std::string_view name);

// Script variables (reference A10): the supported ones by name without '$' ("rm", "si", ...).
bool find_pv(std::string_view name, PvId* id);
// The module that provides a variable ("tls_mgm" for $tls_*), "" for the core ones.
std::string_view pv_module(PvId id);
const std::vector<std::string_view>& pv_names();  // with '$', for did-you-mean

// regcomp() builds automata whose size multiplies with repetition counts ("(a{99}){99}"): the
// cfg's regexes (modparam module names, =~ literals) must stay small. "" when fine, else why not.
std::string regex_problem(std::string_view pattern);

}  // namespace sipsd::cfg
