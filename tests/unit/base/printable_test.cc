#include "core/base/printable.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/base/log.h"

namespace sipsd {
namespace {

using namespace std::string_literals;

TEST(Printable, PlainAsciiIsUnchanged) {
  EXPECT_EQ(printable("sip:alice@example.com;transport=tls"),
            "sip:alice@example.com;transport=tls");
  EXPECT_EQ(printable(""), "");
}

TEST(Printable, ControlBytesAreEscaped) {
  EXPECT_EQ(printable("a\nb\rc\td"), "a\\nb\\rc\\td");
  EXPECT_EQ(printable("\x1b[31mred\a"), "\\x1b[31mred\\x07");
  EXPECT_EQ(printable("nul\0here"s), "nul\\x00here");
  EXPECT_EQ(printable("del\x7f"), "del\\x7f");
  for (int c = 0; c < 0x20; ++c) {
    const std::string out = printable(std::string(1, static_cast<char>(c)));
    for (char o : out) EXPECT_GE(static_cast<unsigned char>(o), 0x20) << c;
  }
}

TEST(Printable, BackslashAndQuotesAreEscaped) {
  EXPECT_EQ(printable(R"(a\b"c'd)"), R"(a\\b\"c\'d)");
  EXPECT_EQ(printable(R"(a\b"c'd)", kPrintableMax, Quotes::kKeep), R"(a\b"c'd)");
  EXPECT_EQ(printable("'x'\n", kPrintableMax, Quotes::kKeep), "'x'\\n");
}

TEST(Printable, WellFormedUtf8StaysReadable) {
  EXPECT_EQ(printable("Gr\xc3\xbc\xc3\x9f Gott \xe2\x82\xac \xf0\x9f\x98\x80"),
            "Gr\xc3\xbc\xc3\x9f Gott \xe2\x82\xac \xf0\x9f\x98\x80");
}

TEST(Printable, BytesThatAreNotWellFormedUtf8AreEscaped) {
  // Every lone byte 0x80..0xff is ill-formed on its own.
  for (int c = 0x80; c <= 0xff; ++c) {
    char hex[8];
    snprintf(hex, sizeof hex, "\\x%02x", c);
    EXPECT_EQ(printable(std::string(1, static_cast<char>(c))), hex) << c;
  }
  EXPECT_EQ(printable("\xc3"), "\\xc3");                             // truncated
  EXPECT_EQ(printable("\xc0\xaf"), "\\xc0\\xaf");                    // overlong '/'
  EXPECT_EQ(printable("\xe0\x80\xaf"), "\\xe0\\x80\\xaf");           // overlong, 3 bytes
  EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");           // surrogate U+D800
  EXPECT_EQ(printable("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // beyond U+10FFFF
  EXPECT_EQ(printable("\xc3(x"), "\\xc3(x");
}

TEST(Printable, TerminalAndDirectionControlsInUtf8AreEscaped) {
  EXPECT_EQ(printable("\xc2\x9b"
                      "2J"),
            "\\xc2\\x9b2J");  // U+009B CSI
  EXPECT_EQ(printable("a\xe2\x80\xa8"
                      "b"),
            "a\\xe2\\x80\\xa8b");  // U+2028
  EXPECT_EQ(printable("\xe2\x80\xae"
                      "cba"),
            "\\xe2\\x80\\xaecba");                          // U+202E RLO
  EXPECT_EQ(printable("\xe2\x81\xa6"), "\\xe2\\x81\\xa6");  // U+2066 LRI
  EXPECT_EQ(printable("\xe2\x80\x8f"), "\\xe2\\x80\\x8f");  // U+200F RLM
  EXPECT_EQ(printable("\xc2\xa0"), "\xc2\xa0");             // U+00A0 is fine
}

TEST(Printable, LongInputIsCutWithAMarker) {
  const std::string sni(300, 'a');
  EXPECT_EQ(printable(sni), std::string(kPrintableMax, 'a') + "...[+44 bytes]");
  EXPECT_EQ(printable("abcdef", 3), "abc...[+3 bytes]");
  EXPECT_EQ(printable(sni, kPrintableAll), sni);
  // The cut never splits a UTF-8 character into a raw partial sequence.
  EXPECT_EQ(printable("a\xc3\xbc", 2), "a\\xc3...[+1 bytes]");
}

TEST(Printable, ControlEscapingForWholeLines) {
  EXPECT_FALSE(needs_control_escape("tab\tand \\ \" ' \xc3\xbc are fine"));
  EXPECT_TRUE(needs_control_escape("a\nb"));
  EXPECT_TRUE(needs_control_escape("\x80"));
  EXPECT_TRUE(needs_control_escape("\xe2\x80\xae"));
  EXPECT_EQ(escape_controls("x\ty\n\x1b\\\x80"), "x\ty\\n\\x1b\\\\x80");
  // printable() output is left alone.
  const std::string p = printable("evil\nline\x1b[2J\xff");
  EXPECT_FALSE(needs_control_escape(p));
  EXPECT_EQ(escape_controls(p), p);
}

// What this process logs while alive (stderr redirected to a temporary file).
class LogCapture {
 public:
  LogCapture() {
    char tmpl[] = "/tmp/sipsd_log_XXXXXX";
    fd_ = mkstemp(tmpl);
    path_ = tmpl;
    fflush(stderr);
    saved_ = dup(STDERR_FILENO);
    dup2(fd_, STDERR_FILENO);
  }
  ~LogCapture() {
    restore();
    close(fd_);
    unlink(path_.c_str());
  }
  void restore() {
    if (saved_ < 0) return;
    dup2(saved_, STDERR_FILENO);
    close(saved_);
    saved_ = -1;
  }
  std::string text() const {
    std::string out;
    char buf[4096];
    for (off_t off = 0;;) {
      ssize_t n = pread(fd_, buf, sizeof buf, off);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
      off += n;
    }
    return out;
  }

 private:
  std::string path_;
  int fd_ = -1;
  int saved_ = -1;
};

TEST(Printable, TheLoggerNeverWritesAControlByteOrASecondLine) {
  LogCapture cap;
  logger().write(LogLevel::kErr, "test", "SNI '%s'",
                 "x\nJan 01 00:00:00 [1] CRIT:core: forged\x1b[2J\x07");
  logger().write_text(LogLevel::kErr, "xlog", "xlog text\r\nforged too\x80\n");
  cap.restore();
  const std::string text = cap.text();
  size_t lines = 0;
  for (char c : text) lines += c == '\n';
  EXPECT_EQ(lines, 2u) << text;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') continue;
    EXPECT_TRUE(c >= 0x20 && c < 0x7f) << "byte " << static_cast<int>(c) << " at " << i;
  }
  EXPECT_NE(text.find("SNI 'x\\nJan 01 00:00:00 [1] CRIT:core: forged\\x1b[2J\\x07'"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("xlog text\\r\\nforged too\\x80\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace sipsd
