// README.md's reference tables are generated from the schema (core/cfg/schema_doc.h) and the MI
// command registry; this test fails when they differ, so the documentation cannot drift. To
// regenerate after changing the schema or the MI commands:
//   SIPSD_UPDATE_README=1 build/unit_tests --gtest_filter='Readme.*'
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "core/cfg/schema.h"
#include "core/cfg/schema_doc.h"
#include "core/mi/command.h"
#include "core/mi/core_commands.h"
#include "tls_mgm/mi_commands.h"

namespace sipsd {
namespace {

constexpr std::string_view kBegin =
    "<!-- BEGIN GENERATED REFERENCE: edit core/cfg/schema_doc.cc, then run "
    "SIPSD_UPDATE_README=1 build/unit_tests --gtest_filter='Readme.*' -->\n";
constexpr std::string_view kEnd = "<!-- END GENERATED REFERENCE -->\n";

std::string mi_markdown() {
  MiRegistry reg;
  add_core_mi_commands(&reg, nullptr);
  add_tls_mi_commands(&reg, nullptr);
  std::string md = "\n#### MI commands\n\n| command | module | meaning |\n| --- | --- | --- |\n";
  for (const MiCommand& c : reg.commands()) {
    std::string help = c.help;
    if (!help.empty()) help[0] = static_cast<char>(toupper(static_cast<unsigned char>(help[0])));
    md += "| `" + c.name + "` | " + c.module + " | " + help + " |\n";
  }
  return md;
}

std::string generated() {
  return std::string(kBegin) + "\n" + cfg::schema_markdown() + mi_markdown() + "\n" +
         std::string(kEnd);
}

std::string read_readme() {
  std::ifstream in(std::string(SIPSD_SOURCE_DIR) + "/README.md");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(Readme, ReferenceTablesMatchTheSchema) {
  std::string readme = read_readme();
  ASSERT_FALSE(readme.empty());
  size_t b = readme.find(kBegin);
  size_t e = readme.find(kEnd);
  ASSERT_NE(b, std::string::npos) << "README.md has no generated reference section";
  ASSERT_NE(e, std::string::npos);
  const std::string want = generated();
  const std::string have = readme.substr(b, e + kEnd.size() - b);
  if (have != want && getenv("SIPSD_UPDATE_README") != nullptr) {
    readme.replace(b, e + kEnd.size() - b, want);
    std::ofstream(std::string(SIPSD_SOURCE_DIR) + "/README.md") << readme;
    return;
  }
  if (have == want) return;
  // Only the first line that differs: the tables are long.
  std::istringstream in_readme(have), in_generated(want);
  std::string la, lb;
  int line = 0;
  while (true) {
    const bool ga = static_cast<bool>(std::getline(in_readme, la));
    const bool gb = static_cast<bool>(std::getline(in_generated, lb));
    ++line;
    if (!ga && !gb) break;
    if (!ga || !gb || la != lb) {
      ADD_FAILURE() << "README.md's reference tables are out of date (line " << line
                    << " of the section):\n  README:    " << (ga ? la : "<end>")
                    << "\n  generated: " << (gb ? lb : "<end>")
                    << "\nrun: SIPSD_UPDATE_README=1 build/unit_tests --gtest_filter='Readme.*'";
      break;
    }
  }
}

// Every name a cfg may use has its one-line meaning.
TEST(Readme, EveryNameIsDescribed) {
  using cfg::DocKind;
  for (const cfg::CoreParamDef& p : cfg::core_param_defs())
    EXPECT_FALSE(cfg::describe(DocKind::kCoreParam, p.name).empty()) << p.name;
  for (const cfg::ModuleDef& m : cfg::module_defs()) {
    EXPECT_FALSE(cfg::describe(DocKind::kModule, m.name).empty()) << m.name;
    for (const cfg::ModParamDef& p : m.params) {
      std::string key = std::string(m.name) + "." + std::string(p.name);
      EXPECT_FALSE(cfg::describe(DocKind::kModParam, key).empty()) << key;
    }
    for (const cfg::FuncDef& f : m.funcs)
      EXPECT_TRUE(!f.ready || !cfg::describe(DocKind::kFunction, f.name).empty()) << f.name;
  }
  for (const cfg::FuncDef& f : cfg::core_func_defs())
    EXPECT_FALSE(cfg::describe(DocKind::kFunction, f.name).empty()) << f.name;
  const std::string md = cfg::schema_markdown();
  EXPECT_EQ(md.find(" |  |\n"), std::string::npos) << "a row without a meaning:\n" << md;
}

}  // namespace
}  // namespace sipsd
