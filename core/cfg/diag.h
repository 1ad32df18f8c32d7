// The error/warning collector every cfg stage reports to.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/cfg/source.h"

namespace sipsd::cfg {

// Collects errors and warnings, each rendered as "file:line:col: message". The first error also
// gets the source line, a caret line under the offending token, and the include chain.
class CfgDiag {
 public:
  static constexpr int kMaxErrors = 20;

  explicit CfgDiag(const CfgSource& src) : src_(src) {}

  void error(Loc loc, std::string_view message);
  void warning(Loc loc, std::string_view message);
  // Information the admin should see once (logged at NOTICE), not a problem.
  void notice(Loc loc, std::string_view message);

  int error_count() const { return error_count_; }
  // True once kMaxErrors errors have been reported: stop looking for more.
  bool too_many() const { return error_count_ >= kMaxErrors; }
  // All errors, one per line (the first followed by its excerpt).
  std::string error_text() const;
  const std::vector<std::string>& warnings() const { return warnings_; }
  const std::vector<std::string>& notices() const { return notices_; }
  const CfgSource& source() const { return src_; }
  std::string where(Loc loc) const { return src_.pos(loc).str(); }

 private:
  const CfgSource& src_;
  std::string errors_;
  int error_count_ = 0;
  std::vector<std::string> warnings_;
  std::vector<std::string> notices_;
};

}  // namespace sipsd::cfg
