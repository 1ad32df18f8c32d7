// Address header values (RFC 3261 §20.10 Contact, §20.20 From, §20.39 To, §20.30 Record-Route,
// §20.34 Route; also Path, Refer-To, Reply-To, P-Asserted-Identity) and comma-separated header
// lists (§7.3.1).
//
// Nothing here allocates or recurses; each function is linear in its input and reads only inside
// it. Views point into the parsed text (for a Message: its buffer).
#pragma once

#include <cstdint>
#include <string_view>

namespace sipsd::sip {

// Splits one header value into its comma-separated elements (RFC 3261 §7.3.1). A comma inside a
// quoted string (with \-escapes) or inside <...> does not split.
//   for (ListSplitter s(h.value); s.next(&element);) { ... }
//   if (s.failed()) ...
// An empty (or all-whitespace) value has no elements and is not an error; an empty element
// ("a,,b", "a,", ",a"), an unterminated quoted string or a '<' without '>' is: next() then
// returns false and failed() is true.
class ListSplitter {
 public:
  explicit ListSplitter(std::string_view value) : s_(value) {}

  // The next element, without surrounding whitespace. False at the end or on an error.
  bool next(std::string_view* element);
  bool failed() const { return failed_; }
  // Where the next element starts (s.size() at the end): remove an element with its comma by
  // cutting from its start to here.
  size_t position() const { return pos_; }

 private:
  std::string_view s_;
  size_t pos_ = 0;
  bool after_comma_ = false;  // the last element returned ended at a comma
  bool failed_ = false;
};

// Which grammar an address value follows.
enum class AddrForm : uint8_t {
  // name-addr or addr-spec, then generic parameters: From, To, Refer-To, Reply-To, P-Asserted-
  // Identity. In the addr-spec form the ';params' belong to the header, not the URI (§20.10).
  kFromTo,
  // name-addr only (route-param = name-addr *( SEMI rr-param )): Route, Record-Route, Path.
  kRoute,
  // "*" alone, or name-addr / addr-spec with contact-params; q and expires are checked. A "*"
  // with parameters or in <> is an error.
  kContact,
};

struct NameAddr {
  std::string_view value;         // the whole element, trimmed
  std::string_view display_name;  // as received, quotes included; "" when none
  std::string_view uri;           // inside <...>, or the bare addr-spec; not parsed (parse_uri)
  std::string_view params;        // header parameters from the first ';' ("" when none)
  std::string_view tag;           // value of the first tag= parameter
  // kContact only. expires= in seconds, values above 2^32-1 taken as 2^32-1 (§10.2.1.1); -1 when
  // absent. A value that is not delta-seconds is taken as 3600 (§20.10) and flagged.
  int64_t expires = -1;
  // kContact only. q= as an integer 0..1000 (q=0.5 -> 500); -1 when absent.
  int q = -1;
  bool has_tag = false;
  bool angle_brackets = false;  // uri came from <...>
  bool star = false;            // kContact: the value is "*" (all other fields empty)
  bool expires_malformed = false;

  // Case-insensitive lookup of a header parameter (";tag=", ";+sip.instance=", ";reg-id=",
  // ";received=", ...). True when present; *value is its value as received (a quoted string keeps
  // its quotes), "" for a parameter without '='. The first of repeated names wins.
  bool param(std::string_view name, std::string_view* value_out = nullptr) const;
};

// Parses one element (as ListSplitter yields it; for From/To the whole value) in the given form.
// On an error returns false, sets *why (when not null) to a static reason ("Missing '>'",
// "Bad q value", ...) and leaves *out holding what was parsed before it.
// Judged: balanced quotes and angle brackets, a non-empty URI, a bare addr-spec without
// whitespace or quotes, well-formed parameters, nothing after the address but parameters; kRoute
// needs <...>; kContact checks q (qvalue, §25.1) and accepts "*". Not judged: the display name's
// characters, the URI (parse_uri does that when the caller needs it).
bool parse_name_addr(std::string_view element, AddrForm form, NameAddr* out,
                     const char** why = nullptr);

// qvalue (RFC 3261 §25.1: "0" [ "." 0*3DIGIT ] / "1" [ "." 0*3("0") ]) as 0..1000.
bool parse_qvalue(std::string_view s, int* out);

}  // namespace sipsd::sip
