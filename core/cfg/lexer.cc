#include "core/cfg/lexer.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>

#include "core/cfg/char_class.h"

namespace sipsd::cfg {

namespace {

// Characters that end a $pv token at parenthesis depth 0 besides whitespace (as OpenSIPS's lexer).
bool ends_pv(char c) {
  static constexpr std::string_view kEnders = " \t\r\n\b;,){}\"'=+-*/%&|^~<>!";
  return kEnders.find(c) != std::string_view::npos;
}

}  // namespace

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

}  // namespace sipsd::cfg
