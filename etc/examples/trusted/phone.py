#!/usr/bin/env python3
"""The phones of the trusted-call example (etc/examples/trusted/demo.sh): a small SIP user agent
over TLS (or UDP for the spoofing caller) with digest authentication, Python's standard library
only. Each phone registers with its home server over its own TLS connection and never listens:
calls must reach it over that connection (as behind NAT). Callees answer every INVITE (180, 200)
and print the Alert-Info it carried; callers ACK and hang up along the Record-Route set.

usage: phone.py --dir DIR   (DIR: the directory demo.sh made, with a/ca.pem and b/ca.pem)
"""
import argparse
import hashlib
import os
import re
import select
import socket
import ssl
import sys
import time

SERVERS = {'a.example': '127.0.0.1', 'b.example': '127.0.0.2'}
TLS_PORT, UDP_PORT, PEERING_PORT = 15061, 15060, 15062


def md5(s):
    return hashlib.md5(s.encode()).hexdigest()


def new_id():
    return os.urandom(6).hex()


class Message:
    def __init__(self, text):
        head, _, self.body = text.partition('\r\n\r\n')
        lines = head.split('\r\n')
        self.first = lines[0]
        self.headers = []
        for line in lines[1:]:
            name, _, value = line.partition(':')
            self.headers.append((name.strip(), value.strip()))

    def all(self, name):
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def get(self, name):
        values = self.all(name)
        return values[0] if values else None

    @property
    def is_reply(self):
        return self.first.startswith('SIP/2.0 ')

    @property
    def code(self):
        return int(self.first.split()[1]) if self.is_reply else 0

    @property
    def method(self):
        return self.first.split()[0] if not self.is_reply else self.get('CSeq').split()[1]


class Phone:
    def __init__(self, user, domain, password, dirname, udp_to=None, peer_of=None, cert_of=None):
        self.user, self.domain, self.password = user, domain, password
        self.aor = f'{user}@{domain}'
        self.buf = b''
        self.seen = []  # what this phone printed, for the summary
        self.cseq = 1
        if udp_to:  # a plain UDP caller that sends straight to udp_to's server
            self.udp = (udp_to, UDP_PORT)
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind(('127.0.0.1', 0))
            self.transport = 'UDP'
        elif peer_of:  # a server of domain cert_of, at peer_of's peering port, with its cert
            self.udp = None
            server = SERVERS[peer_of]
            ctx = ssl.create_default_context(cafile=os.path.join(dirname, peer_of[0], 'ca.pem'))
            ctx.load_cert_chain(os.path.join(dirname, cert_of[0], 'cert.pem'),
                                os.path.join(dirname, cert_of[0], 'key.pem'))
            raw = socket.create_connection((server, PEERING_PORT), timeout=5)
            self.sock = ctx.wrap_socket(raw, server_hostname=server)
            self.transport = 'TLS'
        else:
            self.udp = None
            server = SERVERS[domain]
            ctx = ssl.create_default_context(cafile=os.path.join(dirname, domain[0], 'ca.pem'))
            raw = socket.create_connection((server, TLS_PORT), timeout=5)
            self.sock = ctx.wrap_socket(raw, server_hostname=server)
            self.transport = 'TLS'
        self.local = self.sock.getsockname()

    # --- wire ---------------------------------------------------------------------------------
    def send(self, text):
        data = text.encode()
        if self.udp:
            self.sock.sendto(data, self.udp)
        else:
            self.sock.sendall(data)

    def read_messages(self):
        """Messages that have arrived (one read)."""
        if self.udp:
            data, _ = self.sock.recvfrom(65535)
            return [Message(data.decode(errors='replace'))]
        # Readable may mean a TLS record without application data (a session ticket): read
        # without blocking.
        self.sock.setblocking(False)
        try:
            chunk = self.sock.recv(65535)
        except (ssl.SSLWantReadError, BlockingIOError):
            return []
        finally:
            self.sock.setblocking(True)
        if not chunk:
            raise ConnectionError(f'{self.aor}: the server closed the connection')
        self.buf += chunk
        out = []
        while True:
            self.buf = self.buf.lstrip(b'\r\n')
            end = self.buf.find(b'\r\n\r\n')
            if end < 0:
                break
            m = re.search(rb'\r\n(?:Content-Length|l)\s*:\s*(\d+)', self.buf[:end], re.I)
            total = end + 4 + (int(m.group(1)) if m else 0)
            if len(self.buf) < total:
                break
            out.append(Message(self.buf[:total].decode(errors='replace')))
            self.buf = self.buf[total:]
        return out

    def via(self, branch):
        return (f'SIP/2.0/{self.transport} {self.local[0]}:{self.local[1]};branch=z9hG4bK{branch}'
                ';rport' + (';alias' if not self.udp else ''))

    def contact(self):
        t = ';transport=tls' if not self.udp else ''
        return f'<sip:{self.user}@{self.local[0]}:{self.local[1]}{t}>'

    def request(self, method, ruri, to, call_id, from_tag, cseq, extra='', body='', to_tag=''):
        lines = [f'{method} {ruri} SIP/2.0', f'Via: {self.via(new_id())}', 'Max-Forwards: 70',
                 f'From: <sip:{self.aor}>;tag={from_tag}',
                 f'To: <{to}>' + (f';tag={to_tag}' if to_tag else ''), f'Call-ID: {call_id}',
                 f'CSeq: {cseq} {method}', f'Contact: {self.contact()}', 'User-Agent: demo-phone']
        if extra:
            lines.append(extra.rstrip('\r\n'))
        if body:
            lines.append('Content-Type: application/sdp')
        lines.append(f'Content-Length: {len(body)}')
        return '\r\n'.join(lines) + '\r\n\r\n' + body

    def credentials(self, reply, method, ruri):
        """The Authorization/Proxy-Authorization answer to a 401/407 (MD5, qop=auth)."""
        name = 'WWW-Authenticate' if reply.code == 401 else 'Proxy-Authenticate'
        challenge = None
        for c in reply.all(name):
            alg = re.search(r'algorithm="?([\w-]+)', c)
            if not alg or alg.group(1).upper() == 'MD5':
                challenge = c
                break
        params = dict(re.findall(r'(\w+)="?([^",]*)"?', challenge))
        ha1 = md5(f'{self.user}:{params["realm"]}:{self.password}')
        ha2 = md5(f'{method}:{ruri}')
        cnonce, nc = new_id(), '00000001'
        response = md5(f'{ha1}:{params["nonce"]}:{nc}:{cnonce}:auth:{ha2}')
        header = 'Authorization' if reply.code == 401 else 'Proxy-Authorization'
        return (f'{header}: Digest username="{self.user}", realm="{params["realm"]}", '
                f'nonce="{params["nonce"]}", uri="{ruri}", response="{response}", '
                f'algorithm=MD5, qop=auth, nc={nc}, cnonce="{cnonce}"')

    def say(self, text):
        line = f'{self.aor:>18}: {text}'
        print(line)
        self.seen.append(text)


