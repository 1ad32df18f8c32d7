#include "proto_tls/stream_framer.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace sipsd {
namespace {

// What a connection would do: keep unconsumed bytes, call next() until it needs more.
struct Outcome {
  std::vector<std::string> messages;
  int pings = 0;
  FrameError error = FrameError::kNone;
  std::string leftover;
  bool in_message = false;
};

Outcome feed(StreamFramer& framer, const std::vector<std::string>& reads, bool count_chunks) {
  Outcome out;
  std::string pending;
  for (const std::string& chunk : reads) {
    pending += chunk;
    for (;;) {
      Frame f = framer.next(pending);
      if (f.kind == FrameKind::kError) {
        out.error = f.error;
        return out;
      }
      if (f.kind == FrameKind::kMessage) out.messages.push_back(pending.substr(f.skip, f.length));
      if (f.kind == FrameKind::kPing) ++out.pings;
      pending.erase(0, f.consumed());
      if (f.kind == FrameKind::kNeedMore) break;
    }
    if (count_chunks) {
      FrameError e = framer.end_read_event();
      if (e != FrameError::kNone) {
        out.error = e;
        return out;
      }
    }
  }
  out.leftover = pending;
  out.in_message = framer.in_message();
  return out;
}

Outcome feed_whole(const std::string& data, FramerLimits limits = {}) {
  StreamFramer framer(limits);
  return feed(framer, {data}, false);
}

std::vector<std::string> split_bytes(const std::string& s) {
  std::vector<std::string> v;
  for (char c : s) v.emplace_back(1, c);
  return v;
}

std::vector<std::string> split_random(const std::string& s, std::mt19937& rng) {
  std::vector<std::string> v;
  size_t i = 0;
  while (i < s.size()) {
    size_t n = std::uniform_int_distribution<size_t>(1, 40)(rng);
    v.push_back(s.substr(i, n));
    i += n;
  }
  return v;
}

const std::string kOptions =
    "OPTIONS sip:127.0.0.1 SIP/2.0\r\n"
    "Via: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK1\r\n"
    "Call-ID: a@b\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

const std::string kMessageWithBody =
    "MESSAGE sip:bob@example.com SIP/2.0\r\n"
    "Call-ID: x\r\n"
    "l: 11\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "hello world";

TEST(StreamFramer, WholeMessageWithoutBody) {
  Outcome o = feed_whole(kOptions);
  ASSERT_EQ(o.error, FrameError::kNone);
  ASSERT_EQ(o.messages.size(), 1u);
  EXPECT_EQ(o.messages[0], kOptions);
  EXPECT_TRUE(o.leftover.empty());
  EXPECT_FALSE(o.in_message);
}

TEST(StreamFramer, CompactContentLengthAndBody) {
  Outcome o = feed_whole(kMessageWithBody);
  ASSERT_EQ(o.messages.size(), 1u);
  EXPECT_EQ(o.messages[0], kMessageWithBody);
}

TEST(StreamFramer, PipelinedMessagesInOneReadComeOutInOrder) {
  std::string stream = kOptions + kMessageWithBody + kOptions;
  Outcome o = feed_whole(stream);
  ASSERT_EQ(o.messages.size(), 3u);
  EXPECT_EQ(o.messages[0], kOptions);
  EXPECT_EQ(o.messages[1], kMessageWithBody);
  EXPECT_EQ(o.messages[2], kOptions);
}

// The same stream fed whole, byte by byte and in random splits yields the same frames.
TEST(StreamFramer, SplitsDoNotChangeTheResult) {
  const std::string stream =
      "\r\n\r\n" + kOptions + "\r\n" + kMessageWithBody + "\r\n\r\n" + kOptions + kMessageWithBody;
  Outcome whole = feed_whole(stream);
  ASSERT_EQ(whole.messages.size(), 4u);
  ASSERT_EQ(whole.pings, 2);

  StreamFramer bytewise({});
  Outcome b = feed(bytewise, split_bytes(stream), false);
  EXPECT_EQ(b.messages, whole.messages);
  EXPECT_EQ(b.pings, whole.pings);

  std::mt19937 rng(12345);
  for (int round = 0; round < 300; ++round) {
    StreamFramer framer({});
    Outcome r = feed(framer, split_random(stream, rng), false);
    ASSERT_EQ(r.messages, whole.messages) << "round " << round;
    ASSERT_EQ(r.pings, whole.pings) << "round " << round;
    ASSERT_EQ(r.error, FrameError::kNone);
  }
}

TEST(StreamFramer, BodyArrivingLaterWaits) {
  StreamFramer framer({});
  std::string head = kMessageWithBody.substr(0, kMessageWithBody.size() - 5);
  Outcome o = feed(framer, {head}, false);
  EXPECT_TRUE(o.messages.empty());
  EXPECT_TRUE(o.in_message);
  Outcome o2 = feed(framer, {o.leftover + "world"}, false);
  ASSERT_EQ(o2.messages.size(), 1u);
  EXPECT_EQ(o2.messages[0], kMessageWithBody);
}

TEST(StreamFramer, BareLfLinesAreAccepted) {
  std::string m = "OPTIONS sip:a SIP/2.0\nCall-ID: 1\nContent-Length: 3\n\nabc";
  Outcome o = feed_whole(m + m);
  ASSERT_EQ(o.messages.size(), 2u);
  EXPECT_EQ(o.messages[0], m);
  std::string crlf_end = "OPTIONS sip:a SIP/2.0\nl: 0\n\r\n";
  EXPECT_EQ(feed_whole(crlf_end).messages.size(), 1u);
}

TEST(StreamFramer, MissingContentLengthIsAnError) {
  Outcome o = feed_whole("OPTIONS sip:a SIP/2.0\r\nCall-ID: 1\r\n\r\n");
  EXPECT_EQ(o.error, FrameError::kNoContentLength);
}

TEST(StreamFramer, ContentLengthSpellings) {
  for (const char* h :
       {"Content-Length: 2", "content-length:2", "CONTENT_LENGTH :  2  ", "l: 2", "L\t:\t2"}) {
    std::string m = std::string("MESSAGE sip:a SIP/2.0\r\n") + h + "\r\n\r\nok";
    Outcome o = feed_whole(m);
    ASSERT_EQ(o.messages.size(), 1u) << h;
    EXPECT_EQ(o.messages[0], m) << h;
  }
  // Names that only look alike are other headers.
  Outcome o = feed_whole("MESSAGE sip:a SIP/2.0\r\nContent-Lengths: 2\r\nXl: 2\r\n\r\n");
  EXPECT_EQ(o.error, FrameError::kNoContentLength);
}

TEST(StreamFramer, BadContentLengthValues) {
  for (const char* v : {"-1", "abc", "", "1 2", "0x10", "+5"}) {
    std::string m = std::string("MESSAGE sip:a SIP/2.0\r\nContent-Length: ") + v + "\r\n\r\n";
    EXPECT_EQ(feed_whole(m).error, FrameError::kBadContentLength) << v;
  }
  // Folding inside Content-Length is refused.
  EXPECT_EQ(feed_whole("MESSAGE sip:a SIP/2.0\r\nContent-Length:\r\n 0\r\n\r\n").error,
            FrameError::kBadContentLength);
}

TEST(StreamFramer, HugeContentLengthNeverWrapsAround) {
  // 2^32 + 32 must not be read as 32 (CVE-2026-23457), 10^30 must not overflow.
  for (const char* v : {"4294967328", "1000000000000000000000000000000", "65536"}) {
    std::string m = std::string("MESSAGE sip:a SIP/2.0\r\nContent-Length: ") + v + "\r\n\r\n" +
                    std::string(32, 'x');
    EXPECT_EQ(feed_whole(m).error, FrameError::kTooLarge) << v;
  }
}

TEST(StreamFramer, ConflictingContentLengths) {
  EXPECT_EQ(feed_whole("MESSAGE sip:a SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\nab").error,
            FrameError::kConflictingContentLength);
  Outcome same = feed_whole("MESSAGE sip:a SIP/2.0\r\nl: 2\r\nContent-Length: 2\r\n\r\nab");
  EXPECT_EQ(same.messages.size(), 1u);
}

TEST(StreamFramer, MaximumMessageSize) {
  FramerLimits limits;
  const std::string head = "MESSAGE sip:a SIP/2.0\r\nContent-Length: ";
  auto make = [&](size_t total) {
    // Find a body length so that the whole message is `total` bytes.
    for (size_t body = 0;; ++body) {
      std::string m = head + std::to_string(body) + "\r\n\r\n";
      if (m.size() + body == total) return m + std::string(body, 'b');
      if (m.size() + body > total) return std::string();
    }
  };
  std::string exact = make(limits.max_msg_size);
  ASSERT_FALSE(exact.empty());
  EXPECT_EQ(feed_whole(exact).messages.size(), 1u);
  std::string over = make(limits.max_msg_size + 1);
  ASSERT_FALSE(over.empty());
  EXPECT_EQ(feed_whole(over).error, FrameError::kTooLarge);
  // Headers that never end: refused once the limit is reached, not buffered forever.
  std::string endless = "MESSAGE sip:a SIP/2.0\r\n";
  while (endless.size() <= limits.max_msg_size) endless += "X-Filler: aaaaaaaaaaaaaaaa\r\n";
  EXPECT_EQ(feed_whole(endless).error, FrameError::kTooLarge);
}

TEST(StreamFramer, CrlfCrlfIsAPingWhenPingpongIsOn) {
  Outcome o = feed_whole("\r\n\r\n");
  EXPECT_EQ(o.pings, 1);
  EXPECT_TRUE(o.leftover.empty());
  EXPECT_FALSE(o.in_message);

  FramerLimits off;
  off.crlf_pingpong = false;
  Outcome o2 = feed_whole("\r\n\r\n", off);
  EXPECT_EQ(o2.pings, 0);
  EXPECT_TRUE(o2.leftover.empty());  // skipped as empty lines
  EXPECT_FALSE(o2.in_message);
}

TEST(StreamFramer, PingSplitAcrossReads) {
  StreamFramer framer({});
  Outcome o = feed(framer, {"\r\n", "\r\n"}, true);
  EXPECT_EQ(o.pings, 1);
  EXPECT_EQ(o.error, FrameError::kNone);
}

TEST(StreamFramer, LoneCrlfKeptWithoutCrlfDrop) {
  StreamFramer framer({});
  Outcome o = feed(framer, {"\r\n"}, false);
  EXPECT_EQ(o.pings, 0);
  EXPECT_TRUE(o.in_message);  // the message timer runs, as in OpenSIPS
  EXPECT_EQ(o.leftover, "\r\n");
}

TEST(StreamFramer, LoneCrlfDroppedWithCrlfDrop) {
  FramerLimits limits;
  limits.crlf_drop = true;
  StreamFramer framer(limits);
  Outcome o = feed(framer, {"\r\n"}, true);
  EXPECT_FALSE(o.in_message);
  EXPECT_TRUE(o.leftover.empty());
  EXPECT_EQ(o.pings, 0);
  // A CRLFCRLF in one read is still a ping.
  Outcome o2 = feed(framer, {"\r\n\r\n"}, true);
  EXPECT_EQ(o2.pings, 1);
}

TEST(StreamFramer, CrlfBeforeAMessageIsSkipped) {
  Outcome o = feed_whole("\r\n" + kOptions);
  ASSERT_EQ(o.messages.size(), 1u);
  EXPECT_EQ(o.messages[0], kOptions);
  EXPECT_EQ(o.pings, 0);
}

TEST(StreamFramer, ChunkLimitCountsReadEvents) {
  auto pieces = [](const std::string& m, int n) {
    std::vector<std::string> v;
    size_t step = m.size() / static_cast<size_t>(n);
    for (int i = 0; i < n; ++i)
      v.push_back(i == n - 1 ? m.substr(step * static_cast<size_t>(i))
                             : m.substr(step * static_cast<size_t>(i), step));
    return v;
  };
  FramerLimits limits;  // max_msg_chunks = 4
  {
    StreamFramer framer(limits);
    Outcome o = feed(framer, pieces(kMessageWithBody, 4), true);
    EXPECT_EQ(o.error, FrameError::kNone);
    EXPECT_EQ(o.messages.size(), 1u);
  }
  {
    StreamFramer framer(limits);
    Outcome o = feed(framer, pieces(kMessageWithBody, 5), true);
    EXPECT_EQ(o.error, FrameError::kTooManyChunks);
    EXPECT_TRUE(o.messages.empty());
  }
  {
    // The count restarts with every message: many 3-read messages in a row are fine.
    StreamFramer framer(limits);
    std::vector<std::string> reads;
    for (int i = 0; i < 10; ++i)
      for (auto& p : pieces(kMessageWithBody, 3)) reads.push_back(p);
    Outcome o = feed(framer, reads, true);
    EXPECT_EQ(o.error, FrameError::kNone);
    EXPECT_EQ(o.messages.size(), 10u);
  }
}

TEST(StreamFramer, IdleReadsDoNotCountAsChunks) {
  StreamFramer framer({});
  for (int i = 0; i < 20; ++i) EXPECT_EQ(framer.end_read_event(), FrameError::kNone);
}

}  // namespace
}  // namespace sipsd
