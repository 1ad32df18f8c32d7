// The flag strings of registrar's save() and lookup() (OpenSIPS 3.x, comma-separated).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sipsd::reg {

enum class PathMode : uint8_t { kOff, kLazy, kStrict };

struct SaveFlags {
  bool memory_only = false;
  bool no_reply = false;
  int max_contacts = -1;  // max-contacts=N (-1: the modparam)
  bool force_registration = false;
  PathMode path = PathMode::kOff;
  bool path_received = false;
  bool only_request_contacts = false;
  int64_t min_expires = -1;  // min-expires=N / max-expires=N (-1: the modparams)
  int64_t max_expires = -1;
};

struct LookupFlags {
  bool no_branches = false;
  bool method_filtering = false;
  bool branch = false;  // "branch": only the contacts of the branch (treated as no flag)
  bool global = false;
};

// Parses a flag string; an unknown flag is an error (*why says which).
bool parse_save_flags(std::string_view text, SaveFlags* out, std::string* why);
bool parse_lookup_flags(std::string_view text, LookupFlags* out, std::string* why);

}  // namespace sipsd::reg
