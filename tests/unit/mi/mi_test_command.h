// A bare MiCommand for the MI unit tests: a name, its recipes and a handler.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/mi/command.h"

namespace sipsd::test {

inline MiCommand command(std::string name, std::vector<std::vector<std::string>> recipes,
                         MiHandler handler) {
  MiCommand c;
  c.name = std::move(name);
  c.recipes = std::move(recipes);
  c.handler = std::move(handler);
  return c;
}

}  // namespace sipsd::test
