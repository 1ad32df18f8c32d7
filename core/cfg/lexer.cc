#include "core/cfg/lexer.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <limits>

namespace sipsd::cfg {

namespace {

bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alnum(char c) {
  return is_alpha(c) || is_digit(c);
}
bool is_word(char c) {
  return is_alnum(c) || c == '_';
}
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool is_octal(char c) {
  return c >= '0' && c <= '7';
}
int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

// Characters that end a $pv token at parenthesis depth 0 besides whitespace (reference A2).
bool ends_pv(char c) {
  static constexpr std::string_view kEnders = " \t\r\n\b;,){}\"'=+-*/%&|^~<>!";
  return kEnders.find(c) != std::string_view::npos;
}

std::string describe_char(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u >= 0x21 && u < 0x7f) return strprintf("unexpected character '%c'", c);
  return strprintf("unexpected byte 0x%02x", u);
}

bool valid_ipv4(const std::string& s) {
  in_addr a;
  return inet_pton(AF_INET, s.c_str(), &a) == 1;
}

bool valid_ipv6(const std::string& s) {
  in6_addr a;
  return inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_digit);
}

// A hostname as OpenSIPS writes them: labels joined by '.', each made of letters, digits, '_'
// and '-'.
bool valid_hostname(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  bool label_empty = true;
  for (char c : s) {
    if (c == '.') {
      if (label_empty) return false;
      label_empty = true;
    } else if (is_word(c) || c == '-') {
      label_empty = false;
    } else {
      return false;
    }
  }
  return !label_empty;
}

Result<std::string> read_whole_file(const std::string& path) {
  // O_NONBLOCK: opening a FIFO or reading a device-like /proc file must not hang the load.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return make_error(strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return make_error("not a regular file");
  }
  if (static_cast<uint64_t>(st.st_size) > CfgSource::kMaxTotalSize) {
    ::close(fd);
    return make_error("file too large");
  }
  std::string data;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return make_error(strerror(e));
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > CfgSource::kMaxTotalSize) {
      ::close(fd);
      return make_error("file too large");
    }
  }
  ::close(fd);
  return data;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Source and include flattening

std::string format_excerpt(std::string_view line, int col, int len) {
  constexpr size_t kWidth = 160;
  size_t c0 = col > 0 ? static_cast<size_t>(col - 1) : 0;
  size_t start = 0;
  std::string out = "    ";
  if (c0 > kWidth - 40) {
    start = c0 - 40;
    out += "...";
  }
  std::string_view shown = line.substr(std::min(start, line.size()), kWidth);
  for (char c : shown) {
    auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 && c != '\t') || u == 0x7f ? '?' : c;
  }
  if (start + shown.size() < line.size()) out += "...";
  out += "\n    ";
  if (start > 0) out += "   ";
  for (size_t i = start; i < c0; ++i) out += (i < line.size() && line[i] == '\t') ? '\t' : ' ';
  out += '^';
  size_t avail = c0 < line.size() ? line.size() - c0 : 1;
  size_t n = std::min({static_cast<size_t>(std::max(len, 1)), avail, kWidth});
  out.append(n - 1, '~');
  return out;
}

class CfgSource::Flattener {
 public:
  explicit Flattener(CfgSource& out) : out_(out) {}

  Status add(const std::string& name, std::string_view content, int parent_file, int parent_line,
             int parent_col, int depth) {
    const int file = static_cast<int>(out_.files_.size());
    out_.files_.push_back(File{name, parent_file, parent_line, parent_col});
    int lineno = 0;
    size_t p = 0;
    while (p < content.size()) {
      size_t nl = content.find('\n', p);
      std::string_view line =
          content.substr(p, nl == std::string_view::npos ? std::string_view::npos : nl - p);
      p = nl == std::string_view::npos ? content.size() : nl + 1;
      ++lineno;
      bool is_directive = false;
      Status st = directive(file, name, line, lineno, depth, &is_directive);
      if (!st.ok()) return st;
      if (is_directive) continue;
      if (out_.text_.size() + line.size() + 1 > kMaxTotalSize) {
        return fail(file, line, lineno, 1, 1,
                    "the configuration is too large after include_file expansion");
      }
      out_.lines_.push_back(Line{out_.text_.size(), file, lineno});
      out_.text_.append(line);
      out_.text_ += '\n';
    }
    return Status::Ok();
  }

