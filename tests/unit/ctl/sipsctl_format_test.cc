// sipsctl's human output (core/sipsctl_format.h) on canned MI results shaped as the server
// sends them (the reply shapes of the OpenSIPS MI reference, B7, and sipsd's additions).
#include "core/ctl/sipsctl_format.h"

#include <gtest/gtest.h>

#include <string>

namespace sipsd::ctl {
namespace {

Json parse(const std::string& text) {
  Result<Json> j = Json::parse(text);
  EXPECT_TRUE(j.ok()) << text << ": " << j.message();
  return j.ok() ? *j : Json();
}

TEST(SipsctlFormat, TableAlignsColumnsAndDoesNotPadTheLastOne) {
  EXPECT_EQ(format_table({"ID", "Name"}, {{"1", "a"}, {"100", "longer"}}, {true}),
            " ID  Name\n"
            "  1  a\n"
            "100  longer\n");
  // Colour sequences take no width; UTF-8 counts by character; missing cells are empty.
  EXPECT_EQ(format_table({"A", "B", "C"}, {{"\033[1;31m12\033[0m", "é", "x"}, {"3"}}),
            "A   B  C\n"
            "\033[1;31m12\033[0m  é  x\n"
            "3\n");
}

TEST(SipsctlFormat, UlDump) {
  Json dump =
      parse(R"({"Domains":[{"name":"location","hash_size":512,"AORs":[{"AOR":"alice","Contacts":[)"
            R"({"Contact":"sip:alice@10.0.0.1","ContactID":1,"Expires":599,"Q":"0.5","Callid":"c",)"
            R"("Cseq":1,"Received":"sip:10.0.0.1:4000","State":"CS_NEW","Flags":0,"Cflags":"",)"
            R"("Socket":"tls:127.0.0.1:5061","Methods":4294967295}]}]}]})");
  std::string out = format_result("ul_dump", dump);
  EXPECT_NE(out.find("AOR    Contact"), std::string::npos) << out;
  EXPECT_NE(out.find("alice  sip:alice@10.0.0.1"), std::string::npos) << out;
  EXPECT_NE(out.find("599"), std::string::npos) << out;
  EXPECT_NE(out.find("tls:127.0.0.1:5061"), std::string::npos) << out;
  EXPECT_EQ(format_result("ul_dump", parse(R"({"Domains":[{"name":"location","AORs":[]}]})")),
            "no registrations\n");
}

TEST(SipsctlFormat, Ps) {
  Json ps = parse(R"({"Processes":[
      {"ID":0,"PID":123,"Type":"supervisor"},
      {"ID":1,"PID":124,"Type":"MI FIFO"},
      {"ID":2,"PID":12345,"Type":"TCP receiver","Listeners":["tls:127.0.0.1:5061","tcp:127.0.0.1:5060"]}]})");
  EXPECT_EQ(format_result("ps", ps),
            "ID    PID  Type          Listeners\n"
            " 0    123  supervisor\n"
            " 1    124  MI FIFO\n"
            " 2  12345  TCP receiver  tls:127.0.0.1:5061, tcp:127.0.0.1:5060\n");
  // OpenSIPS's shape, without listeners.
  EXPECT_EQ(format_ps(parse(R"({"Processes":[{"ID":0,"PID":31979,"Type":"attendant"}]})")),
            "ID    PID  Type\n"
            " 0  31979  attendant\n");
}

TEST(SipsctlFormat, ProcessesWithAStalledWorker) {
  EXPECT_EQ(format_ps(parse(R"({"Processes":[{"ID":0,"PID":7,"Type":"supervisor"},
      {"ID":1,"PID":8,"Type":"TCP receiver","Stalled":true},
      {"ID":2,"PID":9,"Type":"TCP receiver","Stalled":false}]})")),
            "ID  PID  Type          Stalled\n"
            " 0    7  supervisor\n"
            " 1    8  TCP receiver  yes\n"
            " 2    9  TCP receiver  no\n");
}

TEST(SipsctlFormat, TcpConnections) {
  Json conns = parse(R"({"Connections":[
      {"ID":7,"Type":"tls","State":0,"Remote":"127.0.0.1:40312","Local":"127.0.0.1:5061",
       "Lifetime":"2026-11-26 20:22:21","Alias port":40312,"TLS Version":"TLSv1.3",
       "TLS Cipher":"TLS_AES_256_GCM_SHA384","TLS Peer verified":false,"TLS SNI":"sip.example.com",
       "TLS Domain":"sip","Worker":1},
      {"ID":12,"Type":"tcp","State":1,"Remote":"10.0.0.9:5060","Local":"10.0.0.1:40000",
       "Lifetime":"2026-11-26 20:23:00","Worker":3}]})");
  EXPECT_EQ(format_result("list_tcp_conns", conns),
            "ID  Type  State       Remote           Local           Lifetime             "
            "TLS                             Verified  SNI              Domain  Aliases  Worker\n"
            " 7  tls   ok          127.0.0.1:40312  127.0.0.1:5061  2026-11-26 20:22:21  "
            "TLSv1.3/TLS_AES_256_GCM_SHA384  no        sip.example.com  sip     40312         1\n"
            "12  tcp   connecting  10.0.0.9:5060    10.0.0.1:40000  2026-11-26 20:23:00  "
            "-                               -         -                -       -             3\n");
}

