// The cfg source: include_file / import_file flattening (OpenSIPS 3.x, line based) and the
// places in it. The flattened text keeps a line table, so a position inside an included file
// names that file and its own line numbers. Columns are 1-based byte offsets; a tab counts as
// one column.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"

namespace sipsd {

// A place in a cfg file. Lines and columns are 1-based; a tab counts as one column.
struct CfgPos {
  std::string file;
  int line = 0;
  int col = 0;
  std::string str() const;  // "file:line:col"
};

// Resolves a path written in the cfg file at `pos`: absolute paths as is; relative ones
// against the current directory first, then the directory of pos.file (the include_file rule).
std::string resolve_cfg_path(const std::string& path, const CfgPos& pos);

}  // namespace sipsd

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

}  // namespace sipsd::cfg
