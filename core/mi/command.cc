#include "core/mi/command.h"

#include <charconv>

namespace sipsd {

namespace {

MiError bad_type(std::string_view name) {
  return MiError{kMiInvalidParams, "Invalid params",
                 "Bad type for parameter '" + std::string(name) + "'"};
}

}  // namespace

const Json* MiParams::find(std::string_view name) const {
  for (const auto& [k, v] : values_)
    if (k == name) return &v;
  return nullptr;
}

std::variant<int64_t, MiError> MiParams::get_int(std::string_view name) const {
  const Json* v = find(name);
  if (v == nullptr) return bad_type(name);
  if (v->is_int()) return v->as_int();
  if (v->is_string()) {
    const std::string& s = v->as_string();
    int64_t n = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec == std::errc() && end == s.data() + s.size() && !s.empty()) return n;
  }
  return bad_type(name);
}

std::variant<std::string, MiError> MiParams::get_string(std::string_view name) const {
  const Json* v = find(name);
  if (v == nullptr) return bad_type(name);
  if (v->is_string()) return v->as_string();
  if (v->is_number()) return v->dump();
  return bad_type(name);
}

std::variant<std::vector<std::string>, MiError> MiParams::get_string_array(
    std::string_view name) const {
  const Json* v = find(name);
  if (v == nullptr || !v->is_array()) return bad_type(name);
  if (v->items().empty())
    return MiError{kMiInvalidParams, "Invalid params",
                   "Empty array in parameter '" + std::string(name) + "'"};
  std::vector<std::string> out;
  for (const Json& item : v->items()) {
    if (item.is_string()) {
      out.push_back(item.as_string());
    } else if (item.is_number()) {
      out.push_back(item.dump());
    } else {
      return MiError{kMiInvalidParams, "Invalid params",
                     "Bad type for array item in parameter '" + std::string(name) + "'"};
    }
  }
  return out;
}

const MiCommand* MiRegistry::find(std::string_view name) const {
  for (const MiCommand& c : commands_) {
    if (c.name == name) return &c;
    for (const std::string& a : c.aliases)
      if (a == name) return &c;
  }
  return nullptr;
}

}  // namespace sipsd