TEST(SipsctlFormat, TcpConnectionsWithRepeatedAliasesAndNoTls) {
  // Built by hand: repeated keys, as OpenSIPS sends them for several aliases.
  Json c = Json::object();
  c.add("ID", 2050006191);
  c.add("Type", "tcp");
  c.add("State", -2);
  c.add("Remote", "127.0.0.1:47386");
  c.add("Local", "127.0.0.1:15060");
  c.add("Lifetime", "2026-11-26 20:22:21");
  c.add("Alias port", 47386);
  c.add("Alias port", 5060);
  Json result = Json::object();
  result.add("Connections", Json::array()).push(c);
  EXPECT_EQ(format_tcp_conns(result),
            "        ID  Type  State  Remote           Local            Lifetime             "
            "Aliases\n"
            "2050006191  tcp   error  127.0.0.1:47386  127.0.0.1:15060  2026-11-26 20:22:21  "
            "47386,5060\n");
  EXPECT_EQ(format_tcp_conns(parse(R"({"Connections":[]})")), "no connections\n");
  EXPECT_EQ(format_tcp_conns(Json()), "TCP is disabled\n");
}

// Strings from peers and files (SNI, subjects, SANs, anything) never reach the terminal raw:
// no cursor movement, no colour, no new row, no title change.
TEST(SipsctlFormat, TableCellsEscapeControlBytesAndBadUtf8) {
  Json conn = Json::object();
  conn.add("ID", static_cast<int64_t>(7));
  conn.add("Type", "tls");
  conn.add("State", static_cast<int64_t>(0));
  conn.add("Remote", "127.0.0.1:5061");
  conn.add("Local", "127.0.0.1:5061");
  conn.add("Lifetime", "2026-11-26 20:22:21");
  conn.add("TLS Version", "TLSv1.3");
  conn.add("TLS Cipher", "TLS_AES_128_GCM_SHA256");
  conn.add("TLS Peer verified", false);
  conn.add("TLS SNI", std::string("a\nFORGED\x1b]0;t\x07\x80\xff\t\x7f"
                                  "b"));
  conn.add("TLS Domain", "d\xc3\xa9");  // well-formed UTF-8 stays
  Json list = Json::array();
  list.push(std::move(conn));
  Json result = Json::object();
  result.add("Connections", std::move(list));
  const std::string out = format_tcp_conns(result);
  EXPECT_NE(out.find("a\\nFORGED\\x1b]0;t\\x07\\x80\\xff\\t\\x7fb"), std::string::npos) << out;
  EXPECT_NE(out.find("d\xc3\xa9"), std::string::npos) << out;
  size_t lines = 0;
  for (char c : out) lines += c == '\n';
  EXPECT_EQ(lines, 2u) << out;
  std::string ascii = out;
  ascii.erase(ascii.find("d\xc3\xa9"), 3);  // the one well-formed UTF-8 value
  for (size_t i = 0; i < ascii.size(); ++i) {
    const auto c = static_cast<unsigned char>(ascii[i]);
    if (c == '\n') continue;
    EXPECT_TRUE(c >= 0x20 && c < 0x7f) << "byte " << static_cast<int>(c) << " at " << i;
  }
  // A bare string result and statistics names/values are shown the same way.
  EXPECT_EQ(format_result("x", Json("ok\x1b[2J")), "ok\\x1b[2J\n");
}

