// Modparams that name an AVP (registrar's received_avp, tls_mgm's client_*_domain_avp) take
// "name" or "$avp(name)", as OpenSIPS's do, and nothing else.
#include <gtest/gtest.h>

#include "core/cfg/pv_spec.h"

namespace sipsd::cfg {
namespace {

TEST(AvpParamName, BareOrWrapped) {
  EXPECT_EQ(avp_param_name("rcv"), "rcv");
  EXPECT_EQ(avp_param_name("$avp(rcv)"), "rcv");
  EXPECT_EQ(avp_param_name("$avp(tls_sip_dom)"), "tls_sip_dom");
}

TEST(AvpParamName, AnythingElseIsNone) {
  EXPECT_EQ(avp_param_name(""), "");
  EXPECT_EQ(avp_param_name("$avp()"), "");
  EXPECT_EQ(avp_param_name("$var(rcv)"), "");
  EXPECT_EQ(avp_param_name("$avp(rcv"), "");
  EXPECT_EQ(avp_param_name("two words"), "");
  EXPECT_EQ(avp_param_name("$avp(a(b))"), "");
}

}  // namespace
}  // namespace sipsd::cfg
