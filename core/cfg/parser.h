// Recursive-descent parser for the OpenSIPS 3.x cfg language. It yields one top-level Item at a
// time so the caller can apply each statement in file order — as OpenSIPS does, a modparam or a
// function call is checked against the modules loaded *so far*.
#pragma once

#include "core/cfg/ast.h"
#include "core/cfg/lexer.h"

namespace sipsd::cfg {

class Parser {
 public:
  Parser(const CfgSource& src, CfgDiag& diag);

  // Parses the next top-level statement into *out. Returns false at the end of the input or
  // after an error that stops parsing (then failed() is true). Unknown core parameters are
  // reported and skipped (to the end of their line) so later errors are found too.
  bool next(Item* out);
  bool failed() const { return failed_; }

 private:
  const Token& peek();
  Token take();
  bool peek_is(Tok kind) { return peek().kind == kind; }
  bool peek_word(std::string_view word) { return peek().kind == Tok::kId && peek().text == word; }
  bool expect(Tok kind, const char* what, Token* out = nullptr);
  bool fail(Loc loc, std::string_view message);
  bool fail_unexpected(const char* expected);
  Loc after_prev() const;
  void skip_line();

  bool parse_core_assign(Item* out, Token name, bool* skipped);
  bool parse_socket(CoreAssign* a);
  bool parse_value(Value* v, bool concat_strings);
  bool parse_modparam(Item* out);
  bool parse_route(Item* out);

  bool parse_block(std::vector<Stmt>* body);
  bool parse_stmt(std::vector<Stmt>* body);
  bool parse_stm(std::vector<Stmt>* body);  // one statement or a { block }
  bool parse_conditional(Stmt* s, Stmt::Kind kind, const char* after_keyword);
  bool parse_if(Stmt* s);
  bool parse_while(Stmt* s);
  bool parse_switch(Stmt* s);
  bool parse_assign(Stmt* s);
  bool parse_call(Call* c);
  bool parse_call_rest(Call* c, Token name);  // after the name was taken
  bool parse_arg(const Call& c, Expr* a);
  bool expect_semi();
  // Expressions (as OpenSIPS 3.x): && || (one level) < ! < comparison < + - * / % (one
  // level) < unary minus < primary.
  std::unique_ptr<Expr> parse_exp();
  std::unique_ptr<Expr> parse_not();
  std::unique_ptr<Expr> parse_cmp();
  std::unique_ptr<Expr> parse_arith();
  std::unique_ptr<Expr> parse_unary();
  std::unique_ptr<Expr> parse_primary();
  bool count_term(Loc at);
  bool check_condition_operand(const Expr& e);

  CfgDiag& diag_;
  Lexer lexer_;
  Token tok_;
  bool have_tok_ = false;
  Loc prev_end_;
  bool failed_ = false;
  int depth_ = 0;  // nesting of blocks and expressions (bounded: the fuzzer finds deep inputs)
  int terms_ = 0;  // binary operators in the current statement (bounded too)
  bool in_condition_ = false;  // parsing an if/while condition (for messages)
};

}  // namespace sipsd::cfg
