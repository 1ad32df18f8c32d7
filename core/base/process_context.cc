#include "core/base/process_context.h"

namespace sipsd {

ProcessContext& process_context() {
  static ProcessContext ctx;
  return ctx;
}

}  // namespace sipsd
