#include "core/base/process_context.h"

namespace sipsd {

const char* process_role_name(ProcessRole role) {
  switch (role) {
    case ProcessRole::kSupervisor:
      return "supervisor";
    case ProcessRole::kTcpWorker:
      return "TCP worker";
    case ProcessRole::kUdpWorker:
      return "UDP worker";
    case ProcessRole::kNone:
      break;
  }
  return "";
}

ProcessContext& process_context() {
  static ProcessContext ctx;
  return ctx;
}

}  // namespace sipsd
