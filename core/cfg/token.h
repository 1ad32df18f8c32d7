// The tokens of the cfg language (OpenSIPS 3.x).
#pragma once

#include <cstdint>
#include <string>

#include "core/cfg/source.h"

namespace sipsd::cfg {

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

}  // namespace sipsd::cfg
