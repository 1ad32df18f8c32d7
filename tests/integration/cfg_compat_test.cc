// OpenSIPS's own cfgs (tests/cfg_compat/*.cfg, each naming where it comes from) through
// `sipsd -c -f`: each either loads, or fails with exactly the errors its header lists
// ("# sipsd-expect: MESSAGE", positions left out, in order). Only certificate paths were changed
// from the originals: they read @CERTS@, the test certificates' directory.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/subprocess.h"
#include "tests/integration/test_env.h"

namespace sipsd::test {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> expected_errors(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  const std::string tag = "# sipsd-expect: ";
  while (std::getline(in, line)) {
    if (line.rfind(tag, 0) == 0) out.push_back(line.substr(tag.size()));
  }
  return out;
}

// "…/x.cfg:12:5: message" -> "message", for every error line sipsd printed.
std::vector<std::string> reported_errors(const std::string& log, const std::string& cfg_path) {
  std::vector<std::string> out;
  std::istringstream in(log);
  std::string line;
  const std::regex where(
      std::regex_replace(cfg_path, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") +
      R"(:-?\d+:\d+: (.*)$)");
  std::smatch m;
  while (std::getline(in, line)) {
    if (line.find("WARNING:") != std::string::npos || line.find("NOTICE:") != std::string::npos)
      continue;
    if (std::regex_search(line, m, where)) out.push_back(m[1]);
  }
  return out;
}

class CfgCompat : public ::testing::TestWithParam<std::string> {};

TEST_P(CfgCompat, LoadsOrFailsWithExactlyTheExpectedErrors) {
  const std::string src = std::string(SIPSD_SOURCE_DIR) + "/tests/cfg_compat/" + GetParam();
  std::string text = read_file(src);
  ASSERT_FALSE(text.empty()) << src;
  TempDir dir("sipsd-compat");
  const std::string path = dir.file(GetParam());
  std::ofstream(path) << std::regex_replace(text, std::regex("@CERTS@"), test_certs_dir());
  RunOptions ro;
  ro.timeout = 15s;
  RunResult r = run({SIPSD_BINARY, "-c", "-f", path}, ro);
  const std::vector<std::string> want = expected_errors(text);
  const std::vector<std::string> have = reported_errors(r.err, path);
  EXPECT_EQ(have, want) << r.err;
  EXPECT_EQ(r.ok(), want.empty()) << r.describe();
}

std::vector<std::string> compat_cfgs() {
  std::vector<std::string> names;
  for (const auto& e :
       std::filesystem::directory_iterator(std::string(SIPSD_SOURCE_DIR) + "/tests/cfg_compat")) {
    if (e.path().extension() == ".cfg") names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

INSTANTIATE_TEST_SUITE_P(OpenSipsCfgs, CfgCompat, ::testing::ValuesIn(compat_cfgs()),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           std::string n = p.param.substr(0, p.param.size() - 4);
                           for (char& c : n)
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

}  // namespace
}  // namespace sipsd::test
