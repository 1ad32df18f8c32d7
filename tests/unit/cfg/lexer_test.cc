#include "core/cfg/lexer.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace sipsd::cfg {
namespace {

struct Lexed {
  Tok kind;
  std::string text;
  int64_t num;
  std::string pos;  // file:line:col
  int len;
};

struct LexResult {
  std::vector<Lexed> tokens;  // without the final kEof / kError
  std::string errors;
  std::vector<std::string> warnings;
};

LexResult lex(std::string_view text) {
  LexResult r;
  Result<CfgSource> src = CfgSource::from_text(text, "t.cfg");
  if (!src.ok()) {
    r.errors = src.message();
    return r;
  }
  CfgDiag diag(*src);
  Lexer lexer(*src, diag);
  for (;;) {
    Token t = lexer.next();
    if (t.kind == Tok::kEof || t.kind == Tok::kError) break;
    r.tokens.push_back(Lexed{t.kind, t.text, t.num, src->pos(t.loc).str(), t.loc.len});
  }
  r.errors = diag.error_text();
  r.warnings = diag.warnings();
  return r;
}

std::vector<Tok> kinds(const LexResult& r) {
  std::vector<Tok> out;
  for (const auto& t : r.tokens) out.push_back(t.kind);
  return out;
}

TEST(CfgLexer, IdentifiersNumbersAndPositions) {
  LexResult r = lex("tcp_workers = 4\n\tlog_level=-1\n  x 0x1F 010 0");
  ASSERT_EQ(r.errors, "");
  ASSERT_EQ(r.tokens.size(), 11u);
  EXPECT_EQ(r.tokens[0].kind, Tok::kId);
  EXPECT_EQ(r.tokens[0].text, "tcp_workers");
  EXPECT_EQ(r.tokens[0].pos, "t.cfg:1:1");
  EXPECT_EQ(r.tokens[0].len, 11);
  EXPECT_EQ(r.tokens[1].kind, Tok::kAssign);
  EXPECT_EQ(r.tokens[1].pos, "t.cfg:1:13");
  EXPECT_EQ(r.tokens[2].kind, Tok::kNumber);
  EXPECT_EQ(r.tokens[2].num, 4);
  EXPECT_EQ(r.tokens[2].pos, "t.cfg:1:15");
  // A tab counts as one column.
  EXPECT_EQ(r.tokens[3].text, "log_level");
  EXPECT_EQ(r.tokens[3].pos, "t.cfg:2:2");
  EXPECT_EQ(r.tokens[4].pos, "t.cfg:2:11");
  EXPECT_EQ(r.tokens[5].kind, Tok::kMinus);
  EXPECT_EQ(r.tokens[6].num, 1);
  EXPECT_EQ(r.tokens[6].pos, "t.cfg:2:13");
  EXPECT_EQ(r.tokens[7].pos, "t.cfg:3:3");
  EXPECT_EQ(r.tokens[8].num, 31);  // hex
  EXPECT_EQ(r.tokens[8].len, 4);
  EXPECT_EQ(r.tokens[9].num, 8);  // octal
  EXPECT_EQ(r.tokens[10].num, 0);
  EXPECT_EQ(r.tokens[10].pos, "t.cfg:3:14");
}

TEST(CfgLexer, BooleanWordsAreNumbers) {
  LexResult r = lex("yes true on enable no false off disable Yes");
  ASSERT_EQ(r.errors, "");
  ASSERT_EQ(r.tokens.size(), 9u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(r.tokens[i].kind, Tok::kNumber);
    EXPECT_EQ(r.tokens[i].num, 1);
  }
  for (int i = 4; i < 8; ++i) {
    EXPECT_EQ(r.tokens[i].kind, Tok::kNumber);
    EXPECT_EQ(r.tokens[i].num, 0);
  }
  EXPECT_EQ(r.tokens[8].kind, Tok::kId);  // keywords are lowercase
}

TEST(CfgLexer, BadNumbers) {
  EXPECT_NE(lex("x = 09").errors.find("t.cfg:1:5: invalid octal number '09'"), std::string::npos);
  EXPECT_NE(lex("x = 5abc").errors.find("t.cfg:1:5: invalid number '5abc'"), std::string::npos);
  EXPECT_NE(lex("x = 0x").errors.find("invalid number '0x'"), std::string::npos);
  EXPECT_NE(lex("x = 99999999999999999999").errors.find("is too large"), std::string::npos);
}

TEST(CfgLexer, CommentsAndWhitespace) {
  LexResult r =
      lex("a # comment \"not a string\n"
          "/* block /* nested */ still comment */ b\r\n"
          "c \\\n d /* multi\nline */ e");
  ASSERT_EQ(r.errors, "");
  ASSERT_EQ(r.tokens.size(), 5u);
  EXPECT_EQ(r.tokens[0].text, "a");
  EXPECT_EQ(r.tokens[1].text, "b");
  EXPECT_EQ(r.tokens[1].pos, "t.cfg:2:40");
  EXPECT_EQ(r.tokens[2].text, "c");
  EXPECT_EQ(r.tokens[3].text, "d");  // after a backslash-newline continuation
  EXPECT_EQ(r.tokens[3].pos, "t.cfg:4:2");
  EXPECT_EQ(r.tokens[4].text, "e");
  EXPECT_EQ(r.tokens[4].pos, "t.cfg:5:9");
}

TEST(CfgLexer, UnterminatedCommentAndString) {
  LexResult r = lex("a\n  /* open /* nested */ never closed");
  EXPECT_NE(r.errors.find("t.cfg:2:3: unterminated comment"), std::string::npos) << r.errors;
  r = lex("x = \"abc");
  EXPECT_NE(r.errors.find("t.cfg:1:5: unterminated string"), std::string::npos) << r.errors;
  r = lex("x = 'abc");
  EXPECT_NE(r.errors.find("t.cfg:1:5: unterminated string"), std::string::npos) << r.errors;
}

TEST(CfgLexer, DoubleSlashIsNotAComment) {
  LexResult r = lex("route {\n  // comment\n}");
  EXPECT_NE(r.errors.find("t.cfg:2:3: '//' is not a comment"), std::string::npos) << r.errors;
  // The caret line points at it.
  EXPECT_NE(r.errors.find("\n      // comment\n      ^~"), std::string::npos) << r.errors;
}

TEST(CfgLexer, StringEscapes) {
  LexResult r = lex(R"("a\nb\tc\"d\\e\x41\101\1\.z" 'raw \n # x' "h#i")");
  ASSERT_EQ(r.errors, "");
  ASSERT_EQ(r.tokens.size(), 3u);
  EXPECT_EQ(r.tokens[0].kind, Tok::kString);
  EXPECT_EQ(r.tokens[0].text, "a\nb\tc\"d\\eAA\\1\\.z");
  EXPECT_EQ(r.tokens[1].text, "raw \\n # x");
  EXPECT_EQ(r.tokens[1].pos, "t.cfg:1:30");
  EXPECT_EQ(r.tokens[2].text, "h#i");  // no comment inside strings
}

TEST(CfgLexer, StringsKeepNewlinesAndContinue) {
  LexResult r = lex("\"line1\nline2\" \"cont\\\ninued\" x");
  ASSERT_EQ(r.errors, "");
  ASSERT_EQ(r.tokens.size(), 3u);
  EXPECT_EQ(r.tokens[0].text, "line1\nline2");
  EXPECT_EQ(r.tokens[1].text, "continued");
  EXPECT_EQ(r.tokens[1].pos, "t.cfg:2:8");
  EXPECT_EQ(r.tokens[2].pos, "t.cfg:3:8");
}

TEST(CfgLexer, NulInStringIsAnError) {
  EXPECT_NE(lex("\"a\\00b\"").errors.find("NUL byte in string"), std::string::npos);
}

TEST(CfgLexer, ScriptVariables) {
  LexResult r = lex("$var(a)+1 $hdr(X(y)#z)==$rm;$si,$ru)");
  ASSERT_EQ(r.errors, "");
  std::vector<Tok> expect = {Tok::kPv,   Tok::kPlus, Tok::kNumber, Tok::kPv, Tok::kEq,    Tok::kPv,
                             Tok::kSemi, Tok::kPv,   Tok::kComma,  Tok::kPv, Tok::kRParen};
  EXPECT_EQ(kinds(r), expect);
  EXPECT_EQ(r.tokens[0].text, "$var(a)");
  EXPECT_EQ(r.tokens[3].text, "$hdr(X(y)#z)");  // '#' and nested parens inside the token
  EXPECT_EQ(r.tokens[5].text, "$rm");
  EXPECT_EQ(r.tokens[9].text, "$ru");
  EXPECT_NE(lex("$ ").errors.find("script variable name expected"), std::string::npos);
  EXPECT_NE(lex("$hdr(a\n)").errors.find("unbalanced '('"), std::string::npos);
}

TEST(CfgLexer, Operators) {
  LexResult r =
      lex("= == != =~ !~ < > <= >= && || ! ( ) { } [ ] ; , : . + - * / % & | ^ ~ << >> "
          ":= +=");
  ASSERT_EQ(r.errors, "");
  std::vector<Tok> expect = {
      Tok::kAssign, Tok::kEq,     Tok::kNe,      Tok::kMatch,    Tok::kNotMatch, Tok::kLt,
      Tok::kGt,     Tok::kLe,     Tok::kGe,      Tok::kAndAnd,   Tok::kOrOr,     Tok::kNot,
      Tok::kLParen, Tok::kRParen, Tok::kLBrace,  Tok::kRBrace,   Tok::kLBracket, Tok::kRBracket,
      Tok::kSemi,   Tok::kComma,  Tok::kColon,   Tok::kDot,      Tok::kPlus,     Tok::kMinus,
      Tok::kStar,   Tok::kSlash,  Tok::kPercent, Tok::kAmp,      Tok::kPipe,     Tok::kCaret,
      Tok::kTilde,  Tok::kShl,    Tok::kShr,     Tok::kAssignOp, Tok::kAssignOp,
  };
  EXPECT_EQ(kinds(r), expect);
  EXPECT_NE(lex("a @").errors.find("t.cfg:1:3: unexpected character '@'"), std::string::npos);
  EXPECT_NE(lex("a \x01").errors.find("unexpected byte 0x01"), std::string::npos);
}

TEST(CfgLexer, ErrorExcerptHasSourceLineAndCaret) {
  LexResult r = lex("a = 1\n\tb = 0x\n");
  EXPECT_EQ(r.errors, "t.cfg:2:6: invalid number '0x'\n    \tb = 0x\n    \t    ^~");
}

// ---- include_file ---------------------------------------------------------------------------

class CfgInclude : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sipsd-cfg-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path) << text;
    return path;
  }
  std::string dir_;
};

