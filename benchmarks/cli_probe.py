# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Where one end-to-end run of ``list -f json`` (or of the floor) goes.

Run by ``bench_cli.py`` in a new Python process, as the console script
would be, with nothing imported before the clock starts::

    python benchmarks/cli_probe.py ours RESULT.json --connect URI list -f json
    python benchmarks/cli_probe.py floor RESULT.json URI

``ours`` runs the CLI of this tree (``PYTHONPATH``) with the functions
each phase goes through wrapped in timers; ``floor`` does what the floor
does (``listAllDomains``, then ``XMLDesc`` and an lxml parse of each
domain), timing each step.  Both write ``{phase: [wall s, CPU s]}`` to
RESULT.json; Python's own start-up is what the caller's wall clock saw
beyond ``total``.  CPU seconds are the whole process's, every thread's.
"""

import time

_START = (time.perf_counter(), time.process_time())

import json  # noqa: E402
import sys  # noqa: E402

SPENT = {}


def _now():
    return time.perf_counter(), time.process_time()


def _add(phase, since):
    wall, cpu = _now()
    total = SPENT.setdefault(phase, [0.0, 0.0])
    total[0] += wall - since[0]
    total[1] += cpu - since[1]


def _timed(owner, name, phase):
    original = getattr(owner, name)

    def timed(*args, **kwargs):
        since = _now()
        try:
            return original(*args, **kwargs)
        finally:
            _add(phase, since)
    setattr(owner, name, timed)


def ours(argv):
    """Run the CLI of this tree, as its console script does."""
    since = _now()
    from nova_domain_meta.cmd import cli
    from nova_domain_meta.cmd import commands
    from nova_domain_meta.cmd import connection
    from nova_domain_meta.cmd import fetch
    _add('imports', since)
    _timed(connection, 'open_connection', 'open')
    _timed(fetch, '_domains_with_state', 'listing (RPC)')
    _timed(fetch, '_fetch_all', 'XML of each domain (RPC)')
    _timed(fetch, '_to_domain', 'parsing')
    _timed(commands.ListDomains, 'take_action', 'take_action')
    _timed(commands.ListDomains, 'produce_output', 'output (JSON)')
    _timed(commands.ListDomains, 'domains', 'domains')
    code = cli.main(argv)
    sys.stdout.flush()
    # take_action holds domains(), which holds open, listing, XML and
    # parsing; what is left of it is reading facts and building rows.
    take_action = SPENT.pop('take_action')
    domains = SPENT.pop('domains')
    SPENT['facts and rows'] = [t - d for t, d in zip(take_action, domains)]
    return code


def floor(argv):
    """The floor: listAllDomains, then XMLDesc and a parse of each."""
    since = _now()
    import libvirt
    from lxml import etree
    _add('imports', since)
    since = _now()
    conn = libvirt.openReadOnly(argv[0])
    _add('open', since)
    since = _now()
    doms = conn.listAllDomains(0)
    _add('listing (RPC)', since)
    for dom in doms:
        since = _now()
        xml = dom.XMLDesc(0)
        _add('XML of each domain (RPC)', since)
        since = _now()
        etree.fromstring(xml)
        _add('parsing', since)
    return 0


def main():
    which, result, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
    code = {'ours': ours, 'floor': floor}[which](argv)
    end = _now()
    SPENT['total'] = [end[0] - _START[0], end[1] - _START[1]]
    accounted = [sum(v[i] for k, v in SPENT.items() if k != 'total')
                 for i in (0, 1)]
    SPENT['the rest'] = [SPENT['total'][i] - accounted[i] for i in (0, 1)]
    with open(result, 'w') as f:
        json.dump(SPENT, f)
    return code


if __name__ == '__main__':
    sys.exit(main())
