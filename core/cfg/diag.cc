#include "core/cfg/diag.h"

namespace sipsd::cfg {

void CfgDiag::error(Loc loc, std::string_view message) {
  if (too_many()) return;
  std::string text = where(loc);
  text += ": ";
  text.append(message);
  if (error_count_ == 0 && loc.line >= 0) {
    text += '\n';
    text += format_excerpt(src_.line_text(loc.line), loc.col, loc.len);
    for (const std::string& inc : src_.include_chain(loc.line))
      text += "\n    included from " + inc;
  }
  if (!errors_.empty()) errors_ += '\n';
  errors_ += text;
  ++error_count_;
}

void CfgDiag::warning(Loc loc, std::string_view message) {
  std::string text = where(loc);
  text += ": ";
  text.append(message);
  warnings_.push_back(std::move(text));
}

void CfgDiag::notice(Loc loc, std::string_view message) {
  notices_.push_back(where(loc) + ": " + std::string(message));
}

std::string CfgDiag::error_text() const {
  if (!too_many()) return errors_;
  return errors_ +
         strprintf("\n%s: too many errors (%d), giving up", src_.main_file().c_str(), kMaxErrors);
}

}  // namespace sipsd::cfg
