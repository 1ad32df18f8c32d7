// SIP messages the micro-benchmarks feed to the framer, the parser and the route script: what a
// TLS phone typically sends (RFC 3261 syntax, realistic header set and sizes).
#pragma once

#include <string_view>

namespace sipsd::bench {

// A keep-alive / monitoring OPTIONS, about 500 bytes.
inline constexpr std::string_view kOptions =
    "OPTIONS sip:edge.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/TLS 192.0.2.10:50412;branch=z9hG4bK-524287-1---a1b2c3d4e5f60718;rport\r\n"
    "Max-Forwards: 70\r\n"
    "To: <sip:edge.example.com>\r\n"
    "From: \"Desk 1042\" <sip:1042@example.com>;tag=8f3c2a91\r\n"
    "Call-ID: 5f1e2d3c4b5a69788796a5b4c3d2e1f0@192.0.2.10\r\n"
    "CSeq: 4711 OPTIONS\r\n"
    "Contact: <sip:1042@192.0.2.10:50412;transport=tls>\r\n"
    "Accept: application/sdp\r\n"
    "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO, SUBSCRIBE\r\n"
    "Supported: replaces, outbound, gruu\r\n"
    "User-Agent: Example Phone 5.4.1\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

// An INVITE with an SDP offer (audio, two codecs, SRTP), about 1.2 KB.
inline constexpr std::string_view kInvite =
    "INVITE sip:2001@example.com SIP/2.0\r\n"
    "Via: SIP/2.0/TLS 192.0.2.10:50412;branch=z9hG4bK-524287-1---77e1c0de4a5b6c7d;rport\r\n"
    "Max-Forwards: 70\r\n"
    "Contact: <sip:1042@192.0.2.10:50412;transport=tls>;+sip.instance=\"<urn:uuid:"
    "00000000-0000-1000-8000-001122334455>\"\r\n"
    "To: <sip:2001@example.com>\r\n"
    "From: \"Desk 1042\" <sip:1042@example.com>;tag=3a9d7c11\r\n"
    "Call-ID: 9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a49@192.0.2.10\r\n"
    "CSeq: 1 INVITE\r\n"
    "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO, SUBSCRIBE\r\n"
    "Content-Type: application/sdp\r\n"
    "Supported: replaces, outbound, gruu, timer\r\n"
    "Session-Expires: 1800;refresher=uac\r\n"
    "Min-SE: 90\r\n"
    "Proxy-Authorization: Digest username=\"1042\",realm=\"example.com\","
    "nonce=\"5f3a1b2c4d5e6f708192a3b4c5d6e7f8\",uri=\"sip:2001@example.com\","
    "response=\"0123456789abcdef0123456789abcdef\",algorithm=MD5\r\n"
    "User-Agent: Example Phone 5.4.1\r\n"
    "Content-Length: 329\r\n"
    "\r\n"
    "v=0\r\n"
    "o=- 3912145863 3912145863 IN IP4 192.0.2.10\r\n"
    "s=-\r\n"
    "c=IN IP4 192.0.2.10\r\n"
    "t=0 0\r\n"
    "m=audio 40000 RTP/SAVP 0 8 101\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-15\r\n"
    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 "
    "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:32\r\n"
    "a=ptime:20\r\n"
    "a=sendrecv\r\n";

// A REGISTER refreshing one binding, about 600 bytes.
inline constexpr std::string_view kRegister =
    "REGISTER sip:example.com SIP/2.0\r\n"
    "Via: SIP/2.0/TLS 192.0.2.10:50412;branch=z9hG4bK-524287-1---0f1e2d3c4b5a6978;rport\r\n"
    "Max-Forwards: 70\r\n"
    "Contact: <sip:1042@192.0.2.10:50412;transport=tls;ob>;reg-id=1;+sip.instance=\"<urn:uuid:"
    "00000000-0000-1000-8000-001122334455>\"\r\n"
    "To: <sip:1042@example.com>\r\n"
    "From: <sip:1042@example.com>;tag=b4c5d6e7\r\n"
    "Call-ID: 0a1b2c3d4e5f60718293a4b5c6d7e8f9@192.0.2.10\r\n"
    "CSeq: 27 REGISTER\r\n"
    "Expires: 600\r\n"
    "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO, SUBSCRIBE\r\n"
    "Supported: path, outbound, gruu\r\n"
    "User-Agent: Example Phone 5.4.1\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

}  // namespace sipsd::bench
