// Best-reply ranking of a forking proxy (RFC 3261 §16.7 as OpenSIPS's tm does it).
#include "core/tm/reply_priority.h"

#include <gtest/gtest.h>

namespace sipsd::tm {
namespace {

int best(std::initializer_list<int> codes, bool cancelled = false) {
  int winner = 0;
  for (int c : codes)
    if (winner == 0 || reply_priority(c, cancelled) < reply_priority(winner, cancelled)) winner = c;
  return winner;
}

TEST(ReplyPriority, OrderOfClasses) {
  EXPECT_EQ(best({486, 603}), 603);  // 6xx beats 4xx
  EXPECT_EQ(best({302, 486}), 302);  // 3xx beats 4xx
  EXPECT_EQ(best({404, 407}), 407);  // a challenge beats other 4xx
  EXPECT_EQ(best({401, 407}), 401);
  EXPECT_EQ(best({404, 500}), 404);  // 4xx beats 5xx
  EXPECT_EQ(best({408, 500}), 500);  // a timeout only when nothing better
  EXPECT_EQ(best({503, 408}), 408);
  EXPECT_EQ(best({503, 480}), 480);
  EXPECT_EQ(best({600, 302}), 600);
}

TEST(ReplyPriority, A487AfterCancelWins) {
  EXPECT_EQ(best({486, 487}, true), 487);
  EXPECT_EQ(best({603, 487}, true), 487);
  EXPECT_EQ(best({486, 487}, false), 486);  // without a CANCEL a 487 is an ordinary 4xx
}

}  // namespace
}  // namespace sipsd::tm
