#!/usr/bin/env python3
"""Rewrites the "# sipsd-expect:" lines of every tests/cfg_compat/*.cfg from what `sipsd -c`
says today (run it after sipsd learns a module, then review the diff).

usage: tests/cfg_compat/update_expectations.py [build-dir]   (default: build)
"""
import os
import re
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, '../../build'))
certs = os.path.join(build, 'test-certs')
if not os.path.isdir(certs):
    subprocess.run(['sh', os.path.join(here, '../gen_certs.sh'), certs], check=True,
                   capture_output=True)
tmp = tempfile.mkdtemp(prefix='sipsd-compat-')
for f in sorted(os.listdir(here)):
    if not f.endswith('.cfg'):
        continue
    lines = [l for l in open(os.path.join(here, f)).read().split('\n')
             if not l.startswith('# sipsd-expect: ')]
    i = 0
    while i < len(lines) and lines[i].startswith('#'):
        i += 1
    hdr = [l for l in lines[:i] if not l.startswith('# What sipsd -c says')
           and not l.startswith('# sipsd -c loads it')]
    while hdr and hdr[-1] == '#':
        hdr.pop()
    path = os.path.join(tmp, f)
    open(path, 'w').write('\n'.join(hdr + lines[i:]).replace('@CERTS@', certs))
    r = subprocess.run([os.path.join(build, 'sipsd'), '-c', '-f', path], capture_output=True,
                       text=True)
    where = re.compile(re.escape(path) + r':-?\d+:\d+: (.*)$')
    expected = []
    for line in r.stderr.split('\n'):
        if 'WARNING:' in line or 'NOTICE:' in line:
            continue
        m = where.search(line)
        if m:
            expected.append(m.group(1))
    if expected:
        block = ['#', '# What sipsd -c says today (checked by tests/integration/cfg_compat_test.cc):']
        block += ['# sipsd-expect: ' + e for e in expected]
    else:
        block = ['#', '# sipsd -c loads it (tests/integration/cfg_compat_test.cc).']
    open(os.path.join(here, f), 'w').write('\n'.join(hdr + block + lines[i:]))
    print('%-36s %s' % (f, '%d errors' % len(expected) if expected else 'loads'))
