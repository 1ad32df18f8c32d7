#include "core/cfg/source.h"

#include <unistd.h>

#include <algorithm>

#include "core/base/file_read.h"

namespace sipsd {

std::string CfgPos::str() const {
  return strprintf("%s:%d:%d", file.c_str(), line, col);
}

std::string resolve_cfg_path(const std::string& path, const CfgPos& pos) {
  if (path.empty() || path.front() == '/') return path;
  if (access(path.c_str(), F_OK) == 0) return path;
  size_t slash = pos.file.rfind('/');
  if (slash == std::string::npos) return path;  // the including file is in the current directory
  std::string candidate = pos.file.substr(0, slash + 1) + path;
  if (access(candidate.c_str(), F_OK) == 0) return candidate;
  return path;
}

}  // namespace sipsd

namespace sipsd::cfg {

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
    Result<std::string> content = read_small_file(resolved, CfgSource::kMaxTotalSize);
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
  Result<std::string> content = read_small_file(path, CfgSource::kMaxTotalSize);
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

}  // namespace sipsd::cfg
