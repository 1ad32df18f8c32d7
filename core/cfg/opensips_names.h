// OpenSIPS's own names (3.6): every module, script function, script variable and core parameter,
// with the module that provides it. Used only for messages: a cfg that names one sipsd lacks gets
// "OpenSIPS's X (module Y) is not supported by sipsd" rather than "unknown". The table is
// generated (tests/cfg_compat/gen_opensips_names.py); lookups are binary searches (it is sorted).
#pragma once

#include <span>
#include <string_view>

namespace sipsd::cfg::opensips {

struct NameModule {
  std::string_view name;
  std::string_view module;  // "core" for the core's
};

extern const std::span<const std::string_view> modules;
extern const std::span<const NameModule> functions;
extern const std::span<const NameModule> variables;
extern const std::span<const std::string_view> mod_params;  // "module.param", sorted
extern const std::span<const std::string_view> core_params;

bool is_module(std::string_view name);
// The module of an OpenSIPS function / variable (without '$'), "" when OpenSIPS has none.
std::string_view function_module(std::string_view name);
std::string_view variable_module(std::string_view name);
bool is_core_param(std::string_view name);
bool is_mod_param(std::string_view module, std::string_view param);

}  // namespace sipsd::cfg::opensips
