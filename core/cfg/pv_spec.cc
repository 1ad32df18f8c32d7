#include "core/cfg/pv_spec.h"

#include "core/cfg/char_class.h"

namespace sipsd::cfg {

namespace {

// text[i] == open: the index just past the matching close (nesting counted), or npos.
size_t skip_balanced(std::string_view text, size_t i, char open, char close) {
  int depth = 0;
  for (; i < text.size(); ++i) {
    if (text[i] == open) ++depth;
    if (text[i] == close && --depth == 0) return i + 1;
  }
  return std::string_view::npos;
}

size_t scan_name(std::string_view text, size_t i) {
  if (i >= text.size() || !(is_alpha(text[i]) || text[i] == '_')) return i;
  while (i < text.size() && is_word(text[i])) ++i;
  return i;
}

// name [ (arg) ] [ [index] ] starting at i; returns the index after it, npos on error.
size_t scan_body(std::string_view text, size_t i, PvSpec* out, std::string* why) {
  size_t end = scan_name(text, i);
  if (end == i) {
    *why = "script variable name expected after '$'";
    return std::string_view::npos;
  }
  out->name.assign(text.substr(i, end - i));
  i = end;
  if (i < text.size() && text[i] == '(') {
    size_t close = skip_balanced(text, i, '(', ')');
    if (close == std::string_view::npos) {
      *why = "unbalanced '(' in script variable";
      return close;
    }
    out->has_arg = true;
    out->arg.assign(text.substr(i + 1, close - i - 2));
    i = close;
  }
  if (i < text.size() && text[i] == '[') {
    size_t close = text.find(']', i);
    if (close == std::string_view::npos) {
      *why = "unbalanced '[' in script variable";
      return close;
    }
    out->has_index = true;
    out->index.assign(text.substr(i + 1, close - i - 1));
    i = close + 1;
  }
  return i;
}

}  // namespace

size_t parse_pv_spec(std::string_view text, PvSpec* out, std::string* why) {
  *out = PvSpec();
  why->clear();
  if (text.empty() || text[0] != '$') return 0;
  if (text.size() > 1 && text[1] == '(') {
    // $( name(arg)[index] {tr}... )
    size_t close = skip_balanced(text, 1, '(', ')');
    if (close == std::string_view::npos) {
      *why = "unbalanced '(' in script variable";
      return 0;
    }
    std::string_view inner = text.substr(2, close - 3);
    size_t i = scan_body(inner, 0, out, why);
    if (i == std::string_view::npos) return 0;
    while (i < inner.size() && inner[i] == '{') {
      size_t end = inner.find('}', i);
      if (end == std::string_view::npos) {
        *why = "unbalanced '{' in a transformation";
        return 0;
      }
      out->transforms.emplace_back(inner.substr(i + 1, end - i - 1));
      i = end + 1;
    }
    if (i != inner.size()) {
      *why = "unexpected text in script variable";
      return 0;
    }
    return close;
  }
  if (text.size() < 2 || !(is_alpha(text[1]) || text[1] == '_')) return 0;  // a lone '$'
  size_t i = scan_body(text, 1, out, why);
  return i == std::string_view::npos ? 0 : i;
}

std::string_view avp_param_name(std::string_view value) {
  std::string_view name = value;
  if (name.size() > 6 && name.substr(0, 5) == "$avp(" && name.back() == ')')
    name = name.substr(5, name.size() - 6);
  if (name.empty() || name.find_first_of("$() \t") != std::string_view::npos) return {};
  return name;
}

}  // namespace sipsd::cfg