TEST(SipsctlFormat, TlsList) {
  Json domains = parse(R"({"Domains":[
      {"name":"cli","type":"TLS_DOMAIN_CLI","IP ADDRESS FILTERS":["*"],"SIP DOMAIN FILTERS":["*"],
       "METHOD":"TLSv1_2-TLSv1_3","VERIFY_CERT":true,"REQ_CLI_CERT":false,"CRL_CHECKALL":false,
       "CERT_FILE":"","CRL_DIR":"","CA_FILE":"/etc/sipsd/ca.pem","CA_DIR":"/etc/pki/CA/",
       "PKEY_FILE":"","CIPHER_LIST":"","DH_PARAMS_FILE":"","EC_CURVE":""},
      {"name":"srv","type":"TLS_DOMAIN_SRV","IP ADDRESS FILTERS":["127.0.0.1:5061","*"],
       "SIP DOMAIN FILTERS":["*"],"METHOD":"SSLv23","VERIFY_CERT":false,"REQ_CLI_CERT":false,
       "CRL_CHECKALL":false,"CERT_FILE":"/etc/sipsd/cert.pem","CRL_DIR":"","CA_FILE":"",
       "CA_DIR":"/etc/pki/CA/","PKEY_FILE":"/etc/sipsd/key.pem","CIPHER_LIST":"",
       "DH_PARAMS_FILE":"","EC_CURVE":"","SNI":"extra key"}]})");
  EXPECT_EQ(format_result("tls_list", domains),
            "cli (client domain)\n"
            "  match IP addresses  *\n"
            "  match SIP domains   *\n"
            "  TLS method          TLSv1_2-TLSv1_3\n"
            "  verify peer cert    yes\n"
            "  require peer cert   no\n"
            "  CRL check all       no\n"
            "  certificate         -\n"
            "  CRL dir             -\n"
            "  CA file             /etc/sipsd/ca.pem\n"
            "  CA dir              /etc/pki/CA/\n"
            "  private key         -\n"
            "  ciphers             -\n"
            "  DH params           -\n"
            "  EC curve            -\n"
            "\n"
            "srv (server domain)\n"
            "  match IP addresses  127.0.0.1:5061, *\n"
            "  match SIP domains   *\n"
            "  TLS method          SSLv23\n"
            "  verify peer cert    no\n"
            "  require peer cert   no\n"
            "  CRL check all       no\n"
            "  certificate         /etc/sipsd/cert.pem\n"
            "  CRL dir             -\n"
            "  CA file             -\n"
            "  CA dir              /etc/pki/CA/\n"
            "  private key         /etc/sipsd/key.pem\n"
            "  ciphers             -\n"
            "  DH params           -\n"
            "  EC curve            -\n"
            "  SNI                 extra key\n");
  EXPECT_EQ(format_tls_list(parse(R"({"Domains":[]})")), "no TLS domains\n");
}

TEST(SipsctlFormat, CertStatusHighlightsCertificatesAboutToExpire) {
  Json status = parse(R"({"Domains":[
      {"name":"srv","type":"server","Subject":"CN=localhost","SANs":["DNS:localhost","IP:127.0.0.1"],
       "Not after":"2029-03-01 00:53:06 UTC","Days left":823,"Certificate":"/path/cert.pem"},
      {"name":"edge","type":"server","Subject":"CN=edge.example.com","SANs":[],
       "Not after":"2026-12-05 00:00:00 UTC","Days left":8},
      {"name":"old","type":"client","Subject":"CN=old","SANs":["DNS:old"],
       "Not after":"2026-11-01 00:00:00 UTC","Days left":-26}]})");
  EXPECT_EQ(
      format_result("tls_cert_status", status),
      "Domain  Type    Subject              SANs                         Not after"
      "                Days left\n"
      "srv     server  CN=localhost         DNS:localhost, IP:127.0.0.1  2029-03-01 00:53:06 UTC"
      "  823\n"
      "edge    server  CN=edge.example.com  -                            2026-12-05 00:00:00 UTC"
      "  8 (!)\n"
      "old     client  CN=old               DNS:old                      2026-11-01 00:00:00 UTC"
      "  -26 (expired)\n");
  FormatOptions color;
  color.color = true;
  std::string colored = format_cert_status(status, color);
  EXPECT_NE(colored.find("\033[1;31m8\033[0m\n"), std::string::npos) << colored;
  EXPECT_NE(colored.find("\033[1;31m-26\033[0m\n"), std::string::npos) << colored;
  EXPECT_NE(colored.find("  823\n"), std::string::npos) << colored;
}

TEST(SipsctlFormat, StatisticsGroupedByPrefix) {
  Json stats = Json::object();
  stats.add("core:rcv_requests", 1200);
  stats.add("core:rcv_replies", 0);
  stats.add("tls:conns_accepted", 35);
  stats.add("tls:handshakes_failed", 2);
  stats.add("load", 7);
  stats.add("core:bad_msg_hdr", 1);
  EXPECT_EQ(format_result("get_statistics", stats),
            "load                    7\n"
            "core:\n"
            "  bad_msg_hdr           1\n"
            "  rcv_replies           0\n"
            "  rcv_requests       1200\n"
            "tls:\n"
            "  conns_accepted       35\n"
            "  handshakes_failed     2\n");
  // Parsed replies come out the same.
  EXPECT_EQ(format_statistics(parse(stats.dump())), format_statistics(stats));

  Json kinds = Json::object();
  kinds.add("core:rcv_requests", "incremental");
  kinds.add("core:timestamp", "non-incremental");
  EXPECT_EQ(format_result("list_statistics", kinds),
            "core:\n"
            "  rcv_requests  incremental\n"
            "  timestamp     non-incremental\n");
  EXPECT_EQ(format_statistics(Json::object()), "no matching statistics\n");
}