TEST_F(CfgInclude, PositionsNameTheIncludedFile) {
  write("sub/inc.cfg", "\n\n  inner_a\ninclude_file \"deeper.cfg\"\ninner_b\n");
  write("sub/deeper.cfg", "deep");
  std::string main = write("main.cfg", "first\ninclude_file \"sub/inc.cfg\" trailing junk\nlast\n");
  Result<CfgSource> src = CfgSource::from_file(main);
  ASSERT_TRUE(src.ok()) << src.message();
  CfgDiag diag(*src);
  Lexer lexer(*src, diag);
  std::vector<std::string> where;
  for (Token t = lexer.next(); t.kind == Tok::kId; t = lexer.next()) {
    where.push_back(t.text + "@" + src->pos(t.loc).str());
  }
  // deeper.cfg is found relative to the including file's directory (sub/).
  EXPECT_EQ(where, (std::vector<std::string>{
                       "first@" + main + ":1:1",
                       "inner_a@" + dir_ + "/sub/inc.cfg:3:3",
                       "deep@" + dir_ + "/sub/deeper.cfg:1:1",
                       "inner_b@" + dir_ + "/sub/inc.cfg:5:1",
                       "last@" + main + ":3:1",
                   }));
  EXPECT_EQ(diag.error_text(), "");
}