class Demo:
    def __init__(self, dirname):
        self.dir = dirname
        self.phones = []

    def phone(self, *args, **kw):
        p = Phone(*args, self.dir, **kw)
        self.phones.append(p)
        return p

    def pump(self, waiting_for, want, timeout=10):
        """Reads every phone's socket, answering calls on callee phones, until `waiting_for`
        gets a message for which want(message) is true; returns that message."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            ready, _, _ = select.select([p.sock for p in self.phones], [], [], 0.2)
            pending = [p for p in self.phones if not p.udp and p.sock.pending()]
            for p in self.phones:
                if p.sock not in ready and p not in pending:
                    continue
                for m in p.read_messages():
                    if p is waiting_for and want(m):
                        return m
                    self.answer(p, m)
        raise TimeoutError(f'{waiting_for.aor}: nothing expected arrived in {timeout} s')

    def answer(self, p, m):
        """A callee's side: ring and answer an INVITE, accept a BYE."""
        if m.is_reply or m.method == 'ACK':
            return
        copied = ['Via', 'Record-Route', 'From', 'Call-ID', 'CSeq']
        base = [f'{h}: {v}' for h, v in m.headers if h in copied]
        to = m.get('To')
        if m.method == 'INVITE':
            alert = m.get('Alert-Info')
            who = re.search(r'<sip:([^>;]+)', m.get('From')).group(1)
            p.say(f'rings for a call from {who}: ' +
                  (f'TRUSTED (Alert-Info: {alert})' if alert else 'not trusted (no Alert-Info)'))
            to += f';tag={new_id()}'
            for code, reason in ((180, 'Ringing'), (200, 'OK')):
                lines = [f'SIP/2.0 {code} {reason}'] + base + [f'To: {to}',
                                                              f'Contact: {p.contact()}']
                p.send('\r\n'.join(lines) + '\r\nContent-Length: 0\r\n\r\n')
        elif m.method in ('BYE', 'OPTIONS'):
            lines = ['SIP/2.0 200 OK'] + base + [f'To: {to}']
            p.send('\r\n'.join(lines) + '\r\nContent-Length: 0\r\n\r\n')

    def register(self, p):
        call_id, tag = new_id(), new_id()
        ruri, to = f'sip:{p.domain}', f'sip:{p.aor}'
        extra = 'Expires: 300'
        for _ in range(2):
            p.send(p.request('REGISTER', ruri, to, call_id, tag, p.cseq, extra))
            r = self.pump(p, lambda m: m.is_reply and m.code >= 200)
            p.cseq += 1
            if r.code == 401:
                extra = 'Expires: 300\r\n' + p.credentials(r, 'REGISTER', ruri)
                continue
            break
        p.say(f'REGISTER over {p.transport}: {r.first[8:]}')
        if r.code != 200:
            raise RuntimeError(f'{p.aor}: registration failed')

    def call(self, p, callee, extra=''):
        """One call from p to callee: INVITE (answering a 407), ACK, BYE."""
        call_id, tag = new_id(), new_id()
        ruri = f'sip:{callee}'
        body = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n' \
               'm=audio 4000 RTP/AVP 0\r\n'
        auth = ''
        for _ in range(2):
            inv = p.request('INVITE', ruri, ruri, call_id, tag, p.cseq, extra + auth, body)
            p.send(inv)
            r = self.pump(p, lambda m: m.is_reply and m.code >= 200 and m.method == 'INVITE')
            if r.code in (401, 407):
                self.ack(p, r, ruri, call_id, tag, p.cseq)
                auth = ('\r\n' if extra else '') + p.credentials(r, 'INVITE', ruri)
                p.cseq += 1
                continue
            break
        p.say(f'calls {callee} over {p.transport}: {r.first[8:]}')
        if r.code != 200:
            self.ack(p, r, ruri, call_id, tag, p.cseq)
            return False
        # In the dialog: to the callee's Contact, along the Record-Route set reversed.
        target = re.search(r'<([^>]+)>', r.get('Contact')).group(1)
        routes = ', '.join(reversed([v for rr in r.all('Record-Route') for v in rr.split(',')]))
        route = f'Route: {routes}' if routes else ''
        to_tag = re.search(r'tag=([^;>]+)', r.get('To')).group(1)
        p.send(p.request('ACK', target, ruri, call_id, tag, p.cseq, route, to_tag=to_tag))
        p.cseq += 1
        p.send(p.request('BYE', target, ruri, call_id, tag, p.cseq, route, to_tag=to_tag))
        bye = self.pump(p, lambda m: m.is_reply and m.method == 'BYE' and m.code >= 200)
        p.cseq += 1
        p.say(f'hangs up: BYE {bye.first[8:]}')
        return bye.code == 200

    def ack(self, p, r, ruri, call_id, tag, cseq):
        to_tag = re.search(r'tag=([^;>]+)', r.get('To') or '')
        p.send(p.request('ACK', ruri, ruri, call_id, tag, cseq,
                         to_tag=to_tag.group(1) if to_tag else ''))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--dir', required=True)
    args = ap.parse_args()
    demo = Demo(args.dir)
    alice = demo.phone('alice', 'a.example', 'alicepw')
    alice2 = demo.phone('alice2', 'a.example', 'alice2pw')
    bob = demo.phone('bob', 'b.example', 'bobpw')
    for p in (alice, alice2, bob):
        demo.register(p)
    ok = True
    print('\n1. alice calls alice2 (same domain, alice authenticated by a.example):')
    ok &= demo.call(alice, 'alice2@a.example')
    print('\n2. alice calls bob (a.example relays over mutual TLS; b.example verifies its peer):')
    ok &= demo.call(alice, 'bob@b.example')
    print('\n3. a caller sends its own Alert-Info (removed, then decided again):')
    ok &= demo.call(alice, 'bob@b.example', 'Alert-Info: <http://evil.example/fake-trust.wav>')
    print('\n4. someone sends a call straight to b.example over UDP with From alice@a.example:')
    mallory = demo.phone('alice', 'a.example', 'wrong', udp_to=SERVERS['b.example'])
    ok &= demo.call(mallory, 'bob@b.example')
    print('\n5. c.example\'s server (a valid certificate from a CA b.example accepts, but not the '
          'trusted peer) relays carol\'s call over the peering port:')
    carol = demo.phone('carol', 'c.example', '', peer_of='b.example', cert_of='c.example')
    ok &= demo.call(carol, 'bob@b.example')
    print('\n6. c.example\'s server relays a call claiming to come from alice@a.example:')
    forger = demo.phone('alice', 'a.example', '', peer_of='b.example', cert_of='c.example')
    ok &= demo.call(forger, 'bob@b.example')
    expected = [(alice2, 'TRUSTED'), (bob, 'TRUSTED'), (bob, 'TRUSTED'), (bob, 'not'),
                (bob, 'not'), (bob, 'not')]
    rings = {p: [s for s in p.seen if s.startswith('rings')] for p in (alice2, bob)}
    seen = rings[alice2] + rings[bob]
    got = [(alice2, s.split(': ', 1)[1].split()[0]) for s in rings[alice2]] + \
          [(bob, s.split(': ', 1)[1].split()[0]) for s in rings[bob]]
    if not ok or got != expected or any('evil' in s for s in seen):
        print('\ndemo: FAILED: not every call went as expected', file=sys.stderr)
        return 1
    print('\nevery call went as expected: trusted where the caller was authenticated by its '
          'server, untrusted otherwise')
    return 0


if __name__ == '__main__':
    sys.exit(main())
