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
constexpr std::string_view kUnsupportedStatements[] = {"for", "async", "launch"};

// Words that start a statement: they cannot be used inside an expression.
constexpr std::string_view kStatementWords[] = {
    "exit", "drop",    "return", "if",  "else",  "while",  "switch",
    "case", "default", "break",  "for", "async", "launch",
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
    if (word == "xlog" || one_of(word, kStatementWords)) {
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
      diag_.error(name.loc, strprintf("OpenSIPS's core parameter '%s' is not supported by sipsd",
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
  if (def->type == CoreType::kSocket && a.name == "alias") {
    a.is_socket = true;
    if (!lexer_.scan_alias(&a.socket)) {
      failed_ = true;
      return false;
    }
  } else if (def->type == CoreType::kSocket) {
    if (!parse_socket(&a)) return false;
  } else if (a.name == "advertised_address") {
    // An address or host name, quoted or not, as OpenSIPS writes it: advertised_address = 1.2.3.4
    SocketSpec host;
    if (!lexer_.scan_host_port(&host)) {
      failed_ = true;
      return false;
    }
    a.value.kind = Value::Kind::kString;
    a.value.str = host.host;
    a.value.loc = host.host_loc;
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
    a->socket_options.push_back(SocketOption{opt, o.loc, {}});
    if (opt == "as") {
      if (!lexer_.scan_host_port(&a->socket_options.back().value)) {
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
      Token iv;
      if (!expect(Tok::kNumber, "the timer interval (seconds)", &iv)) return false;
      r.has_interval = true;
      r.interval = iv.num;
      r.interval_loc = iv.loc;
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

bool Parser::expect_semi() {
  if (peek_is(Tok::kSemi)) {
    take();
    return true;
  }
  if (peek_is(Tok::kError)) {
    failed_ = true;
    return false;
  }
  return fail(after_prev(), "bad command: missing ';'?");
}

bool Parser::parse_stmt(std::vector<Stmt>* body) {
  terms_ = 0;
  in_condition_ = false;
  const Token& t = peek();
  switch (t.kind) {
    case Tok::kSemi:
      take();
      return true;
    case Tok::kLBrace:
      return parse_stm(body);
    case Tok::kPv: {
      Stmt s;
      if (!parse_assign(&s)) return false;
      body->push_back(std::move(s));
      return true;
    }
    case Tok::kId:
      break;
    default:
      return fail_unexpected("a statement");
  }
  const std::string word = t.text;
  Stmt s;
  s.loc = t.loc;
  if (word == "if" || word == "while" || word == "switch") {
    bool ok = word == "if" ? parse_if(&s) : word == "while" ? parse_while(&s) : parse_switch(&s);
    if (!ok) return false;
    body->push_back(std::move(s));
    return true;
  }
  if (word == "else") return fail(t.loc, "syntax error: 'else' without a matching 'if'");
  if (word == "case" || word == "default") {
    return fail(t.loc, strprintf("syntax error: '%s' outside a switch", word.c_str()));
  }
  if (word == "break") {
    s.kind = Stmt::Kind::kBreak;
    take();
    if (!expect_semi()) return false;
    body->push_back(std::move(s));
    return true;
  }
  if (one_of(word, kUnsupportedStatements)) {
    return fail(t.loc, strprintf("'%s' statements are not supported yet", word.c_str()));
  }
  s.kind = Stmt::Kind::kCall;
  if (word == "exit" || word == "drop") {
    Token kw = take();
    s.call.name = word;
    s.call.loc = kw.loc;
    s.call.parens = false;
    if (peek_is(Tok::kLParen) && !parse_call_rest(&s.call, std::move(kw))) return false;
  } else if (word == "return") {
    // return; return N; return(N); return $var(x); return(expression);
    Token kw = take();
    s.call.name = word;
    s.call.loc = kw.loc;
    s.call.parens = false;
    if (!peek_is(Tok::kSemi)) {
      std::unique_ptr<Expr> v = parse_exp();
      if (!v) return false;
      s.call.args.push_back(std::move(*v));
    }
  } else {
    if (!parse_call(&s.call)) return false;
  }
  if (!expect_semi()) return false;
  body->push_back(std::move(s));
  return true;
}

bool Parser::parse_assign(Stmt* s) {
  s->kind = Stmt::Kind::kAssign;
  Token pv = take();
  s->loc = pv.loc;
  s->target = std::make_unique<Expr>();
  s->target->kind = Expr::Kind::kPv;
  s->target->loc = pv.loc;
  s->target->text = std::move(pv.text);
  if (!peek_is(Tok::kAssign) && !peek_is(Tok::kAssignOp)) {
    if (peek_is(Tok::kError)) {
      failed_ = true;
      return false;
    }
    return fail_unexpected(
        strprintf("an assignment operator after '%s' ('=', '+=', ...)", s->target->text.c_str())
            .c_str());
  }
  Token op = take();
  s->assign_op = op.kind;
  s->assign_text = op.text;
  s->op_loc = op.loc;
  s->value = parse_exp();
  if (!s->value) return false;
  return expect_semi();
}

// `keyword ( condition ) statement`, the head of if and while; leaves depth_ raised by one.
bool Parser::parse_conditional(Stmt* s, Stmt::Kind kind, const char* after_keyword) {
  s->kind = kind;
  s->loc = take().loc;
  if (++depth_ > kMaxDepth) return fail(s->loc, kTooDeep);
  if (!expect(Tok::kLParen, after_keyword)) return false;
  in_condition_ = true;
  s->cond = parse_exp();
  in_condition_ = false;
  if (!s->cond || !check_condition_operand(*s->cond)) return false;
  if (!expect(Tok::kRParen, "')' to close the condition")) return false;
  return parse_stm(&s->body);
}

bool Parser::parse_if(Stmt* s) {
  if (!parse_conditional(s, Stmt::Kind::kIf, "'(' after 'if'")) return false;
  if (peek_word("else")) {
    take();
    if (!parse_stm(&s->else_body)) return false;
  }
  --depth_;
  return true;
}

bool Parser::parse_while(Stmt* s) {
  if (!parse_conditional(s, Stmt::Kind::kWhile, "'(' after 'while'")) return false;
  --depth_;
  return true;
}

// switch (value) { case 1: ...; break; case "str": ...; default: ... } — the cases index into
// one flat statement list, so a case without `break` falls through to the next, as in C.
bool Parser::parse_switch(Stmt* s) {
  s->kind = Stmt::Kind::kSwitch;
  s->loc = take().loc;
  if (++depth_ > kMaxDepth) return fail(s->loc, kTooDeep);
  if (!expect(Tok::kLParen, "'(' after 'switch'")) return false;
  s->cond = parse_exp();
  if (!s->cond) return false;
  if (!expect(Tok::kRParen, "')' after the switch value")) return false;
  if (!expect(Tok::kLBrace, "'{' to open the switch")) return false;
  Loc open = Loc{prev_end_.line, prev_end_.col - 1, 1};
  while (!peek_is(Tok::kRBrace)) {
    if (peek_is(Tok::kEof)) {
      return fail(peek().loc, strprintf("syntax error: '}' expected before the end of the file "
                                        "(to close the switch opened at %s)",
                                        diag_.where(open).c_str()));
    }
    if (peek_word("case") || peek_word("default")) {
      SwitchCase c;
      Token kw = take();
      c.loc = kw.loc;
      c.first = s->body.size();
      if (kw.text == "default") {
        c.is_default = true;
      } else {
        const Token& l = peek();
        c.label.loc = l.loc;
        if (l.kind == Tok::kString) {
          c.label.kind = Expr::Kind::kString;
          c.label.text = take().text;
        } else if (l.kind == Tok::kNumber || l.kind == Tok::kMinus || l.kind == Tok::kPlus) {
          Token first = take();
          c.label.kind = Expr::Kind::kNumber;
          if (first.kind == Tok::kNumber) {
            c.label.num = first.num;
          } else {
            Token n;
            if (!expect(Tok::kNumber, "a number after the sign", &n)) return false;
            c.label.num = first.kind == Tok::kMinus ? -n.num : n.num;
          }
        } else {
          return fail_unexpected("a case label (a number or a quoted string)");
        }
      }
      if (!expect(Tok::kColon, "':' after the case label")) return false;
      s->cases.push_back(std::move(c));
      continue;
    }
    if (s->cases.empty()) {
      return fail(peek().loc,
                  "syntax error: statements in a switch must follow 'case' or "
                  "'default'");
    }
    if (!parse_stmt(&s->body)) return false;
  }
  take();
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
      return fail(peek().loc, strprintf("only script variables can be assigned to ('%s' is a "
                                        "bare word)",
                                        name.text.c_str()));
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
    Expr a;
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

bool Parser::parse_arg(const Call& c, Expr* a) {
  const Token& t = peek();
  a->loc = t.loc;
  if (t.kind == Tok::kComma || t.kind == Tok::kRParen) {
    a->kind = Expr::Kind::kEmpty;
    return true;
  }
  if (t.kind == Tok::kString && c.name == "xlog") {
    // Adjacent strings are joined only for xlog (and modparam values).
    a->kind = Expr::Kind::kString;
    a->text = take().text;
    while (peek_is(Tok::kString)) a->text += take().text;
    return true;
  }
  std::unique_ptr<Expr> e = parse_exp();
  if (!e) return false;
  *a = std::move(*e);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Expressions: && / and and || / or share one precedence level and associate left (A9), and so
// do + - * / % (7 + 3 * 2 is 20 in OpenSIPS).

bool Parser::count_term(Loc at) {
  if (++terms_ < kMaxTerms) return true;
  fail(at, strprintf("%s has too many terms (at most %d)",
                     in_condition_ ? "condition" : "expression", kMaxTerms));
  return false;
}

// Operands of && || ! and whole conditions: a string or NULL has no truth value.
bool Parser::check_condition_operand(const Expr& e) {
  if (e.kind == Expr::Kind::kString) {
    return fail(e.loc, "a string cannot be used as a condition");
  }
  if (e.kind == Expr::Kind::kNull) {
    return fail(e.loc, "NULL can only be compared with a script variable ($x == NULL)");
  }
  return true;
}

std::unique_ptr<Expr> Parser::parse_exp() {
  if (++depth_ > kMaxDepth) {
    fail(peek().loc, kTooDeep);
    return nullptr;
  }
  std::unique_ptr<Expr> left = parse_not();
  if (!left) return nullptr;
  for (;;) {
    const Token& t = peek();
    Expr::Kind kind;
    if (t.kind == Tok::kAndAnd || (t.kind == Tok::kId && t.text == "and")) {
      kind = Expr::Kind::kAnd;
    } else if (t.kind == Tok::kOrOr || (t.kind == Tok::kId && t.text == "or")) {
      kind = Expr::Kind::kOr;
    } else {
      break;
    }
    if (!check_condition_operand(*left) || !count_term(t.loc)) return nullptr;
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->op_loc = take().loc;
    e->loc = left->loc;
    e->lhs = std::move(left);
    e->rhs = parse_not();
    if (!e->rhs || !check_condition_operand(*e->rhs)) return nullptr;
    left = std::move(e);
  }
  --depth_;
  return left;
}

std::unique_ptr<Expr> Parser::parse_not() {
  if (++depth_ > kMaxDepth) {
    fail(peek().loc, kTooDeep);
    return nullptr;
  }
  const Token& t = peek();
  std::unique_ptr<Expr> e;
  if (t.kind == Tok::kNot || (t.kind == Tok::kId && t.text == "not")) {
    e = std::make_unique<Expr>();
    e->kind = Expr::Kind::kNot;
    e->loc = take().loc;
    e->lhs = parse_not();
    if (!e->lhs || !check_condition_operand(*e->lhs)) return nullptr;
  } else {
    e = parse_cmp();
    if (!e) return nullptr;
  }
  --depth_;
  return e;
}

std::unique_ptr<Expr> Parser::parse_cmp() {
  std::unique_ptr<Expr> left = parse_arith();
  if (!left) return nullptr;
  const Token& t = peek();
  if (t.kind == Tok::kAssign) {
    fail(t.loc, "'=' is an assignment; use '==' to compare");
    return nullptr;
  }
  if (t.kind == Tok::kAssignOp) {
    fail(t.loc,
         strprintf("'%s' is an assignment; it cannot be used in an expression", t.text.c_str()));
    return nullptr;
  }
  if (!is_comparison(t.kind)) return left;
  const bool uri_word = left->kind == Expr::Kind::kId && left->text == "uri";
  if (uri_word) {
    // `uri == myself` (the OpenSIPS 2.x form): the R-URI.
    if (t.kind != Tok::kEq && t.kind != Tok::kNe) {
      fail(left->loc,
           "'uri' can only be compared with myself (uri == myself); use $ru "
           "otherwise");
      return nullptr;
    }
    left->kind = Expr::Kind::kPv;
    left->text = "$ru";
  }
  if (!left->parenthesized &&
      (left->kind == Expr::Kind::kString || left->kind == Expr::Kind::kNumber ||
       left->kind == Expr::Kind::kNull)) {
    fail(left->loc, "the left side of a comparison must be a script variable ($rm, $si, ...)");
    return nullptr;
  }
  auto e = std::make_unique<Expr>();
  e->kind = Expr::Kind::kCmp;
  e->loc = left->loc;
  e->op = t.kind;
  e->op_loc = take().loc;
  e->lhs = std::move(left);
  const Token& r = peek();
  if (uri_word && !(r.kind == Tok::kId && r.text == "myself")) {
    fail(r.loc, "'uri' can only be compared with myself (uri == myself); use $ru otherwise");
    return nullptr;
  }
  if (r.kind == Tok::kId && r.text == "myself") {
    e->rhs = std::make_unique<Expr>();
    e->rhs->kind = Expr::Kind::kMyself;
    e->rhs->loc = take().loc;
  } else if (r.kind == Tok::kId && r.text != "NULL" && r.text != "null") {
    Token w = peek();
    take();
    if (!peek_is(Tok::kLParen)) {
      fail(w.loc, strprintf("bare word '%s' after %s: quote strings (\"%s\")", w.text.c_str(),
                            tok_name(e->op), w.text.c_str()));
      return nullptr;
    }
    // A function call on the right: the value it returns.
    e->rhs = std::make_unique<Expr>();
    e->rhs->kind = Expr::Kind::kCall;
    e->rhs->loc = w.loc;
    if (!parse_call_rest(&e->rhs->call, std::move(w))) return nullptr;
  } else {
    e->rhs = parse_arith();
    if (!e->rhs) return nullptr;
    if (e->rhs->kind == Expr::Kind::kNumber && (peek_is(Tok::kDot) || peek_is(Tok::kColon))) {
      fail(e->rhs->loc,
           "IP address comparisons are not supported yet; compare with a string instead ($si "
           "== \"10.0.0.1\")");
      return nullptr;
    }
  }
  if (is_comparison(peek().kind)) {
    fail(peek().loc, "syntax error: comparisons cannot be chained; use && or parentheses");
    return nullptr;
  }
  return e;
}

std::unique_ptr<Expr> Parser::parse_arith() {
  std::unique_ptr<Expr> left = parse_unary();
  if (!left) return nullptr;
  for (;;) {
    const Token& t = peek();
    switch (t.kind) {
      case Tok::kPlus:
      case Tok::kMinus:
      case Tok::kStar:
      case Tok::kSlash:
      case Tok::kPercent:
        break;
      case Tok::kAmp:
      case Tok::kPipe:
      case Tok::kCaret:
      case Tok::kShl:
      case Tok::kShr:
      case Tok::kTilde:
        fail(t.loc, strprintf("bitwise operator %s is not supported yet", tok_name(t.kind)));
        return nullptr;
      default:
        return left;
    }
    if (!count_term(t.loc)) return nullptr;
    auto e = std::make_unique<Expr>();
    e->kind = Expr::Kind::kArith;
    e->loc = left->loc;
    e->op = t.kind;
    e->op_loc = take().loc;
    e->lhs = std::move(left);
    e->rhs = parse_unary();
    if (!e->rhs) return nullptr;
    left = std::move(e);
  }
}

std::unique_ptr<Expr> Parser::parse_unary() {
  const Token& t = peek();
  if (t.kind != Tok::kMinus && t.kind != Tok::kPlus) return parse_primary();
  Token sign = take();
  if (peek_is(Tok::kNumber)) {  // a signed number literal
    Token n = take();
    auto e = std::make_unique<Expr>();
    e->kind = Expr::Kind::kNumber;
    e->num = sign.kind == Tok::kMinus ? -n.num : n.num;
    e->loc = sign.loc;
    e->loc.len = n.end.line == sign.loc.line ? n.end.col - sign.loc.col : 1;
    return e;
  }
  if (sign.kind == Tok::kPlus) {
    fail(sign.loc, "syntax error: '+' must be followed by a number here");
    return nullptr;
  }
  if (++depth_ > kMaxDepth) {
    fail(sign.loc, kTooDeep);
    return nullptr;
  }
  auto e = std::make_unique<Expr>();
  e->kind = Expr::Kind::kNeg;
  e->loc = sign.loc;
  e->lhs = parse_unary();
  if (!e->lhs) return nullptr;
  --depth_;
  return e;
}

std::unique_ptr<Expr> Parser::parse_primary() {
  if (++depth_ > kMaxDepth) {
    fail(peek().loc, kTooDeep);
    return nullptr;
  }
  auto e = std::make_unique<Expr>();
  const Token& t = peek();
  e->loc = t.loc;
  switch (t.kind) {
    case Tok::kLParen:
    case Tok::kLBracket: {
      // ( exp ), and OpenSIPS's [ exp ] arithmetic brackets.
      const bool bracket = t.kind == Tok::kLBracket;
      take();
      e = parse_exp();
      if (!e) return nullptr;
      if (!expect(bracket ? Tok::kRBracket : Tok::kRParen, bracket ? "']'" : "')'")) {
        return nullptr;
      }
      e->parenthesized = true;
      break;
    }
    case Tok::kNumber:
      e->kind = Expr::Kind::kNumber;
      e->num = take().num;
      break;
    case Tok::kString:
      e->kind = Expr::Kind::kString;
      e->text = take().text;
      break;
    case Tok::kPv:
      e->kind = Expr::Kind::kPv;
      e->text = take().text;
      break;
    case Tok::kId: {
      const std::string& w = t.text;
      if (w == "NULL" || w == "null") {
        e->kind = Expr::Kind::kNull;
        take();
        break;
      }
      if (w == "myself") {
        fail(t.loc, "'myself' can only be used on the right of == or != ($rd == myself)");
        return nullptr;
      }
      if (one_of(w, kStatementWords)) {
        fail(t.loc, strprintf("'%s' cannot be used in a condition", w.c_str()));
        return nullptr;
      }
      Token word = take();
      if (peek_is(Tok::kLParen)) {
        e->kind = Expr::Kind::kCall;
        if (!parse_call_rest(&e->call, std::move(word))) return nullptr;
      } else {
        e->kind = Expr::Kind::kId;  // a route or flag name; the compiler says where it is not
        e->text = std::move(word.text);
      }
      break;
    }
    default:
      fail_unexpected(in_condition_ ? "a condition" : "an expression");
      return nullptr;
  }
  --depth_;
  return e;
}

}  // namespace sipsd::cfg
