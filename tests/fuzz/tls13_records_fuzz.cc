// libFuzzer target for the record layer of the TLS 1.3 hand-off (proto_tls/tls13_record_layer.h):
// the input scripts what a client sends once the handshake is done, sealed with the right keys
// by an independent sealer here (any inner content type, padding and length; KeyUpdates, also
// split over two records; raw bytes), and the stream is fed to Tls13RecordLayer::open in pieces
// whose size the input chooses. Checked: no crash; a record never takes more than it was given
// and its data lies inside it; the application data comes out exactly as sealed, in order,
// until the script does something a client may not; the layer fails or closes only there or
// after; after a failure it opens nothing more.
//
// Input: byte 0 picks the suite and the piece size; then ops, each a byte (low 2 bits):
//   0 application data   next byte: length (x70 when bit 7 is set, so some exceed 2^14)
//   1 any record         next bytes: inner type, padding (0-31), length as above
//   2 KeyUpdate          next byte: request_update (bit 7 of the op: any value, else 0/1);
//                        bit 6 of the op: the message split over two records
//   3 raw bytes          next byte: count (0-63), then the bytes themselves
#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "proto_tls/tls13_record_layer.h"
#include "tests/fuzz/fuzz_checks.h"

namespace {

using sipsd::Tls13Crypto;
using sipsd::Tls13RecordLayer;
using sipsd::Tls13Suite;
using sipsd::fuzz::check;

constexpr uint8_t kClientSecret[48] = {
    0x3c, 0x1a, 0x9e, 0x42, 0x07, 0xd1, 0x5b, 0x88, 0x2f, 0x60, 0xa4, 0x13, 0xc9, 0x7e, 0x05, 0xbb,
    0x91, 0x2d, 0x4f, 0xe0, 0x38, 0x76, 0x1c, 0xaa, 0x5e, 0x03, 0xf7, 0x64, 0x29, 0xd8, 0x8b, 0x10,
    0x47, 0xc2, 0x6a, 0x15, 0xee, 0x31, 0x9f, 0x50, 0x0b, 0x7d, 0xa8, 0x26, 0xf3, 0x84, 0x5c, 0xd9};
constexpr uint8_t kServerSecret[48] = {
    0xa0, 0x5f, 0x12, 0xcb, 0x77, 0x3e, 0xe4, 0x09, 0xb6, 0x21, 0x8d, 0x54, 0x1f, 0xf0, 0x6c, 0x93,
    0x2a, 0xd5, 0x48, 0x0e, 0xbf, 0x63, 0x97, 0x3a, 0xc1, 0x7c, 0x05, 0xe8, 0x5d, 0x24, 0x96, 0x4b,
    0x18, 0xfa, 0x83, 0x6f, 0x30, 0xcd, 0x52, 0xa9, 0x0c, 0x71, 0xde, 0x45, 0x8a, 0x1b, 0xe6, 0x37};

Tls13Crypto& crypto() {
  static std::unique_ptr<Tls13Crypto> c = [] {
    std::string error;
    auto made = Tls13Crypto::create(&error);
    check(made != nullptr);
    return made;
  }();
  return *c;
}

// The client's side, written from RFC 8446 §5.2-5.3 and §7.2 apart from the layer under test.
struct Sealer {
  explicit Sealer(Tls13Suite s) : suite(s) {}
  Tls13Suite suite;
  uint8_t secret[48] = {};
  uint8_t key[32] = {};
  uint8_t iv[12] = {};
  uint64_t seq = 0;
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx{EVP_CIPHER_CTX_new(),
                                                                      &EVP_CIPHER_CTX_free};

  void install() {
    const size_t h = Tls13Crypto::hash_len(suite);
    check(crypto().expand_label(suite, secret, h, "key", key, Tls13Crypto::key_len(suite)));
    check(crypto().expand_label(suite, secret, h, "iv", iv, sizeof iv));
    seq = 0;
  }
  void update() {
    const size_t h = Tls13Crypto::hash_len(suite);
    uint8_t next[48];
    check(crypto().expand_label(suite, secret, h, "traffic upd", next, h));
    memcpy(secret, next, h);
    install();
  }
  // One record: content, the inner type, `pad` zeros.
  void seal(uint8_t type, const uint8_t* content, size_t n, size_t pad, std::string* out) {
    const size_t inner = n + 1 + pad;
    const size_t clen = inner + 16;
    std::string plain(reinterpret_cast<const char*>(content), n);
    plain.push_back(static_cast<char>(type));
    plain.append(pad, '\0');
    uint8_t header[5] = {23, 3, 3, static_cast<uint8_t>(clen >> 8), static_cast<uint8_t>(clen)};
    uint8_t nonce[12];
    memcpy(nonce, iv, 12);
    for (int i = 0; i < 8; ++i) nonce[11 - i] ^= static_cast<uint8_t>(seq >> (8 * i));
    std::string body(clen, '\0');
    auto* b = reinterpret_cast<uint8_t*>(body.data());
    int len = 0;
    check(EVP_EncryptInit_ex2(ctx.get(), crypto().cipher(suite), key, nonce, nullptr) == 1);
    check(EVP_EncryptUpdate(ctx.get(), nullptr, &len, header, 5) == 1);
    check(EVP_EncryptUpdate(ctx.get(), b, &len, reinterpret_cast<const uint8_t*>(plain.data()),
                            static_cast<int>(inner)) == 1);
    check(EVP_EncryptFinal_ex(ctx.get(), b + inner, &len) == 1);
    check(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, 16, b + inner) == 1);
    out->append(reinterpret_cast<const char*>(header), 5);
    out->append(body);
    ++seq;
  }
};

