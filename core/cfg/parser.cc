#include "core/cfg/parser.h"

#include <algorithm>

#include "core/base/ascii.h"
#include "core/cfg/did_you_mean.h"
#include "core/cfg/schema.h"

namespace sipsd::cfg {

namespace {

constexpr int kMaxDepth = 200;   // nesting of blocks, if/else and parentheses
constexpr int kMaxTerms = 1000;  // && / || terms in one condition (the tree is left-deep)
constexpr const char* kTooDeep =
    "nested too deeply (at most 200 levels of blocks, if/else and parentheses)";

constexpr std::string_view kRouteKinds[] = {
    "route",       "onreply_route", "failure_route", "branch_route", "error_route",
    "local_route", "startup_route", "timer_route",   "event_route",
};

// Statement keywords of the OpenSIPS language that sipsd does not support yet.
constexpr std::string_view kUnsupportedStatements[] = {
    "while", "for", "switch", "case", "default", "break", "async", "launch",
};

constexpr std::string_view kSocketOptions[] = {
    "as",
    "tag",
    "use_workers",
    "reuse_port",
    "anycast",
    "frag",
    "tos",
    "accept_subdomain",
    "use_auto_scaling_profile",
};

bool one_of(std::string_view word, std::span<const std::string_view> set) {
  return std::find(set.begin(), set.end(), word) != set.end();
}

bool is_comparison(Tok k) {
  switch (k) {
    case Tok::kEq:
    case Tok::kNe:
    case Tok::kMatch:
    case Tok::kNotMatch:
    case Tok::kLt:
    case Tok::kGt:
    case Tok::kLe:
    case Tok::kGe:
      return true;
    default:
      return false;
  }
}

std::string describe(const Token& t) {
  switch (t.kind) {
    case Tok::kId:
      return "'" + t.text + "'";
    case Tok::kPv:
      return "'" + t.text + "'";
    case Tok::kNumber:
      return "number " + t.text;
    case Tok::kString: {
      std::string s = t.text.size() > 30 ? t.text.substr(0, 30) + "..." : t.text;
      return "string \"" + s + "\"";
    }
    default:
      return tok_name(t.kind);
  }
}

}  // namespace

Parser::Parser(const CfgSource& src, CfgDiag& diag) : diag_(diag), lexer_(src, diag) {}

const Token& Parser::peek() {
  if (!have_tok_) {
    tok_ = lexer_.next();
    have_tok_ = true;
  }
  return tok_;
}

Token Parser::take() {
  peek();
  have_tok_ = false;
  prev_end_ = tok_.end;
  return std::move(tok_);
}

bool Parser::fail(Loc loc, std::string_view message) {
  diag_.error(loc, message);
  failed_ = true;
  return false;
}

bool Parser::fail_unexpected(const char* expected) {
  const Token& t = peek();
  if (t.kind == Tok::kError) {  // already reported by the lexer
    failed_ = true;
    return false;
  }
  return fail(t.loc, strprintf("syntax error: %s expected, got %s", expected, describe(t).c_str()));
}

bool Parser::expect(Tok kind, const char* what, Token* out) {
  if (peek().kind != kind) return fail_unexpected(what);
  Token t = take();
  if (out) *out = std::move(t);
  return true;
}

Loc Parser::after_prev() const {
  return Loc{prev_end_.line, prev_end_.col, 1};
}

void Parser::skip_line() {
  const int line = prev_end_.line;
  while (peek().kind != Tok::kEof && peek().kind != Tok::kError && peek().loc.line <= line) take();
  if (peek().kind == Tok::kError) failed_ = true;
}

// ---------------------------------------------------------------------------------------------
// Top level

bool Parser::next(Item* out) {
  for (;;) {
    if (failed_ || diag_.too_many()) return false;
    const Token& t = peek();
    switch (t.kind) {
      case Tok::kEof:
        return false;
      case Tok::kError:
        failed_ = true;
        return false;
      case Tok::kSemi:  // a stray ';' between statements is harmless
        take();
        continue;
      case Tok::kRBrace:
        return fail(t.loc, "syntax error: unexpected '}' (no block is open)");
      case Tok::kId:
        break;
      default:
        return fail_unexpected("a core parameter, loadmodule, modparam or a route block");
    }
    const std::string word = t.text;
    if (word == "loadmodule") {
      take();
      Token s;
      if (!expect(Tok::kString, "a quoted module name (loadmodule \"name.so\")", &s)) return false;
      *out = LoadModule{std::move(s.text), s.loc};
      return true;
    }
    if (word == "modparam") return parse_modparam(out);
    if (word == "mpath") {
      Token kw = take();
      if (!expect(Tok::kAssign, "'=' after 'mpath'")) return false;
      Mpath m;
      m.loc = kw.loc;
      if (!peek_is(Tok::kString)) return fail_unexpected("a quoted directory");
      if (!parse_value(&m.value, true)) return false;
      *out = std::move(m);
      return true;
    }
    if (one_of(word, kRouteKinds)) return parse_route(out);
    if (word == "if" || word == "xlog" || word == "exit" || word == "drop" || word == "return" ||
        one_of(word, kUnsupportedStatements)) {
      return fail(t.loc, strprintf("'%s' is only allowed inside a route block", word.c_str()));
    }
    bool skipped = false;
    Token name = take();
    if (!peek_is(Tok::kAssign)) {
      if (peek_is(Tok::kError)) return fail_unexpected("'='");
      if (peek_is(Tok::kLBrace) || peek_is(Tok::kLBracket)) {
        return fail(name.loc, strprintf("unknown route kind '%s'%s", word.c_str(),
                                        did_you_mean_suffix(word, kRouteKinds).c_str()));
      }
      const CoreParamDef* def = find_core_param(word);
      if (def) return fail_unexpected(strprintf("'=' after '%s'", word.c_str()).c_str());
      return fail(name.loc, strprintf("syntax error: unexpected '%s' (expected a core parameter "
                                      "assignment, loadmodule, modparam or a route block)",
                                      word.c_str()));
    }
    if (!parse_core_assign(out, std::move(name), &skipped)) return false;
    if (!skipped) return true;
  }
}

bool Parser::parse_core_assign(Item* out, Token name, bool* skipped) {
  const CoreParamDef* def = find_core_param(name.text);
  if (!def) {
    if (is_unsupported_core_param(name.text)) {
      diag_.error(name.loc, strprintf("core parameter '%s' is not supported by sipsd yet",
                                      name.text.c_str()));
    } else {
      diag_.error(name.loc, strprintf("unknown core parameter '%s'%s", name.text.c_str(),
                                      did_you_mean_suffix(name.text, core_param_names()).c_str()));
    }
    skip_line();
    *skipped = true;
    return !failed_;
  }
  take();  // '='
  CoreAssign a;
  a.name = name.text;
  a.name_loc = name.loc;
  if (def->type == CoreType::kSocket) {
    if (!parse_socket(&a)) return false;
  } else {
    if (!parse_value(&a.value, false)) return false;
    if (peek().kind == Tok::kId && peek().text == "use_auto_scaling_profile") {
      return fail(peek().loc, "'use_auto_scaling_profile' is not supported yet");
    }
  }
  *out = std::move(a);
  return true;
}

bool Parser::parse_socket(CoreAssign* a) {
  a->is_socket = true;
  // '=' was just taken and nothing is buffered: the lexer scans the definition from here.
  if (!lexer_.scan_socket(&a->socket)) {
    failed_ = true;
    return false;
  }
  while (peek().kind == Tok::kId) {
    std::string opt = ascii_to_lower(peek().text);
    if (!one_of(opt, kSocketOptions)) break;
    Token o = take();
    a->socket_options.push_back(SocketOption{opt, o.loc});
    if (opt == "as") {
      SocketSpec adv;
      if (!lexer_.scan_host_port(&adv)) {
        failed_ = true;
        return false;
      }
    } else if (opt == "use_workers" || opt == "tos") {
      if (!peek_is(Tok::kNumber) && !peek_is(Tok::kId)) {
        return fail_unexpected(strprintf("a number after '%s'", opt.c_str()).c_str());
      }
      take();
    } else if (opt == "tag" || opt == "use_auto_scaling_profile") {
      if (!peek_is(Tok::kId) && !peek_is(Tok::kString)) {
        return fail_unexpected(strprintf("a name after '%s'", opt.c_str()).c_str());
      }
      take();
    }
  }
  return true;
}

bool Parser::parse_value(Value* v, bool concat_strings) {
  const Token& t = peek();
  if (t.kind == Tok::kMinus || t.kind == Tok::kPlus) {
    Token sign = take();
    Token n;
    if (!expect(Tok::kNumber, "a number after the sign", &n)) return false;
    v->kind = Value::Kind::kNumber;
    v->num = sign.kind == Tok::kMinus ? -n.num : n.num;
    v->loc = sign.loc;
    v->loc.len = n.end.line == sign.loc.line ? n.end.col - sign.loc.col : 1;
    return true;
  }
  if (t.kind == Tok::kNumber) {
    Token n = take();
    v->kind = Value::Kind::kNumber;
    v->num = n.num;
    v->loc = n.loc;
    return true;
  }
  if (t.kind == Tok::kString) {
    Token s = take();
    v->kind = Value::Kind::kString;
    v->str = std::move(s.text);
    v->loc = s.loc;
    while (concat_strings && peek_is(Tok::kString)) v->str += take().text;
    return true;
  }
  if (t.kind == Tok::kId) {
    Token w = take();
    v->kind = Value::Kind::kId;
    v->str = std::move(w.text);
    v->loc = w.loc;
    return true;
  }
  return fail_unexpected("a value (number, string or word)");
}

bool Parser::parse_modparam(Item* out) {
  ModParam m;
  m.loc = take().loc;
  Token mod, param;
  if (!expect(Tok::kLParen, "'(' after 'modparam'")) return false;
  if (!expect(Tok::kString, "a quoted module name", &mod)) return false;
  if (!expect(Tok::kComma, "','")) return false;
  if (!expect(Tok::kString, "a quoted parameter name", &param)) return false;
  if (!expect(Tok::kComma, "','")) return false;
  if (!parse_value(&m.value, true)) return false;
  if (m.value.kind == Value::Kind::kId) {
    return fail(m.value.loc, strprintf("modparam value must be a number or a quoted string, got "
                                       "the bare word '%s'",
                                       m.value.str.c_str()));
  }
  if (!expect(Tok::kRParen, "')' to close modparam")) return false;
  m.module = std::move(mod.text);
  m.module_loc = mod.loc;
  m.param = std::move(param.text);
  m.param_loc = param.loc;
  *out = std::move(m);
  return true;
}

bool Parser::parse_route(Item* out) {
  Token kw = take();
  RouteDef r;
  r.kind = kw.text;
  r.loc = kw.loc;
  if (peek_is(Tok::kLBracket)) {
    take();
    const Token& t = peek();
    if (t.kind != Tok::kId && t.kind != Tok::kNumber && t.kind != Tok::kString) {
      return fail_unexpected("a route name (word, number or string)");
    }
    Token n = take();
    r.has_name = true;
    r.name.kind = n.kind == Tok::kNumber   ? Value::Kind::kNumber
                  : n.kind == Tok::kString ? Value::Kind::kString
                                           : Value::Kind::kId;
    r.name.num = n.num;
    r.name.str = n.kind == Tok::kNumber ? std::to_string(n.num) : n.text;
    r.name.loc = n.loc;
    if (r.kind == "timer_route" && peek_is(Tok::kComma)) {
      take();
      if (!expect(Tok::kNumber, "the timer interval")) return false;
    }
    if (!expect(Tok::kRBracket, "']' after the route name")) return false;
  }
  if (!expect(Tok::kLBrace, "'{' to open the route block")) return false;
  if (!parse_block(&r.body)) return false;
  *out = std::move(r);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Statements

bool Parser::parse_block(std::vector<Stmt>* body) {
  Loc open = Loc{prev_end_.line, prev_end_.col - 1, 1};
  if (++depth_ > kMaxDepth) return fail(open, kTooDeep);
  while (!peek_is(Tok::kRBrace)) {
    if (peek_is(Tok::kEof)) {
      return fail(peek().loc, strprintf("syntax error: '}' expected before the end of the file "
                                        "(to close the block opened at %s)",
                                        diag_.where(open).c_str()));
    }
    if (!parse_stmt(body)) return false;
  }
  take();
  --depth_;
  return true;
}

bool Parser::parse_stm(std::vector<Stmt>* body) {
  if (peek_is(Tok::kLBrace)) {
    Stmt s;
    s.kind = Stmt::Kind::kBlock;
    s.loc = take().loc;
    if (!parse_block(&s.body)) return false;
    body->push_back(std::move(s));
    return true;
  }
  return parse_stmt(body);
}

bool Parser::parse_stmt(std::vector<Stmt>* body) {
  const Token& t = peek();
  switch (t.kind) {
    case Tok::kSemi:
      take();
      return true;
    case Tok::kLBrace:
      return parse_stm(body);
    case Tok::kPv:
      return fail(t.loc, "assignments to script variables are not supported yet");
    case Tok::kId:
      break;
    default:
      return fail_unexpected("a statement");
  }
  const std::string word = t.text;
  Stmt s;
  s.loc = t.loc;
  if (word == "if") {
    if (!parse_if(&s)) return false;
    body->push_back(std::move(s));
    return true;
  }
  if (word == "else") return fail(t.loc, "syntax error: 'else' without a matching 'if'");
  if (one_of(word, kUnsupportedStatements)) {
    return fail(t.loc, strprintf("'%s' statements are not supported yet", word.c_str()));
  }
  s.kind = Stmt::Kind::kCall;
  if (word == "exit" || word == "drop" || word == "return") {
    Token kw = take();
    s.call.name = word;
    s.call.loc = kw.loc;
    s.call.parens = false;
    if (peek_is(Tok::kLParen)) {
      if (!parse_call_rest(&s.call, std::move(kw))) return false;  // exit() / return(N)
    } else if (word == "return" && (peek_is(Tok::kNumber) || peek_is(Tok::kMinus) ||
                                    peek_is(Tok::kPlus) || peek_is(Tok::kPv))) {
      Arg a;
      if (!parse_arg(s.call, &a)) return false;
      s.call.args.push_back(std::move(a));
    }
  } else {
    if (!parse_call(&s.call)) return false;
  }
  if (!peek_is(Tok::kSemi)) {
    if (peek_is(Tok::kError)) {
      failed_ = true;
      return false;
    }
    return fail(after_prev(), "bad command: missing ';'?");
  }
  take();
  body->push_back(std::move(s));
  return true;
}

bool Parser::parse_if(Stmt* s) {
  s->kind = Stmt::Kind::kIf;
  s->loc = take().loc;
  if (++depth_ > kMaxDepth) return fail(s->loc, kTooDeep);
  if (!expect(Tok::kLParen, "'(' after 'if'")) return false;
  s->cond = parse_exp();
  if (!s->cond) return false;
  if (!expect(Tok::kRParen, "')' to close the condition")) return false;
  if (!parse_stm(&s->body)) return false;
  if (peek_word("else")) {
    take();
    if (!parse_stm(&s->else_body)) return false;
  }
  --depth_;
  return true;
}

bool Parser::parse_call(Call* c) {
  return parse_call_rest(c, take());
}

bool Parser::parse_call_rest(Call* c, Token name) {
  c->name = name.text;
  c->loc = name.loc;
  if (!peek_is(Tok::kLParen)) {
    if (peek_is(Tok::kAssign) || peek_is(Tok::kAssignOp)) {
      return fail(peek().loc, "assignments are not supported yet");
    }
    return fail(name.loc,
                strprintf("bare word <%s> found, command calls need '()'", name.text.c_str()));
  }
  take();
  c->parens = true;
  if (peek_is(Tok::kRParen)) {
    take();
    return true;
  }
  for (;;) {
    Arg a;
    if (!parse_arg(*c, &a)) return false;
    c->args.push_back(std::move(a));
    if (peek_is(Tok::kComma)) {
      take();
      continue;
    }
    if (peek_is(Tok::kRParen)) {
      take();
      return true;
    }
    return fail_unexpected(
        strprintf("',' or ')' in the parameters of <%s>", c->name.c_str()).c_str());
  }
}

bool Parser::parse_arg(const Call& c, Arg* a) {
  const Token& t = peek();
  a->loc = t.loc;
  switch (t.kind) {
    case Tok::kComma:
    case Tok::kRParen:
      a->kind = Arg::Kind::kEmpty;
      return true;
    case Tok::kString: {
      a->kind = Arg::Kind::kString;
      a->text = take().text;
      // Adjacent strings are joined only for xlog (and modparam values).
      while (c.name == "xlog" && peek_is(Tok::kString)) a->text += take().text;
      return true;
    }
    case Tok::kNumber:
      a->kind = Arg::Kind::kNumber;
      a->num = take().num;
      return true;
    case Tok::kMinus:
    case Tok::kPlus: {
      Token sign = take();
      Token n;
      if (!expect(Tok::kNumber, "a number after the sign", &n)) return false;
      a->kind = Arg::Kind::kNumber;
      a->num = sign.kind == Tok::kMinus ? -n.num : n.num;
      return true;
    }
    case Tok::kPv:
      a->kind = Arg::Kind::kPv;
      a->text = take().text;
      return true;
    case Tok::kId: {
      Token w = take();
      a->kind = (w.text == "NULL" || w.text == "null") ? Arg::Kind::kNull : Arg::Kind::kId;
      a->text = std::move(w.text);
      return true;
    }
    default:
      return fail_unexpected("a parameter (string, number or script variable)");
  }
}

// ---------------------------------------------------------------------------------------------
// Expressions: && / and and || / or share one precedence level and associate left (A9).

std::unique_ptr<Expr> Parser::parse_exp() {
  if (++depth_ > kMaxDepth) {
    fail(peek().loc, kTooDeep);
    return nullptr;
  }
  std::unique_ptr<Expr> left = parse_eterm();
  if (!left) return nullptr;
  for (int terms = 1;; ++terms) {
    const Token& t = peek();
    Expr::Kind kind;
    if (t.kind == Tok::kAndAnd || (t.kind == Tok::kId && t.text == "and")) {
      kind = Expr::Kind::kAnd;
    } else if (t.kind == Tok::kOrOr || (t.kind == Tok::kId && t.text == "or")) {
      kind = Expr::Kind::kOr;
    } else {
      break;
    }
    if (terms >= kMaxTerms) {
      fail(t.loc, strprintf("condition has too many terms (at most %d)", kMaxTerms));
      return nullptr;
    }
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->op_loc = take().loc;
    e->loc = left->loc;
    e->lhs = std::move(left);
    e->rhs = parse_eterm();
    if (!e->rhs) return nullptr;
    left = std::move(e);
  }
  --depth_;
  return left;
}

std::unique_ptr<Expr> Parser::parse_eterm() {
  if (++depth_ > kMaxDepth) {
    fail(peek().loc, kTooDeep);
    return nullptr;
  }
  auto e = std::make_unique<Expr>();
  const Token& t = peek();
  e->loc = t.loc;
  switch (t.kind) {
    case Tok::kNot: {
      take();
      e->kind = Expr::Kind::kNot;
      e->lhs = parse_eterm();
      if (!e->lhs) return nullptr;
      break;
    }
    case Tok::kLParen: {
      take();
      e = parse_exp();
      if (!e) return nullptr;
      if (!expect(Tok::kRParen, "')'")) return nullptr;
      break;
    }
    case Tok::kLBracket:
      fail(t.loc, "arithmetic expressions '[ ... ]' are not supported yet");
      return nullptr;
    case Tok::kPv: {
      e->left.kind = Arg::Kind::kPv;
      e->left.loc = t.loc;
      e->left.text = take().text;
      if (is_comparison(peek().kind)) {
        e->kind = Expr::Kind::kCmp;
        e->op = peek().kind;
        e->op_loc = take().loc;
        if (!parse_cond_rhs(e.get())) return nullptr;
      } else if (peek_is(Tok::kAssign)) {
        fail(peek().loc, "'=' is an assignment; use '==' to compare");
        return nullptr;
      } else if (peek_is(Tok::kAssignOp)) {
        fail(peek().loc, "assignments are not supported yet");
        return nullptr;
      } else {
        e->kind = Expr::Kind::kPv;
      }
      break;
    }
    case Tok::kNumber:
    case Tok::kMinus:
    case Tok::kPlus:
    case Tok::kString: {
      Arg a;
      if (t.kind == Tok::kString) {
        a.kind = Arg::Kind::kString;
        a.loc = t.loc;
        take();
      } else if (!parse_arg(Call{}, &a)) {
        return nullptr;
      }
      if (is_comparison(peek().kind)) {
        fail(a.loc, "the left side of a comparison must be a script variable ($rm, $si, ...)");
        return nullptr;
      }
      if (a.kind == Arg::Kind::kString) {
        fail(a.loc, "a string cannot be used as a condition");
        return nullptr;
      }
      e->kind = Expr::Kind::kNumber;
      e->left = std::move(a);
      break;
    }
    case Tok::kId: {
      const std::string& w = t.text;
      if (w == "not") {
        take();
        e->kind = Expr::Kind::kNot;
        e->lhs = parse_eterm();
        if (!e->lhs) return nullptr;
        break;
      }
      if (w == "NULL" || w == "null") {
        fail(t.loc, "NULL can only be compared with a script variable ($x == NULL)");
        return nullptr;
      }
      if (w == "exit" || w == "drop" || w == "return" || w == "if" || w == "else" ||
          one_of(w, kUnsupportedStatements)) {
        fail(t.loc, strprintf("'%s' cannot be used in a condition", w.c_str()));
        return nullptr;
      }
      e->kind = Expr::Kind::kCall;
      if (!parse_call(&e->call)) return nullptr;
      break;
    }
    default:
      fail_unexpected("a condition");
      return nullptr;
  }
  --depth_;
  return e;
}

bool Parser::parse_cond_rhs(Expr* e) {
  const Token& t = peek();
  Arg& r = e->right;
  r.loc = t.loc;
  switch (t.kind) {
    case Tok::kString:
      r.kind = Arg::Kind::kString;
      r.text = take().text;
      return true;
    case Tok::kNumber:
    case Tok::kMinus:
    case Tok::kPlus:
      if (!parse_arg(Call{}, &r)) return false;
      if (peek_is(Tok::kDot) || peek_is(Tok::kColon)) {
        return fail(r.loc,
                    "IP address comparisons are not supported yet; compare with a "
                    "string instead ($si == \"10.0.0.1\")");
      }
      return true;
    case Tok::kPv:
      r.kind = Arg::Kind::kPv;
      r.text = take().text;
      return true;
    case Tok::kId:
      if (t.text == "NULL" || t.text == "null") {
        r.kind = Arg::Kind::kNull;
        r.text = take().text;
        return true;
      }
      return fail(t.loc, strprintf("bare word '%s' after %s: quote strings (\"%s\")",
                                   t.text.c_str(), tok_name(e->op), t.text.c_str()));
    default:
      return fail_unexpected("a string, number, NULL or script variable");
  }
}

}  // namespace sipsd::cfg
