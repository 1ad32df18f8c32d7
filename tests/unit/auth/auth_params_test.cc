#include "core/auth/auth_params.h"

#include <gtest/gtest.h>

namespace sipsd::auth {
namespace {

Result<AuthParams> params_of(const std::string& modparams) {
  std::string text =
      "socket=tcp:127.0.0.1:5060\nloadmodule \"proto_tcp.so\"\nloadmodule \"sl.so\"\n"
      "loadmodule \"auth.so\"\nloadmodule \"auth_db.so\"\n" +
      modparams + "route { sl_send_reply(200, \"OK\"); }\n";
  auto cfg = load_config_text(text, "a.cfg");
  if (!cfg.ok()) return cfg.error();
  return auth_params(*cfg);
}

TEST(AuthParams, DefaultsAndValues) {
  auto p = params_of(
      "modparam(\"auth_db\", \"db_url\", \"sqlite:///tmp/x.db\")\n"
      "modparam(\"auth\", \"nonce_expire\", 60)\n"
      "modparam(\"auth\", \"secret\", \"0123456789abcdef0123456789abcdef\")\n"
      "modparam(\"auth_db\", \"calculate_ha1\", 1)\n"
      "modparam(\"auth_db\", \"password_column\", \"password\")\n"
      "modparam(\"auth_db\", \"use_domain\", 1)\n"
      "modparam(\"auth_db\", \"load_credentials\", \"\")\n");
  ASSERT_TRUE(p.ok()) << p.message();
  EXPECT_TRUE(p->auth_loaded);
  EXPECT_TRUE(p->auth_db_loaded);
  EXPECT_EQ(p->nonce_expire, 60);
  EXPECT_EQ(p->secret.size(), 32u);
  EXPECT_TRUE(p->calculate_ha1);
  EXPECT_EQ(p->password_column, "password");
  EXPECT_EQ(p->hash_column_sha256, "ha1_sha256");
  EXPECT_TRUE(p->use_domain);
  EXPECT_EQ(p->cache_refresh, 5);
}

TEST(AuthParams, ErrorsNameThePlace) {
  auto no_url = params_of("");
  ASSERT_FALSE(no_url.ok());
  EXPECT_NE(no_url.message().find("db_url"), std::string::npos);
  auto secret = params_of(
      "modparam(\"auth_db\", \"db_url\", \"sqlite:///tmp/x.db\")\n"
      "modparam(\"auth\", \"secret\", \"short\")\n");
  ASSERT_FALSE(secret.ok());
  EXPECT_NE(secret.message().find("a.cfg:7:"), std::string::npos) << secret.message();
  EXPECT_NE(secret.message().find("exactly 32 characters, got 5"), std::string::npos);
  auto url = params_of("modparam(\"auth_db\", \"db_url\", \"mysql://x/y\")\n");
  ASSERT_FALSE(url.ok());
  EXPECT_NE(url.message().find("unsupported database scheme 'mysql'"), std::string::npos);
  auto creds = params_of(
      "modparam(\"auth_db\", \"db_url\", \"sqlite:///tmp/x.db\")\n"
      "modparam(\"auth_db\", \"load_credentials\", \"rpid\")\n");
  ASSERT_FALSE(creds.ok());
  EXPECT_NE(creds.message().find("not supported"), std::string::npos);
}

}  // namespace
}  // namespace sipsd::auth