 private:
  // A line whose first non-blank text is `include_file "path"` or `import_file "path"` is
  // replaced whole by the file (anything after the closing quote is ignored, as in OpenSIPS 3.x).
  Status directive(int file, const std::string& name, std::string_view line, int lineno, int depth,
                   bool* is_directive) {
    size_t i = 0;
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    std::string_view keyword;
    for (std::string_view kw :
         {std::string_view("include_file"), std::string_view("import_file")}) {
      if (line.substr(i).starts_with(kw)) {
        size_t j = i + kw.size();
        if (j == line.size() || line[j] == ' ' || line[j] == '\t' || line[j] == '"' ||
            line[j] == '\'' || line[j] == '\r') {
          keyword = kw;
        }
      }
    }
    if (keyword.empty()) return Status::Ok();
    *is_directive = true;
    const int kw_col = static_cast<int>(i) + 1;
    size_t j = i + keyword.size();
    while (j < line.size() && (line[j] == ' ' || line[j] == '\t')) ++j;
    if (j >= line.size() || (line[j] != '"' && line[j] != '\'')) {
      return fail(file, line, lineno, static_cast<int>(j) + 1, 1,
                  strprintf("%.*s: a quoted file name is expected",
                            static_cast<int>(keyword.size()), keyword.data()));
    }
    const int path_col = static_cast<int>(j) + 1;
    size_t close = line.find(line[j], j + 1);
    if (close == std::string_view::npos) {
      return fail(file, line, lineno, path_col, 1,
                  "unterminated file name (missing closing quote)");
    }
    std::string path(line.substr(j + 1, close - j - 1));
    const int path_len = static_cast<int>(close - j + 1);
    if (path.empty() || path.find('\0') != std::string::npos) {
      return fail(file, line, lineno, path_col, path_len, "invalid include file name");
    }
    if (depth + 1 > kMaxIncludeDepth) {
      return fail(file, line, lineno, kw_col, static_cast<int>(keyword.size()),
                  strprintf("too many nested include files (at most %d)", kMaxIncludeDepth));
    }
    std::string resolved = resolve_cfg_path(path, CfgPos{name, lineno, path_col});
    Result<std::string> content = read_whole_file(resolved);
    if (!content.ok()) {
      return fail(file, line, lineno, path_col, path_len,
                  strprintf("failed to open included file '%s': %s", resolved.c_str(),
                            content.message().c_str()));
    }
    return add(resolved, *content, file, lineno, kw_col, depth + 1);
  }

  Status fail(int file, std::string_view line, int lineno, int col, int len,
              const std::string& message) {
    const File& f = out_.files_[static_cast<size_t>(file)];
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::string text = strprintf("%s:%d:%d: %s\n", f.name.c_str(), lineno, col, message.c_str());
    text += format_excerpt(line, col, len);
    for (int p = file; out_.files_[static_cast<size_t>(p)].parent_file >= 0;) {
      const File& cur = out_.files_[static_cast<size_t>(p)];
      const File& parent = out_.files_[static_cast<size_t>(cur.parent_file)];
      text += strprintf("\n    included from %s:%d:%d", parent.name.c_str(), cur.parent_line,
                        cur.parent_col);
      p = cur.parent_file;
    }
    return make_error(text);
  }

  CfgSource& out_;
};

Result<CfgSource> CfgSource::from_text(std::string_view text, const std::string& name) {
  CfgSource src;
  Flattener flat(src);
  Status st = flat.add(name, text, -1, 0, 0, 0);
  if (!st.ok()) return make_error(st.message());
  return src;
}

