#include "core/cfg/token.h"

namespace sipsd::cfg {

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

}  // namespace sipsd::cfg
