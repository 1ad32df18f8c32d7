// Transformations of script variables ($(var(x){s.len}), $(ru{uri.user}), ...) and the small
// SIP URI splitter they and `== myself` use. The uri.* transformations are done here, in cfg,
// on the text (no call into the ScriptEnv): scheme sip/sips/tel, user, host, port, parameters.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/cfg/script.h"

namespace sipsd::script {

struct Transform {
  enum class Op : uint8_t {
    kSLen,      // {s.len}       length of the text (NULL: 0)
    kSInt,      // {s.int}       leading decimal integer of the text (none: 0)
    kSToLower,  // {s.tolower}
    kSToUpper,  // {s.toupper}
    kSSubstr,   // {s.substr,offset[,length]}  negative offset from the end; length 0 = the rest
    kUriUser,   // {uri.user}    "" when the URI has no user
    kUriHost,   // {uri.host}
    kUriPort,   // {uri.port}    integer; NULL when the URI has none
    kUriParam,  // {uri.param,name}  "" for a parameter without value; NULL when absent
  };
  Op op = Op::kSLen;
  int64_t a = 0;
  int64_t b = 0;
  std::string param;
};

// Compiles the text between { } ("s.substr,1,2"). "" when fine, else why not.
std::string compile_transform(std::string_view text, Transform* out);
// Names for did-you-mean.
std::string_view transform_names_text();

// Applies `t`. A string result may point into `v`'s text or into `scratch` (which the caller
// keeps alive as long as the result). Not a URI for uri.*: NULL.
ScriptValue apply_transform(const Transform& t, const ScriptValue& v, std::string& scratch);

// The parts of a SIP URI: "sip:user:pw@host:port;params?headers", also inside < >.
struct SipUriParts {
  std::string_view user;
  std::string_view host;    // IPv6 references keep their brackets
  int port = -1;            // -1: none
  std::string_view params;  // after the first ';' of the host part, without it ("" if none)
};
bool split_sip_uri(std::string_view uri, SipUriParts* out);
// The value of URI parameter `name` (case-insensitive) in `params` ("a=1;lr"); false if absent.
bool uri_param(std::string_view params, std::string_view name, std::string_view* value);

}  // namespace sipsd::script
