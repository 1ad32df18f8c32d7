// Json: the value type of the management interface (MI JSON-RPC). Parsing goes through
// RapidJSON (Debian's rapidjson-dev, header-only), not a hand-written parser: it keeps object
// members in order and keeps repeated keys, which OpenSIPS replies have (list_tcp_conns repeats
// "Alias port") and protobuf's Struct cannot hold; integers stay exact. Writing is compact,
// single-line, members in insertion order, whole numbers printed as integers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/result.h"

namespace sipsd {

class Json {
 public:
  enum class Type : uint8_t { kNull, kBool, kInt, kDouble, kString, kArray, kObject };

  Json() = default;  // null
  Json(std::nullptr_t) {}
  Json(bool b) : type_(Type::kBool), int_(b) {}                           // NOLINT
  Json(int v) : type_(Type::kInt), int_(v) {}                             // NOLINT
  Json(int64_t v) : type_(Type::kInt), int_(v) {}                         // NOLINT
  Json(uint64_t v) : type_(Type::kInt), int_(static_cast<int64_t>(v)) {}  // NOLINT
  Json(double v) : type_(Type::kDouble), double_(v) {}                    // NOLINT
  Json(std::string s) : type_(Type::kString), str_(std::move(s)) {}       // NOLINT
  Json(std::string_view s) : type_(Type::kString), str_(s) {}             // NOLINT
  Json(const char* s) : type_(Type::kString), str_(s) {}                  // NOLINT

  static Json array() { return Json(Type::kArray); }
  static Json object() { return Json(Type::kObject); }

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_bool() const { return type_ == Type::kBool; }
  bool is_int() const { return type_ == Type::kInt; }
  bool is_number() const { return type_ == Type::kInt || type_ == Type::kDouble; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }

  bool as_bool() const { return int_ != 0; }
  int64_t as_int() const { return type_ == Type::kDouble ? static_cast<int64_t>(double_) : int_; }
  double as_double() const { return type_ == Type::kInt ? static_cast<double>(int_) : double_; }
  const std::string& as_string() const { return str_; }

  // Arrays.
  Json& push(Json v);
  const std::vector<Json>& items() const { return items_; }
  // Objects: members in insertion order; add() never replaces (keys may repeat).
  Json& add(std::string key, Json v);
  const std::vector<std::pair<std::string, Json>>& members() const { return members_; }
  // The first member called `key`, or null.
  const Json* find(std::string_view key) const;
  size_t size() const { return is_array() ? items_.size() : members_.size(); }

  // Compact, single-line JSON.
  std::string dump() const;
  void dump_to(std::string* out) const;

  // Parses exactly one JSON value (surrounding whitespace allowed).
  static Result<Json> parse(std::string_view text);

 private:
  explicit Json(Type t) : type_(t) {}

  Type type_ = Type::kNull;
  int64_t int_ = 0;
  double double_ = 0;
  std::string str_;
  std::vector<Json> items_;
  std::vector<std::pair<std::string, Json>> members_;
};

// Where the first JSON value in `text` ends (after leading whitespace): its length including
// the leading whitespace, or 0 when the value is not complete yet, or npos when what is there
// cannot be the start of a JSON value. Only the structure is scanned (strings, nesting); the
// value itself is parsed by Json::parse.
size_t json_value_extent(std::string_view text);

}  // namespace sipsd
