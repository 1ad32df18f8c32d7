#include "core/mi/json.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <cmath>
#include <cstdio>

namespace sipsd {

Json& Json::push(Json v) {
  items_.push_back(std::move(v));
  return items_.back();
}

Json& Json::add(std::string key, Json v) {
  members_.emplace_back(std::move(key), std::move(v));
  return members_.back().second;
}

const Json* Json::find(std::string_view key) const {
  for (const auto& [k, v] : members_)
    if (k == key) return &v;
  return nullptr;
}

namespace {

void escape_to(std::string_view s, std::string* out) {
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          snprintf(buf, sizeof buf, "\\u%04x", c);
          out->append(buf);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

Json from_rapidjson(const rapidjson::Value& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType:
      return Json();
    case rapidjson::kFalseType:
      return Json(false);
    case rapidjson::kTrueType:
      return Json(true);
    case rapidjson::kNumberType:
      if (v.IsInt64()) return Json(v.GetInt64());
      if (v.IsUint64()) return Json(v.GetUint64());
      return Json(v.GetDouble());
    case rapidjson::kStringType:
      return Json(std::string(v.GetString(), v.GetStringLength()));
    case rapidjson::kArrayType: {
      Json a = Json::array();
      for (const auto& item : v.GetArray()) a.push(from_rapidjson(item));
      return a;
    }
    case rapidjson::kObjectType: {
      // Members keep their order, and repeated names stay (list_tcp_conns "Alias port").
      Json o = Json::object();
      for (const auto& m : v.GetObject())
        o.add(std::string(m.name.GetString(), m.name.GetStringLength()), from_rapidjson(m.value));
      return o;
    }
  }
  return Json();
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

}  // namespace

void Json::dump_to(std::string* out) const {
  switch (type_) {
    case Type::kNull:
      out->append("null");
      break;
    case Type::kBool:
      out->append(int_ ? "true" : "false");
      break;
    case Type::kInt:
      out->append(std::to_string(int_));
      break;
    case Type::kDouble: {
      if (!std::isfinite(double_)) {
        out->append("null");
        break;
      }
      char buf[32];
      snprintf(buf, sizeof buf, "%.17g", double_);
      out->append(buf);
      break;
    }
    case Type::kString:
      escape_to(str_, out);
      break;
    case Type::kArray: {
      out->push_back('[');
      for (size_t i = 0; i < items_.size(); ++i) {
        if (i) out->push_back(',');
        items_[i].dump_to(out);
      }
      out->push_back(']');
      break;
    }
    case Type::kObject: {
      out->push_back('{');
      for (size_t i = 0; i < members_.size(); ++i) {
        if (i) out->push_back(',');
        escape_to(members_[i].first, out);
        out->push_back(':');
        members_[i].second.dump_to(out);
      }
      out->push_back('}');
      break;
    }
  }
}

std::string Json::dump() const {
  std::string out;
  dump_to(&out);
  return out;
}

Result<Json> Json::parse(std::string_view text) {
  rapidjson::Document doc;
  // Exactly one value (whitespace around it allowed; anything else after it is an error).
  doc.Parse<rapidjson::kParseIterativeFlag>(text.data(), text.size());  // no recursion
  if (doc.HasParseError())
    return make_error(strprintf("invalid JSON at offset %zu: %s", doc.GetErrorOffset(),
                                rapidjson::GetParseError_En(doc.GetParseError())));
  return from_rapidjson(doc);
}

size_t json_value_extent(std::string_view t) {
  size_t i = 0;
  while (i < t.size() && is_space(t[i])) ++i;
  if (i == t.size()) return 0;
  char first = t[i];
  if (first == '{' || first == '[') {
    int depth = 0;
    bool in_string = false;
    for (; i < t.size(); ++i) {
      char c = t[i];
      if (in_string) {
        if (c == '\\') {
          ++i;
        } else if (c == '"') {
          in_string = false;
        }
        continue;
      }
      if (c == '"') {
        in_string = true;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ']') {
        if (--depth == 0) return i + 1;
      }
    }
    return 0;
  }
  return std::string_view::npos;  // MI requests are JSON objects
}

}  // namespace sipsd
