#include <algorithm>
#include <string>

#include "core/cfg/opensips_names.h"

namespace sipsd::cfg::opensips {

namespace {

std::string_view find_module_of(std::span<const NameModule> table, std::string_view name) {
  auto it = std::lower_bound(table.begin(), table.end(), name,
                             [](const NameModule& e, std::string_view n) { return e.name < n; });
  return it != table.end() && it->name == name ? it->module : std::string_view();
}

}  // namespace

bool is_module(std::string_view name) {
  return std::binary_search(modules.begin(), modules.end(), name);
}

std::string_view function_module(std::string_view name) {
  return find_module_of(functions, name);
}

std::string_view variable_module(std::string_view name) {
  return find_module_of(variables, name);
}

bool is_mod_param(std::string_view module, std::string_view param) {
  std::string key;
  key.reserve(module.size() + 1 + param.size());
  key.append(module).append(".").append(param);
  return std::binary_search(mod_params.begin(), mod_params.end(), std::string_view(key));
}

bool is_core_param(std::string_view name) {
  return std::binary_search(core_params.begin(), core_params.end(), name);
}

}  // namespace sipsd::cfg::opensips
