// The cfg source and its tokens: include_file flattening (OpenSIPS 3.x, line based), the
// error/warning collector every cfg stage reports to, and the lexer (reference A1, A2).
//
// The flattened text keeps a line table, so a position inside an included file names that file
// and its own line numbers. Columns are 1-based byte offsets; a tab counts as one column.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/cfg/config.h"
#include "core/base/result.h"

namespace sipsd::cfg {

// A place in the flattened source: a line index into CfgSource's line table, a 1-based column and
// the number of bytes to underline. line < 0 means "the whole file" (no source excerpt).
struct Loc {
  int line = -1;
  int col = 1;
  int len = 1;
};

// The cfg text after include_file / import_file expansion.
class CfgSource {
 public:
  static constexpr int kMaxIncludeDepth = 50;
  static constexpr size_t kMaxTotalSize = 64u << 20;  // after expansion

  // Reads `path` and expands its includes. Errors (unreadable file, missing include) are
  // formatted like every cfg error: "file:line:col: message" plus the offending line.
  static Result<CfgSource> from_file(const std::string& path);
  // The same for text in memory; `name` is used as its file name.
  static Result<CfgSource> from_text(std::string_view text, const std::string& name);

  const std::string& text() const { return text_; }
  const std::string& main_file() const { return files_.front().name; }
  int line_count() const { return static_cast<int>(lines_.size()); }

  // The original file, line and column of a flattened position ("main:1:1" for line < 0).
  CfgPos pos(Loc loc) const;
  // The text of a flattened line, without its newline (and a trailing '\r').
  std::string_view line_text(int line) const;
  // Byte offset of a flattened line in text().
  size_t line_offset(int line) const { return lines_[static_cast<size_t>(line)].offset; }
  // Where the file holding `line` was included from, innermost first ("a.cfg:3:1").
  std::vector<std::string> include_chain(int line) const;

 private:
  struct File {
    std::string name;
    int parent_file = -1;  // index of the including file, -1 for the main file
    int parent_line = 0;   // line and column of the include_file directive there
    int parent_col = 0;
  };
  struct Line {
    size_t offset;  // into text_
    int file;       // into files_
    int line;       // 1-based line number inside that file
  };
  class Flattener;

  std::string text_;
  std::vector<File> files_;
  std::vector<Line> lines_;
};

// "    <source line>\n    <caret line>" for the bytes [col, col+len) of `line`.
std::string format_excerpt(std::string_view line, int col, int len);

// Collects errors and warnings, each rendered as "file:line:col: message". The first error also
// gets the source line, a caret line under the offending token, and the include chain.
class CfgDiag {
 public:
  static constexpr int kMaxErrors = 20;

  explicit CfgDiag(const CfgSource& src) : src_(src) {}

  void error(Loc loc, std::string_view message);
  void warning(Loc loc, std::string_view message);

  int error_count() const { return error_count_; }
  // True once kMaxErrors errors have been reported: stop looking for more.
  bool too_many() const { return error_count_ >= kMaxErrors; }
  // All errors, one per line (the first followed by its excerpt).
  std::string error_text() const;
  const std::vector<std::string>& warnings() const { return warnings_; }
  const CfgSource& source() const { return src_; }
  std::string where(Loc loc) const { return src_.pos(loc).str(); }

 private:
  const CfgSource& src_;
  std::string errors_;
  int error_count_ = 0;
  std::vector<std::string> warnings_;
};

enum class Tok : uint8_t {
  kEof,
  kError,     // the lexer already reported the error to CfgDiag
  kId,        // letter { letter | digit | '_' }
  kNumber,    // decimal, 0x hex, 0 octal, yes/true/on/enable (1), no/false/off/disable (0)
  kString,    // "..." (escapes decoded) or '...' (raw)
  kPv,        // $name, $name(arg), $(...)  — the spelling, '$' included
  kAssign,    // =
  kAssignOp,  // := += -= *= /= %= &= |= ^=  (text holds which)
  kEq,        // ==
  kNe,        // !=
  kMatch,     // =~
  kNotMatch,  // !~
  kLt,
  kGt,
  kLe,
  kGe,
  kAndAnd,  // &&
  kOrOr,    // ||
  kNot,     // !
  kLParen,
  kRParen,
  kLBrace,
  kRBrace,
  kLBracket,
  kRBracket,
  kSemi,
  kComma,
  kColon,
  kDot,
  kPlus,
  kMinus,
  kStar,
  kSlash,
  kPercent,
  kAmp,
  kPipe,
  kCaret,
  kTilde,
  kShl,
  kShr,
};

// A short description for messages: "'=='", "identifier", "end of file", ...
const char* tok_name(Tok kind);

struct Token {
  Tok kind = Tok::kEof;
  // kId, kPv, kNumber: the spelling. kString: the decoded value. Operators: the operator.
  std::string text;
  int64_t num = 0;   // kNumber
  bool raw = false;  // kString written with single quotes
  Loc loc;           // first byte; len covers the token (up to the end of its first line)
  Loc end;           // just past the last byte (len unused)
};

// What `socket=` / `listen=` hold up to the options: PROTO ":" HOST [ ":" PORT ].
struct SocketSpec {
  std::string proto;  // as written
  Loc proto_loc;
  std::string host;  // IPv6 without brackets, quotes removed, "*" for any
  Loc host_loc;
  bool has_port = false;
  int64_t port = 0;
  Loc port_loc;
};

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
