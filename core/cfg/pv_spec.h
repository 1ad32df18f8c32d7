// Script variable spellings (OpenSIPS 3.x): "$name", "$name(arg)", "$name(arg)[index]" and the
// full form "$(name(arg)[index]{transformation}...)". Syntax only: the compiler looks the name
// up in the schema.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace sipsd::cfg {

struct PvSpec {
  std::string name;  // "rm", "hdr", "var"
  bool has_arg = false;
  std::string arg;  // what is inside the parentheses, as written
  bool has_index = false;
  std::string index;                    // what is inside [ ], as written: "0", "-1", "*"
  std::vector<std::string> transforms;  // what is inside each { }: "s.substr,1,2"
};

// Parses the variable at the start of `text` (text[0] == '$'). Returns the number of bytes it
// spans, or 0 when it is not well formed (*why says how). In the short form the name ends at the
// first character that is not a letter, digit or '_'; "$" followed by anything else is 0 with
// *why empty (a lone '$', which format strings keep as text).
size_t parse_pv_spec(std::string_view text, PvSpec* out, std::string* why);

// A modparam that names an AVP (registrar's received_avp, tls_mgm's client_*_domain_avp):
// "name" or "$avp(name)" gives the name; "" when it is neither.
std::string_view avp_param_name(std::string_view value);

}  // namespace sipsd::cfg