Result<CfgSource> CfgSource::from_file(const std::string& path) {
  Result<std::string> content = read_whole_file(path);
  if (!content.ok()) {
    return make_error(
        strprintf("%s: cannot read config file: %s", path.c_str(), content.message().c_str()));
  }
  return from_text(*content, path);
}

CfgPos CfgSource::pos(Loc loc) const {
  if (loc.line < 0 || lines_.empty()) return CfgPos{main_file(), 1, 1};
  const Line& l = lines_[std::min(static_cast<size_t>(loc.line), lines_.size() - 1)];
  return CfgPos{files_[static_cast<size_t>(l.file)].name, l.line, loc.col};
}

std::string_view CfgSource::line_text(int line) const {
  if (line < 0 || static_cast<size_t>(line) >= lines_.size()) return {};
  size_t b = lines_[static_cast<size_t>(line)].offset;
  size_t e = text_.find('\n', b);
  if (e == std::string::npos) e = text_.size();
  std::string_view s(text_.data() + b, e - b);
  if (!s.empty() && s.back() == '\r') s.remove_suffix(1);
  return s;
}

std::vector<std::string> CfgSource::include_chain(int line) const {
  std::vector<std::string> out;
  if (line < 0 || static_cast<size_t>(line) >= lines_.size()) return out;
  for (int f = lines_[static_cast<size_t>(line)].file;
       files_[static_cast<size_t>(f)].parent_file >= 0;) {
    const File& cur = files_[static_cast<size_t>(f)];
    out.push_back(strprintf("%s:%d:%d", files_[static_cast<size_t>(cur.parent_file)].name.c_str(),
                            cur.parent_line, cur.parent_col));
    f = cur.parent_file;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Diagnostics

void CfgDiag::error(Loc loc, std::string_view message) {
  if (too_many()) return;
  std::string text = where(loc);
  text += ": ";
  text.append(message);
  if (error_count_ == 0 && loc.line >= 0) {
    text += '\n';
    text += format_excerpt(src_.line_text(loc.line), loc.col, loc.len);
    for (const std::string& inc : src_.include_chain(loc.line))
      text += "\n    included from " + inc;
  }
  if (!errors_.empty()) errors_ += '\n';
  errors_ += text;
  ++error_count_;
}

void CfgDiag::warning(Loc loc, std::string_view message) {
  std::string text = where(loc);
  text += ": ";
  text.append(message);
  warnings_.push_back(std::move(text));
}

std::string CfgDiag::error_text() const {
  if (!too_many()) return errors_;
  return errors_ +
         strprintf("\n%s: too many errors (%d), giving up", src_.main_file().c_str(), kMaxErrors);
}

// ---------------------------------------------------------------------------------------------
// Lexer

const char* tok_name(Tok kind) {
  switch (kind) {
    case Tok::kEof:
      return "end of file";
    case Tok::kError:
      return "error";
    case Tok::kId:
      return "identifier";
    case Tok::kNumber:
      return "number";
    case Tok::kString:
      return "string";
    case Tok::kPv:
      return "script variable";
    case Tok::kAssign:
      return "'='";
    case Tok::kAssignOp:
      return "assignment operator";
    case Tok::kEq:
      return "'=='";
    case Tok::kNe:
      return "'!='";
    case Tok::kMatch:
      return "'=~'";
    case Tok::kNotMatch:
      return "'!~'";
    case Tok::kLt:
      return "'<'";
    case Tok::kGt:
      return "'>'";
    case Tok::kLe:
      return "'<='";
    case Tok::kGe:
      return "'>='";
    case Tok::kAndAnd:
      return "'&&'";
    case Tok::kOrOr:
      return "'||'";
    case Tok::kNot:
      return "'!'";
    case Tok::kLParen:
      return "'('";
    case Tok::kRParen:
      return "')'";
    case Tok::kLBrace:
      return "'{'";
    case Tok::kRBrace:
      return "'}'";
    case Tok::kLBracket:
      return "'['";
    case Tok::kRBracket:
      return "']'";
    case Tok::kSemi:
      return "';'";
    case Tok::kComma:
      return "','";
    case Tok::kColon:
      return "':'";
    case Tok::kDot:
      return "'.'";
    case Tok::kPlus:
      return "'+'";
    case Tok::kMinus:
      return "'-'";
    case Tok::kStar:
      return "'*'";
    case Tok::kSlash:
      return "'/'";
    case Tok::kPercent:
      return "'%'";
    case Tok::kAmp:
      return "'&'";
    case Tok::kPipe:
      return "'|'";
    case Tok::kCaret:
      return "'^'";
    case Tok::kTilde:
      return "'~'";
    case Tok::kShl:
      return "'<<'";
    case Tok::kShr:
      return "'>>'";
  }
  return "token";
}

Lexer::Lexer(const CfgSource& src, CfgDiag& diag) : src_(src), diag_(diag), text_(src.text()) {}

void Lexer::advance() {
  if (at_end()) return;
  if (text_[pos_] == '\n') {
    ++line_;
    col_ = 1;
  } else {
    ++col_;
  }
  ++pos_;
}

Loc Lexer::loc_here() const {
  if (line_ < src_.line_count()) return Loc{line_, col_, 1};
  // At the end of the text: point just after the last line.
  if (src_.line_count() == 0) return Loc{};
  int last = src_.line_count() - 1;
  return Loc{last, static_cast<int>(src_.line_text(last).size()) + 1, 1};
}

void Lexer::finish(Token& t, Loc start) {
  t.loc = start;
  t.end = loc_here();
  if (t.end.line == start.line) {
    t.loc.len = std::max(1, t.end.col - start.col);
  } else {
    int rest = static_cast<int>(src_.line_text(start.line).size()) - start.col + 1;
    t.loc.len = std::max(1, rest);
  }
}

Token Lexer::error(Loc at, std::string_view message) {
  diag_.error(at, message);
  Token t;
  t.kind = Tok::kError;
  t.loc = at;
  t.end = at;
  return t;
}

bool Lexer::skip_space() {
  while (!at_end()) {
    char c = peek_char();
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\b') {
      advance();
    } else if (c == '\\' && peek_char(1) == '\n') {
      advance();
      advance();
    } else if (c == '\\' && peek_char(1) == '\r' && peek_char(2) == '\n') {
      advance();
      advance();
      advance();
    } else if (c == '#') {
      while (!at_end() && peek_char() != '\n') advance();
    } else if (c == '/' && peek_char(1) == '*') {
      // Block comments nest: /* a /* b */ c */ is one comment.
      Loc start = loc_here();
      start.len = 2;
      int depth = 0;
      for (;;) {
        if (at_end()) {
          diag_.error(start, "unterminated comment (missing '*/')");
          return false;
        }
        if (peek_char() == '/' && peek_char(1) == '*') {
          ++depth;
          advance();
          advance();
        } else if (peek_char() == '*' && peek_char(1) == '/') {
          advance();
          advance();
          if (--depth == 0) break;
        } else {
          advance();
        }
      }
    } else {
      break;
    }
  }
  return true;
}

void Lexer::skip_blanks() {
  while (!at_end() && (peek_char() == ' ' || peek_char() == '\t')) advance();
}

Token Lexer::next() {
  if (!skip_space()) {
    Token t;
    t.kind = Tok::kError;
    return t;
  }
  if (at_end()) {
    Token t;
    t.kind = Tok::kEof;
    t.loc = loc_here();
    t.end = t.loc;
    return t;
  }
  char c = peek_char();
  if (is_alpha(c)) return lex_word();
  if (is_digit(c)) return lex_number();
  if (c == '"') return lex_dq_string();
  if (c == '\'') return lex_sq_string();
  if (c == '$') return lex_pv();
  return lex_operator();
}

Token Lexer::lex_word() {
  Loc start = loc_here();
  size_t b = pos_;
  while (!at_end() && is_word(peek_char())) advance();
  Token t;
  t.kind = Tok::kId;
  t.text.assign(text_.substr(b, pos_ - b));
  static constexpr std::string_view kTrue[] = {"yes", "true", "on", "enable"};
  static constexpr std::string_view kFalse[] = {"no", "false", "off", "disable"};
  for (std::string_view w : kTrue) {
    if (t.text == w) {
      t.kind = Tok::kNumber;
      t.num = 1;
    }
  }
  for (std::string_view w : kFalse) {
    if (t.text == w) {
      t.kind = Tok::kNumber;
      t.num = 0;
    }
  }
  finish(t, start);
  return t;
}

Token Lexer::lex_number() {
  Loc start = loc_here();
  size_t b = pos_;
  bool hex = peek_char() == '0' && (peek_char(1) == 'x' || peek_char(1) == 'X');
  if (hex) {
    advance();
    advance();
    while (!at_end() && is_hex(peek_char())) advance();
  } else {
    while (!at_end() && is_digit(peek_char())) advance();
  }
  bool junk = false;
  while (!at_end() && is_word(peek_char())) {
    junk = true;
    advance();
  }
  std::string spelling(text_.substr(b, pos_ - b));
  start.len = static_cast<int>(pos_ - b);
  if (junk || (hex && spelling.size() == 2)) {
    return error(start, strprintf("invalid number '%s'", spelling.c_str()));
  }
  uint64_t value = 0;
  int base = 10;
  std::string_view digits = spelling;
  if (hex) {
    base = 16;
    digits.remove_prefix(2);
  } else if (spelling.size() > 1 && spelling[0] == '0') {
    base = 8;
    digits.remove_prefix(1);
    if (!std::all_of(digits.begin(), digits.end(), is_octal)) {
      return error(start, strprintf("invalid octal number '%s'", spelling.c_str()));
    }
  }
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value, base);
  if (ec != std::errc() || ptr != digits.data() + digits.size() ||
      value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return error(start, strprintf("number '%s' is too large", spelling.c_str()));
  }
  Token t;
  t.kind = Tok::kNumber;
  t.text = std::move(spelling);
  t.num = static_cast<int64_t>(value);
  finish(t, start);
  return t;
}

