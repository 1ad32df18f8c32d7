#include "core/sip/header_cursor.h"

#include "core/base/ascii.h"

namespace sipsd::sip {

HeaderValueCursor::HeaderValueCursor(const Message& m, HeaderType type) : m_(&m), type_(type) {
  const Header* first = m.first(type);
  index_ = first == nullptr ? m.headers().size() : static_cast<size_t>(first - m.headers().data());
}

HeaderValueCursor::HeaderValueCursor(const Message& m, std::string_view name)
    : HeaderValueCursor(m, classify_header(name)) {
  name_ = name;
}

bool HeaderValueCursor::matches(const Header& h) const {
  return h.type == type_ && (type_ != HeaderType::kOther || ascii_iequals(h.name, name_));
}

bool HeaderValueCursor::next(std::string_view* element) {
  if (failed_) return false;
  for (;;) {
    if (header_ != nullptr) {
      if (split_.next(element)) return true;
      if (split_.failed()) {
        failed_ = true;
        return false;
      }
    }
    const std::vector<Header>& hs = m_->headers();
    while (index_ < hs.size() && !matches(hs[index_])) ++index_;
    if (index_ >= hs.size()) return false;
    header_ = &hs[index_++];
    split_ = ListSplitter(header_->value);
  }
}

namespace {

AddrForm form_of(HeaderType t) {
  switch (t) {
    case HeaderType::kContact:
      return AddrForm::kContact;
    case HeaderType::kRoute:
    case HeaderType::kRecordRoute:
      return AddrForm::kRoute;
    default:
      return AddrForm::kFromTo;
  }
}

}  // namespace

NameAddrCursor::NameAddrCursor(const Message& m, HeaderType type)
    : values_(m, type), form_(form_of(type)) {}

NameAddrCursor::NameAddrCursor(const Message& m, std::string_view name, AddrForm form)
    : values_(m, name), form_(form) {}

bool NameAddrCursor::next(NameAddr* out) {
  if (error_ != nullptr) return false;
  std::string_view element;
  if (!values_.next(&element)) return false;
  if (!parse_name_addr(element, form_, out, &error_)) return false;
  return true;
}

const char* NameAddrCursor::error() const {
  if (error_ != nullptr) return error_;
  return values_.failed() ? "Bad list" : nullptr;
}

bool ViaCursor::next(Via* out) {
  if (bad_value_) return false;
  std::string_view element;
  if (!values_.next(&element)) return false;
  std::string_view rest;
  if (!parse_via(element, out, &rest) || !rest.empty()) {
    bad_value_ = true;
    return false;
  }
  return true;
}

bool via_at(const Message& m, size_t index, Via* out) {
  ViaCursor c(m);
  for (size_t i = 0;; ++i) {
    if (!c.next(out)) return false;
    if (i == index) return true;
  }
}

}  // namespace sipsd::sip
