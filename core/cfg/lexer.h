// The cfg lexer: turns the flattened source into tokens, reporting errors to the CfgDiag.
#pragma once

#include <cstddef>
#include <string_view>

#include "core/cfg/diag.h"
#include "core/cfg/socket_spec.h"
#include "core/cfg/source.h"
#include "core/cfg/token.h"

namespace sipsd::cfg {

class Lexer {
 public:
  Lexer(const CfgSource& src, CfgDiag& diag);

  // The next token; kError after an error was reported (the caller should stop).
  Token next();

  // Character-level scan of "proto:host[:port]" starting at the current position (host syntax
  // is context dependent: IPv6, dotted names). Returns false after reporting an error.
  bool scan_socket(SocketSpec* out);
  // Scans "host[:port]" (the argument of the `as` socket option).
  bool scan_host_port(SocketSpec* out);
  // Scans "[proto:]host[:port]" (alias=): proto is left empty when the text does not start
  // with "udp:", "tcp:" or "tls:" (any case).
  bool scan_alias(SocketSpec* out);

 private:
  bool at_end() const { return pos_ >= text_.size(); }
  char peek_char(size_t ahead = 0) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }
  void advance();
  Loc loc_here() const;
  void finish(Token& t, Loc start);
  // Skips blanks, newlines, continuations and comments; false on an unterminated /* comment.
  bool skip_space();
  void skip_blanks();  // spaces and tabs only (inside a socket definition)
  Token error(Loc at, std::string_view message);

  Token lex_word();
  Token lex_number();
  Token lex_dq_string();
  Token lex_sq_string();
  Token lex_pv();
  Token lex_operator();
  bool scan_host(SocketSpec* out, bool allow_port);

  const CfgSource& src_;
  CfgDiag& diag_;
  std::string_view text_;
  size_t pos_ = 0;
  int line_ = 0;  // flattened line index
  int col_ = 1;
};

}  // namespace sipsd::cfg
