// printable(): the one escaper for strings that came from the network or a file (SNI,
// certificate subjects and SANs, SIP header values and URIs, MI input) on their way into a log
// line or a human table. The result is one line that cannot move the cursor, change the
// terminal's state, close a quoted field early or be mistaken for another log line:
//
//   \n \r \t \\ \" \'           C escapes
//   other bytes < 0x20, DEL      \xNN (NUL included: \x00)
//   bytes >= 0x80                kept when they form well-formed UTF-8 (shortest form, no
//                                surrogates, at most U+10FFFF), so non-ASCII subject names stay
//                                readable, EXCEPT the code points a terminal or an editor acts
//                                on: C1 controls U+0080-U+009F (a UTF-8 terminal may take
//                                U+009B as CSI), U+2028/U+2029 (line/paragraph separators) and
//                                the bidi controls U+200E/F, U+202A-U+202E, U+2066-U+2069
//                                ("Trojan source"); those, and every byte that is not part of
//                                well-formed UTF-8, become \xNN per byte
//
// At most `max_bytes` input bytes are shown; a longer input ends with "...[+N bytes]" (N the
// bytes not shown), so a 64 KiB header cannot flood a log line. Escaping never splits a UTF-8
// sequence or an escape.
//
// The logger applies escape_controls() to every finished line as a last line of defence (a
// line is always one line, whatever a caller interpolated), with the same byte classes but
// keeping backslash, quotes and TAB, so printable() text passes through it unchanged.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sipsd {

// Enough for a 255-byte SNI or a long Request-URI; table cells pass kPrintableAll.
inline constexpr size_t kPrintableMax = 256;
inline constexpr size_t kPrintableAll = static_cast<size_t>(-1);

// kKeep: backslash and quotes stay as they are (free text on a terminal, where nothing is
// delimited by quotes); everything else is escaped as above.
enum class Quotes : bool { kEscape, kKeep };

std::string printable(std::string_view s, size_t max_bytes = kPrintableMax,
                      Quotes quotes = Quotes::kEscape);
void append_printable(std::string* out, std::string_view s, size_t max_bytes = kPrintableMax,
                      Quotes quotes = Quotes::kEscape);

// True when `s` holds a byte that printable() would escape for any reason other than a
// backslash or a quote (control bytes, ill-formed UTF-8, C1/bidi/separator code points).
bool needs_control_escape(std::string_view s);
// `s` with only those bytes escaped (\n \r as C escapes, the rest \xNN); TAB, backslash and
// quotes stay. For the logger's whole-line check.
std::string escape_controls(std::string_view s);

}  // namespace sipsd
