// Iteration over every value of every header of one type, in message order, without allocating:
// each Route value across several Route headers, each Via value (the second one is where a
// proxy sends a reply), each Contact.
//
//   for (NameAddrCursor c(msg, HeaderType::kRoute); c.next(&na);) { ... }
//
// Values are split with ListSplitter (name_addr.h); views point into the message buffer. A
// cursor stops at the first malformed value: next() returns false and failed() is true, so
// "false and !failed()" means every value was seen. The Message must outlive the cursor.
#pragma once

#include <cstddef>
#include <string_view>

#include "core/sip/message.h"
#include "core/sip/name_addr.h"
#include "core/sip/via.h"

namespace sipsd::sip {

// Every comma-separated element of every header of a type (or, for HeaderType::kOther, of a
// name: HeaderValueCursor(msg, "Path")). Names match case-insensitively, compact forms included.
class HeaderValueCursor {
 public:
  HeaderValueCursor(const Message& m, HeaderType type);
  HeaderValueCursor(const Message& m, std::string_view name);

  bool next(std::string_view* element);
  bool failed() const { return failed_; }
  // The header holding the element last returned (nullptr before the first).
  const Header* header() const { return header_; }

 private:
  bool matches(const Header& h) const;

  const Message* m_;
  HeaderType type_;
  std::string_view name_;  // for kOther
  size_t index_;           // the next header to look at
  const Header* header_ = nullptr;
  ListSplitter split_{std::string_view()};
  bool failed_ = false;
};

// Addresses: each element parsed by parse_name_addr() in the form the header type has
// (kContact for Contact, kRoute for Route and Record-Route, else kFromTo; by name: the form
// given).
class NameAddrCursor {
 public:
  NameAddrCursor(const Message& m, HeaderType type);
  NameAddrCursor(const Message& m, std::string_view name, AddrForm form);

  bool next(NameAddr* out);
  bool failed() const { return values_.failed() || error_ != nullptr; }
  // Why the cursor failed ("Missing '>'", "Bad list"); nullptr while it has not.
  const char* error() const;
  const Header* header() const { return values_.header(); }

 private:
  HeaderValueCursor values_;
  AddrForm form_;
  const char* error_ = nullptr;
};

// Every via-parm of every Via header, top first.
class ViaCursor {
 public:
  explicit ViaCursor(const Message& m) : values_(m, HeaderType::kVia) {}

  bool next(Via* out);
  bool failed() const { return values_.failed() || bad_value_; }
  const Header* header() const { return values_.header(); }

 private:
  HeaderValueCursor values_;
  bool bad_value_ = false;
};

// The via-parm at `index` (0 = top) in message order; false when there are not that many or
// one before it is malformed.
bool via_at(const Message& m, size_t index, Via* out);

}  // namespace sipsd::sip