TEST(SipsctlFormat, EverythingElseIsIndentedJsonOrABareString) {
  EXPECT_EQ(format_result("reset_statistics", Json("OK")), "OK\n");
  Json uptime = Json::object();
  uptime.add("Now", "Thu Nov 26 19:21:50 2026");
  uptime.add("Up time", "6 [sec]");
  EXPECT_EQ(format_result("uptime", uptime),
            "{\n"
            "  \"Now\": \"Thu Nov 26 19:21:50 2026\",\n"
            "  \"Up time\": \"6 [sec]\"\n"
            "}\n");
  EXPECT_EQ(format_result("which", parse(R"([[],["level"],["level","pid"]])")),
            "[\n"
            "  [],\n"
            "  [\n"
            "    \"level\"\n"
            "  ],\n"
            "  [\n"
            "    \"level\",\n"
            "    \"pid\"\n"
            "  ]\n"
            "]\n");
  EXPECT_EQ(format_result("arg", Json::array()), "[]\n");
  // A table command whose result has an unexpected shape still prints something useful.
  EXPECT_EQ(format_result("ps", Json("odd")), "\"odd\"\n");
}

TEST(SipsctlFormat, CommandListInColumns) {
  Json which = parse(R"(["get_statistics","ps","uptime","version","which","tls_list","help"])");
  EXPECT_EQ(format_command_list(which, 40),
            "get_statistics  which\n"
            "ps              tls_list\n"
            "uptime          help\n"
            "version\n");
  EXPECT_EQ(format_result("which", which), format_command_list(which));
}

TEST(SipsctlFormat, WatchRatesFromTwoSamples) {
  Json before = Json::object();
  before.add("core:rcv_requests", 100);
  before.add("tcp:conns_accepted", 10);
  before.add("tls:conns_accepted", 20);
  before.add("tls:handshakes_ok", 18);
  before.add("tls:handshakes_failed", 2);
  before.add("tcp:conns_open", 4);
  before.add("tls:conns_open", 15);
  Json after = Json::object();
  after.add("core:rcv_requests", 400);
  after.add("tcp:conns_accepted", 12);
  after.add("tls:conns_accepted", 26);
  after.add("tls:handshakes_ok", 23);
  after.add("tls:handshakes_failed", 3);
  after.add("tcp:conns_open", 5);
  after.add("tls:conns_open", 19);
  WatchRates r = watch_rates(before, after, 2.0);
  EXPECT_DOUBLE_EQ(r.requests_per_s, 150);
  EXPECT_DOUBLE_EQ(r.accepted_per_s, 4);
  EXPECT_DOUBLE_EQ(r.handshakes_ok_per_s, 2.5);
  EXPECT_DOUBLE_EQ(r.handshakes_failed_per_s, 0.5);
  EXPECT_EQ(r.open, 24);
  EXPECT_EQ(format_watch_header(),
            "time          open  accepted/s   tls_hs/s  tls_hs_fail/s      req/s\n");
  EXPECT_EQ(format_watch_line("20:22:21", r),
            "20:22:21        24         4.0        2.5            0.5      150.0\n");
  EXPECT_EQ(format_watch_json("20:22:21", r),
            "{\"time\":\"20:22:21\",\"open\":24,\"accepted_per_s\":4.00,"
            "\"handshakes_ok_per_s\":2.50,\"handshakes_failed_per_s\":0.50,"
            "\"requests_per_s\":150.00}\n");
}

TEST(SipsctlFormat, WatchCopesWithResetsAndMissingCounters) {
  Json before = Json::object();
  before.add("core:rcv_requests", 500);
  before.add("tls:conns_handled", 9);
  Json after = Json::object();
  after.add("core:rcv_requests", 30);  // reset_statistics in between
  after.add("tls:conns_handled", 10);
  after.add("tls:conns_closed", 4);  // no conns_open: handled - closed
  WatchRates r = watch_rates(before, after, 1.0);
  EXPECT_DOUBLE_EQ(r.requests_per_s, 30);
  EXPECT_DOUBLE_EQ(r.accepted_per_s, 0);
  EXPECT_EQ(r.open, 6);
  WatchRates none = watch_rates(Json::object(), Json::object(), 1.0);
  EXPECT_EQ(none.open, -1);
  EXPECT_EQ(format_watch_line("00:00:00", none),
            "00:00:00         -         0.0        0.0            0.0        0.0\n");
}

}  // namespace
}  // namespace sipsd::ctl
