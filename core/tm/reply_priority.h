// Which final reply a forking proxy sends upstream when every branch has failed (RFC 3261
// §16.7 step 6, as OpenSIPS's tm ranks them): the lowest value wins. 6xx beat everything, then
// 3xx, then the 4xx that the caller can act on (401, 407, 415, 420, 484), then other 4xx and
// 5xx, and a 408 or 503 only when nothing better came. A 487 after a CANCEL wins outright.
// Unlike §16.7, a 503 is relayed as 503 (not turned into 500), and challenges from several
// branches are not merged.
#pragma once

namespace sipsd::tm {

int reply_priority(int code, bool cancelled);

}  // namespace sipsd::tm