Token Lexer::lex_dq_string() {
  Loc start = loc_here();
  advance();  // the opening quote
  std::string v;
  for (;;) {
    if (at_end()) return error(start, "unterminated string (missing closing '\"')");
    char c = peek_char();
    if (c == '"') {
      advance();
      break;
    }
    if (c != '\\') {
      v += c;
      advance();
      continue;
    }
    char n = peek_char(1);
    char decoded = 0;
    switch (n) {
      case 'n':
        decoded = '\n';
        break;
      case 'r':
        decoded = '\r';
        break;
      case 'a':
        decoded = '\a';
        break;
      case 't':
        decoded = '\t';
        break;
      case '"':
        decoded = '"';
        break;
      case '\\':
        decoded = '\\';
        break;
      default:
        break;
    }
    if (decoded != 0) {
      v += decoded;
      advance();
      advance();
    } else if (n == '\n') {  // an escaped newline continues the string
      advance();
      advance();
    } else if (n == 'x' && is_hex(peek_char(2))) {
      int value = hex_value(peek_char(2));
      size_t used = 3;
      if (is_hex(peek_char(3))) {
        value = value * 16 + hex_value(peek_char(3));
        used = 4;
      }
      v += static_cast<char>(value);
      for (size_t i = 0; i < used; ++i) advance();
    } else if (is_octal(n) && is_octal(peek_char(2))) {
      // \NN or \NNN; a single-digit \N stays as written (regex back-references).
      int value = (n - '0') * 8 + (peek_char(2) - '0');
      size_t used = 3;
      if (is_octal(peek_char(3))) {
        value = value * 8 + (peek_char(3) - '0');
        used = 4;
      }
      v += static_cast<char>(value & 0xff);
      for (size_t i = 0; i < used; ++i) advance();
    } else {
      v += '\\';  // unknown escape: keep the backslash, the next character follows as is
      advance();
    }
  }
  Token t;
  t.kind = Tok::kString;
  t.text = std::move(v);
  finish(t, start);
  if (t.text.find('\0') != std::string::npos) return error(t.loc, "NUL byte in string");
  return t;
}