TEST_F(CfgInclude, MissingFileNamesTheIncludingPlace) {
  std::string main = write("main.cfg", "a\n  import_file 'nope.cfg'\n");
  Result<CfgSource> src = CfgSource::from_file(main);
  ASSERT_FALSE(src.ok());
  EXPECT_EQ(src.message().rfind(main + ":2:15: failed to open included file 'nope.cfg': No such "
                                       "file or directory\n      import_file 'nope.cfg'\n"
                                       "                  ^~~~~~~~~~",
                                0),
            0u)
      << src.message();
}

TEST_F(CfgInclude, MissingFileInsideAnIncludeShowsTheChain) {
  write("inc.cfg", "x\ny\n include_file \"missing.cfg\"\n");
  std::string main = write("main.cfg", "include_file \"inc.cfg\"\n");
  Result<CfgSource> src = CfgSource::from_file(main);
  ASSERT_FALSE(src.ok());
  EXPECT_NE(src.message().find(dir_ + "/inc.cfg:3:15: failed to open included file"),
            std::string::npos)
      << src.message();
  EXPECT_NE(src.message().find("included from " + main + ":1:1"), std::string::npos);
}

TEST_F(CfgInclude, NestingIsBounded) {
  std::string self = write("self.cfg", "a\ninclude_file \"self.cfg\"\n");
  Result<CfgSource> src = CfgSource::from_file(self);
  ASSERT_FALSE(src.ok());
  EXPECT_NE(src.message().find("too many nested include files (at most 50)"), std::string::npos)
      << src.message().substr(0, 300);
}

TEST_F(CfgInclude, DirectiveNeedsAQuotedName) {
  Result<CfgSource> src = CfgSource::from_text("include_file nope.cfg\n", "m.cfg");
  ASSERT_FALSE(src.ok());
  EXPECT_NE(src.message().find("m.cfg:1:14: include_file: a quoted file name is expected"),
            std::string::npos)
      << src.message();
  src = CfgSource::from_text("include_file \"x.cfg\n", "m.cfg");
  ASSERT_FALSE(src.ok());
  EXPECT_NE(src.message().find("missing closing quote"), std::string::npos);
}

TEST_F(CfgInclude, MainFileMissing) {
  Result<CfgSource> src = CfgSource::from_file(dir_ + "/absent.cfg");
  ASSERT_FALSE(src.ok());
  EXPECT_NE(src.message().find("absent.cfg: cannot read config file: No such file or directory"),
            std::string::npos);
}

}  // namespace
}  // namespace sipsd::cfg
