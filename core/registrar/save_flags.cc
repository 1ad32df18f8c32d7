#include "core/registrar/save_flags.h"

#include <charconv>

namespace sipsd::reg {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

template <class Fn>
bool each_flag(std::string_view text, std::string* why, Fn fn) {
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view f = trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (f.empty()) continue;
    std::string_view name = f, value;
    size_t eq = f.find('=');
    if (eq != std::string_view::npos) {
      name = trim(f.substr(0, eq));
      value = trim(f.substr(eq + 1));
    }
    if (!fn(name, value)) {
      *why = "unknown or bad flag '" + std::string(f) + "'";
      return false;
    }
  }
  return true;
}

bool to_int(std::string_view v, int64_t* out) {
  if (v.empty()) return false;
  auto r = std::from_chars(v.data(), v.data() + v.size(), *out);
  return r.ec == std::errc() && r.ptr == v.data() + v.size() && *out >= 0;
}

}  // namespace

bool parse_save_flags(std::string_view text, SaveFlags* out, std::string* why) {
  return each_flag(text, why, [out](std::string_view name, std::string_view value) {
    int64_t n = 0;
    if (name == "memory-only") {
      out->memory_only = true;
    } else if (name == "no-reply") {
      out->no_reply = true;
    } else if (name == "max-contacts") {
      if (!to_int(value, &n) || n > 1000000) return false;
      out->max_contacts = static_cast<int>(n);
    } else if (name == "force-registration") {
      out->force_registration = true;
    } else if (name == "path-off") {
      out->path = PathMode::kOff;
    } else if (name == "path-lazy") {
      out->path = PathMode::kLazy;
    } else if (name == "path-strict") {
      out->path = PathMode::kStrict;
    } else if (name == "path-received") {
      out->path_received = true;
    } else if (name == "only-request-contacts") {
      out->only_request_contacts = true;
    } else if (name == "min-expires") {
      if (!to_int(value, &n)) return false;
      out->min_expires = n;
    } else if (name == "max-expires") {
      if (!to_int(value, &n)) return false;
      out->max_expires = n;
    } else if (name == "matching-mode" || name == "socket-header") {
      // accepted: contact matching is by URI (matching-mode 0)
    } else {
      return false;
    }
    return true;
  });
}

bool parse_lookup_flags(std::string_view text, LookupFlags* out, std::string* why) {
  return each_flag(text, why, [out](std::string_view name, std::string_view) {
    if (name == "no-branches") {
      out->no_branches = true;
    } else if (name == "method-filtering") {
      out->method_filtering = true;
    } else if (name == "branch") {
      out->branch = true;
    } else if (name == "global") {
      out->global = true;
    } else if (name == "to-branches-only" || name == "case-insensitive" ||
               name == "extended-regexp" || name == "sort-by-latency" ||
               name == "max-ping-latency") {
      // accepted without effect
    } else {
      return false;
    }
    return true;
  });
}

}  // namespace sipsd::reg