Token Lexer::lex_sq_string() {
  Loc start = loc_here();
  advance();
  size_t b = pos_;
  while (!at_end() && peek_char() != '\'') advance();
  if (at_end()) return error(start, "unterminated string (missing closing \"'\")");
  Token t;
  t.kind = Tok::kString;
  t.raw = true;
  t.text.assign(text_.substr(b, pos_ - b));
  advance();
  finish(t, start);
  if (t.text.find('\0') != std::string::npos) return error(t.loc, "NUL byte in string");
  return t;
}

Token Lexer::lex_pv() {
  Loc start = loc_here();
  size_t b = pos_;
  advance();  // '$'
  int depth = 0;
  while (!at_end()) {
    char c = peek_char();
    if (c == '\n') break;
    if (depth == 0 && ends_pv(c)) break;
    if (c == '(') ++depth;
    if (c == ')') --depth;
    advance();
  }
  Token t;
  t.kind = Tok::kPv;
  t.text.assign(text_.substr(b, pos_ - b));
  finish(t, start);
  if (depth > 0) return error(t.loc, "unbalanced '(' in script variable");
  if (t.text.size() == 1) return error(t.loc, "script variable name expected after '$'");
  return t;
}

Token Lexer::lex_operator() {
  struct Op {
    std::string_view text;
    Tok kind;
  };
  // Two-character operators first: the longest match wins.
  static constexpr Op kOps[] = {
      {"==", Tok::kEq},       {"=~", Tok::kMatch},    {"!=", Tok::kNe},
      {"!~", Tok::kNotMatch}, {"<=", Tok::kLe},       {"<<", Tok::kShl},
      {">=", Tok::kGe},       {">>", Tok::kShr},      {"&&", Tok::kAndAnd},
      {"||", Tok::kOrOr},     {":=", Tok::kAssignOp}, {"+=", Tok::kAssignOp},
      {"-=", Tok::kAssignOp}, {"*=", Tok::kAssignOp}, {"/=", Tok::kAssignOp},
      {"%=", Tok::kAssignOp}, {"&=", Tok::kAssignOp}, {"|=", Tok::kAssignOp},
      {"^=", Tok::kAssignOp}, {"=", Tok::kAssign},    {"!", Tok::kNot},
      {"<", Tok::kLt},        {">", Tok::kGt},        {"&", Tok::kAmp},
      {"|", Tok::kPipe},      {"+", Tok::kPlus},      {"-", Tok::kMinus},
      {"*", Tok::kStar},      {"/", Tok::kSlash},     {"%", Tok::kPercent},
      {"^", Tok::kCaret},     {":", Tok::kColon},     {"~", Tok::kTilde},
      {"(", Tok::kLParen},    {")", Tok::kRParen},    {"{", Tok::kLBrace},
      {"}", Tok::kRBrace},    {"[", Tok::kLBracket},  {"]", Tok::kRBracket},
      {";", Tok::kSemi},      {",", Tok::kComma},     {".", Tok::kDot},
  };
  Loc start = loc_here();
  std::string_view rest = text_.substr(pos_);
  if (rest.starts_with("//")) {
    start.len = 2;
    return error(start, "'//' is not a comment in the cfg language (use '#' or /* ... */)");
  }
  for (const Op& op : kOps) {
    if (!rest.starts_with(op.text)) continue;
    Token t;
    t.kind = op.kind;
    t.text.assign(op.text);
    for (size_t i = 0; i < op.text.size(); ++i) advance();
    finish(t, start);
    return t;
  }
  return error(start, describe_char(peek_char()));
}

