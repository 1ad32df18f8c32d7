// One-line meanings of everything the schema lets a cfg name (core parameters, modules, module
// parameters, functions, variables), and the README reference tables built from the schema with
// them. tests/unit/docs/readme_schema_test.cc fails when README.md's tables differ from what
// schema_markdown() renders, so the documentation cannot drift from the code.
#pragma once

#include <string>
#include <string_view>

namespace sipsd::cfg {

enum class DocKind : uint8_t { kCoreParam, kModule, kModParam, kFunction, kVariable };

// The meaning of `name` (for kModParam: "module.param"); "" when none is written.
std::string_view describe(DocKind kind, std::string_view name);

// Markdown tables: core parameters, modules, module parameters, functions, variables.
std::string schema_markdown();

}  // namespace sipsd::cfg