struct Reader {
  const uint8_t* p;
  size_t n;
  size_t i = 0;
  uint8_t byte() { return i < n ? p[i++] : 0; }
  // `len` bytes of input (what is left of it, then a filler).
  std::string bytes(size_t len) {
    std::string s;
    size_t take = std::min(len, n - i);
    s.assign(reinterpret_cast<const char*>(p + i), take);
    i += take;
    s.append(len - take, 'a');
    return s;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  Reader in{data, size};
  const uint8_t first = in.byte();
  const auto suite = static_cast<Tls13Suite>(first % 3);
  const size_t piece = 1 + (first >> 2) * 61;

  Sealer client(suite);
  memcpy(client.secret, kClientSecret, sizeof kClientSecret);
  client.install();
  std::string error;
  auto layer =
      Tls13RecordLayer::create(&crypto(), suite, kClientSecret, 0, kServerSecret, 0, &error);
  check(layer != nullptr);

  // The script: the stream, the data expected while it stays legal, and where it stops being.
  std::string stream, expected;
  size_t legal_until = SIZE_MAX;
  auto illegal = [&] { legal_until = std::min(legal_until, stream.size()); };
  for (int ops = 0; ops < 64 && in.i < in.n; ++ops) {
    const uint8_t op = in.byte();
    switch (op & 3) {
      case 0:
      case 1: {
        const uint8_t type = (op & 3) == 0 ? 23 : in.byte();
        const size_t pad = (op & 3) == 0 ? 0 : in.byte() % 32;
        size_t len = in.byte();
        if (op & 0x80) len *= 70;
        const std::string content = in.bytes(len);
        if (type != 23 || len > 16384) illegal();
        if (type == 23 && len <= 16384 && legal_until == SIZE_MAX) expected += content;
        client.seal(type, reinterpret_cast<const uint8_t*>(content.data()), content.size(), pad,
                    &stream);
        break;
      }
      case 2: {
        uint8_t req = in.byte();
        if (!(op & 0x80)) req &= 1;
        if (req > 1) illegal();
        const uint8_t msg[5] = {24, 0, 0, 1, req};
        if (op & 0x40) {
          client.seal(22, msg, 2, 0, &stream);
          client.seal(22, msg + 2, 3, 0, &stream);
        } else {
          client.seal(22, msg, 5, 0, &stream);
        }
        client.update();
        break;
      }
      case 3: {
        illegal();
        stream += in.bytes(in.byte() % 64);
        break;
      }
    }
  }

  // Fed in pieces, as reads would bring it.
  std::string buf, delivered;
  size_t pos = 0, fed = 0;
  bool ended = false;
  while (!ended && fed < stream.size()) {
    size_t n = std::min(piece, stream.size() - fed);
    buf.append(stream, fed, n);
    fed += n;
    for (;;) {
      auto* at = reinterpret_cast<uint8_t*>(buf.data()) + pos;
      const size_t avail = buf.size() - pos;
      Tls13RecordLayer::OpenResult r = layer->open(at, avail);
      check(r.consumed <= avail);
      if (r.what == Tls13RecordLayer::Opened::kNeedMore) break;
      if (r.what == Tls13RecordLayer::Opened::kError ||
          r.what == Tls13RecordLayer::Opened::kClosed) {
        check(pos >= legal_until);  // it stops only where the client broke the rules
        if (r.what == Tls13RecordLayer::Opened::kError) {
          check(!layer->error().empty());
          check(layer->open(at, avail).what == Tls13RecordLayer::Opened::kError);
        }
        ended = true;
        break;
      }
      if (r.what == Tls13RecordLayer::Opened::kData) {
        check(r.data >= at && r.data + r.data_len <= at + r.consumed);
        delivered.append(reinterpret_cast<const char*>(r.data), r.data_len);
      }
      check(r.consumed > 0);
      pos += r.consumed;
    }
  }
  // Everything sealed while the script was legal came out, unchanged and in order.
  if (legal_until == SIZE_MAX) check(!ended && pos == stream.size());
  check(delivered.size() >= expected.size() &&
        delivered.compare(0, expected.size(), expected) == 0);
  // The layer seals replies (with its own KeyUpdate first when one was asked for).
  std::string out;
  if (!ended) check(layer->seal_data("x", 1, &out) && out.size() >= 5 + 1 + 1 + 16);
  return 0;
}