// ---------------------------------------------------------------------------------------------
// socket= / listen= definitions

bool Lexer::scan_socket(SocketSpec* out) {
  if (!skip_space()) return false;
  Loc start = loc_here();
  size_t b = pos_;
  if (!at_end() && is_alpha(peek_char())) {
    while (!at_end() && is_word(peek_char())) advance();
  }
  if (pos_ == b) {
    diag_.error(start,
                "protocol expected in socket definition (syntax: proto:host[:port], "
                "e.g. tls:127.0.0.1:5061)");
    return false;
  }
  out->proto.assign(text_.substr(b, pos_ - b));
  out->proto_loc = start;
  out->proto_loc.len = static_cast<int>(pos_ - b);
  skip_blanks();
  if (peek_char() != ':') {
    Loc at = loc_here();
    diag_.error(at, strprintf("':' expected after protocol '%s' (syntax: proto:host[:port])",
                              out->proto.c_str()));
    return false;
  }
  advance();
  skip_blanks();
  return scan_host(out, true);
}

bool Lexer::scan_host_port(SocketSpec* out) {
  if (!skip_space()) return false;
  return scan_host(out, true);
}

bool Lexer::scan_host(SocketSpec* out, bool allow_port) {
  Loc hstart = loc_here();
  size_t b = pos_;
  char c = peek_char();
  bool port_follows_colon = true;  // for bracketed, quoted and '*' hosts
  if (c == '[') {
    advance();
    while (!at_end() && peek_char() != ']' && peek_char() != '\n') advance();
    if (peek_char() != ']') {
      diag_.error(hstart, "missing ']' after IPv6 address");
      return false;
    }
    out->host.assign(text_.substr(b + 1, pos_ - b - 1));
    advance();
    hstart.len = static_cast<int>(pos_ - b);
    if (!valid_ipv6(out->host)) {
      diag_.error(hstart, strprintf("invalid IPv6 address '%s'", out->host.c_str()));
      return false;
    }
  } else if (c == '"' || c == '\'') {
    Token t = c == '"' ? lex_dq_string() : lex_sq_string();
    if (t.kind == Tok::kError) return false;
    hstart = t.loc;
    if (t.text.empty()) {
      diag_.error(hstart, "empty host name");
      return false;
    }
    out->host = std::move(t.text);
  } else if (c == '*') {
    advance();
    out->host = "*";
  } else {
    while (!at_end() && (is_word(peek_char()) || peek_char() == '.' || peek_char() == '-' ||
                         peek_char() == ':')) {
      advance();
    }
    std::string run(text_.substr(b, pos_ - b));
    hstart.len = std::max(1, static_cast<int>(run.size()));
    if (run.empty()) {
      diag_.error(hstart, "host expected (IPv4, [IPv6], hostname, '*' or a quoted string)");
      return false;
    }
    size_t colons = static_cast<size_t>(std::count(run.begin(), run.end(), ':'));
    std::string port_text;
    Loc port_loc = hstart;
    if (colons >= 2) {
      // A bare IPv6 address: taken whole when it parses (OpenSIPS's lexer is just as greedy);
      // otherwise the text after the last ':' may be a port.
      if (valid_ipv6(run)) {
        out->host = run;
        std::string_view last = std::string_view(run).substr(run.rfind(':') + 1);
        if (run.find("::") != std::string::npos && last.size() >= 4 && all_digits(last)) {
          diag_.warning(hstart, strprintf("bare IPv6 address '%s' is taken whole, without a "
                                          "port; write [host]:port to give a port",
                                          run.c_str()));
        }
      } else {
        size_t k = run.rfind(':');
        std::string prefix = run.substr(0, k);
        if (!valid_ipv6(prefix) || !all_digits(std::string_view(run).substr(k + 1))) {
          diag_.error(hstart, strprintf("invalid IPv6 address '%s' (write IPv6 addresses in "
                                        "brackets: tls:[2001:db8::1]:5061)",
                                        run.c_str()));
          return false;
        }
        out->host = prefix;
        port_text = run.substr(k + 1);
        port_loc.col = hstart.col + static_cast<int>(k) + 1;
      }
    } else {
      size_t k = run.find(':');
      out->host = run.substr(0, k);
      if (k != std::string::npos) {
        port_text = run.substr(k + 1);
        port_loc.col = hstart.col + static_cast<int>(k) + 1;
        if (port_text.empty()) {
          diag_.error(loc_here(), "port number expected after ':'");
          return false;
        }
      }
      Loc host_loc = hstart;
      host_loc.len = std::max(1, static_cast<int>(out->host.size()));
      const std::string& h = out->host;
      bool numeric = !h.empty() && std::all_of(h.begin(), h.end(),
                                               [](char ch) { return is_digit(ch) || ch == '.'; });
      if (h.empty()) {
        diag_.error(host_loc, "host expected (IPv4, [IPv6], hostname, '*' or a quoted string)");
        return false;
      }
      if (numeric ? !valid_ipv4(h) : !valid_hostname(h)) {
        diag_.error(host_loc, strprintf(numeric ? "invalid IPv4 address '%s'"
                                                : "invalid hostname '%s' (use quotes if the "
                                                  "hostname has unusual characters)",
                                        h.c_str()));
        return false;
      }
    }
    port_follows_colon = false;
    if (!port_text.empty()) {
      port_loc.len = static_cast<int>(port_text.size());
      if (!allow_port) {
        diag_.error(port_loc, "no port expected here");
        return false;
      }
      if (port_text.find_first_of("-,") != std::string::npos) {
        diag_.error(port_loc, "port ranges and lists are not supported yet");
        return false;
      }
      if (!all_digits(port_text) || port_text.size() > 6) {
        diag_.error(port_loc, strprintf("port number expected, got '%s'", port_text.c_str()));
        return false;
      }
      out->has_port = true;
      out->port = std::stoll(port_text);
      out->port_loc = port_loc;
    }
  }
  out->host_loc = hstart;
  if (port_follows_colon && allow_port) {
    size_t save_pos = pos_;
    int save_line = line_, save_col = col_;
    skip_blanks();
    if (peek_char() == ':') {
      advance();
      skip_blanks();
      Loc port_loc = loc_here();
      size_t pb = pos_;
      while (!at_end() && is_digit(peek_char())) advance();
      port_loc.len = std::max(1, static_cast<int>(pos_ - pb));
      if (pos_ == pb || pos_ - pb > 6 || (!at_end() && is_word(peek_char()))) {
        diag_.error(port_loc, "port number expected after ':'");
        return false;
      }
      out->has_port = true;
      out->port = std::stoll(std::string(text_.substr(pb, pos_ - pb)));
      out->port_loc = port_loc;
    } else {
      pos_ = save_pos;
      line_ = save_line;
      col_ = save_col;
    }
  }
  if (out->has_port && out->port > 65535) {
    diag_.error(out->port_loc, strprintf("port %lld is out of range (0..65535)",
                                         static_cast<long long>(out->port)));
    return false;
  }
  // The definition must end here (options, if any, follow after a blank).
  char e = peek_char();
  if (!at_end() && e != ' ' && e != '\t' && e != '\r' && e != '\n' && e != '#' && e != '\\' &&
      !(e == '/' && peek_char(1) == '*')) {
    Loc at = loc_here();
    if (e == ',' || e == '-') {
      diag_.error(at, "port ranges and lists are not supported yet");
    } else {
      diag_.error(at, describe_char(e) + " after the socket definition");
    }
    return false;
  }
  return true;
}

}  // namespace sipsd::cfg
