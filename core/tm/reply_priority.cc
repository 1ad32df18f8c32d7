#include "core/tm/reply_priority.h"

namespace sipsd::tm {

int reply_priority(int code, bool cancelled) {
  if (cancelled && code == 487) return 0;
  if (code < 300) return code;  // 1xx/2xx (a 2xx is relayed at once anyway)
  if (code >= 600) return code - 300;
  if (code < 400) return code + 100;
  switch (code) {
    case 401:
      return 500;
    case 407:
      return 501;
    case 415:
      return 502;
    case 420:
      return 503;
    case 484:
      return 504;
    case 408:
      return 800;
    case 503:
      return 801;
    default:
      return code + 200;  // other 4xx (600-699), 5xx (700-799)
  }
}

}  // namespace sipsd::tm
