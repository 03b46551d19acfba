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

"""Benchmark ``nova-domain-meta list -f json`` against the floor.

Why: the CLI is for a compute host in trouble, so reading a thousand
guests must cost little more than libvirt's own work.  The floor is one
Python process doing only what any reader must: ``listAllDomains``, then
``virDomainGetXMLDesc`` of each domain and an lxml parse of each XML.  The
target is ``list -f json`` end to end (a new process, start-up included,
best of 3) within 2.0 times the floor's best of 3, on every run.

Scenarios:

* **qemu** (the figure): a private libvirtd with the qemu driver, the real
  tier's (``tests/real/daemon.py``, started through
  ``benchmarks/qemu_daemon.py``), holding ``-n`` defined, not running,
  domains (default 1,000) copied from the CLI test fixtures
  (``tests/unit/cmd/data``: written by our driver, by stock Nova 34, by
  hand), each with its own name and uuid.  This is how a compute host is
  read: one round trip per call, XML as the qemu driver writes it.  It
  reports, for each of ``--runs`` runs (default 5), the floor's and the
  CLI's best of 3 (the two alternate, so other work on the machine slows
  both alike), the ratio and the load average; then where each spends
  its time (start-up, imports, listing and XML round trips, parsing,
  facts and rows, JSON output; wall and CPU seconds, from
  ``benchmarks/cli_probe.py`` in a new process, best of 3); the ways
  libvirt offers to fetch every domain's metadata; the libvirt calls the
  CLI makes (counted, not assumed); and the naive alternative, ``virsh
  list`` plus one ``virsh dumpxml`` per domain.  Needs root (the daemon is
  privileged, in its own mount namespace) and the real tier's packages.
* **node file**: libvirt's ``test:///`` driver loaded from a node file of
  the same domains, in-process (no daemon, no root).  Every libvirt open
  parses the whole file, so every ``virsh`` run of the naive alternative
  does too; the CLI pays it once.

Both run the CLI of this tree (``PYTHONPATH``, byte-compiled first, as an
installed package is), in an environment without ``PYTHONUNBUFFERED`` and
``PYTHONDONTWRITEBYTECODE``, as an operator's shell has.  The first run of
each side is a warm-up and not counted: it fills stevedore's entry point
cache in ``~/.cache`` and the page cache, as the first run on a host does.

Run as root from anywhere (needs ``virsh`` from libvirt-clients)::

    .venv/bin/python benchmarks/bench_cli.py
    .venv/bin/python benchmarks/bench_cli.py --runs 10 --baseline-sample 50
    .venv/bin/python benchmarks/bench_cli.py --no-qemu    # node file only
"""

import argparse
import compileall
import glob
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from lxml import etree  # noqa: E402

import machine_info  # noqa: E402
import qemu_daemon  # noqa: E402

DATA_DIR = os.path.join(REPO, 'tests', 'unit', 'cmd', 'data')
PROBE = os.path.join(REPO, 'benchmarks', 'cli_probe.py')
TEST_NS = 'http://libvirt.org/schemas/domain/test/1.0'
TARGET = 2.0

# What the ``nova-domain-meta`` console script runs, word for word, so the
# code of this tree runs whatever (if anything) is installed.
CONSOLE_SCRIPT = ('import sys\n'
                  'from nova_domain_meta.cmd.cli import main\n'
                  'sys.exit(main())\n')

# The floor, word for word.
FLOOR_SCRIPT = ('import sys\n'
                'import libvirt\n'
                'from lxml import etree\n'
                'conn = libvirt.openReadOnly(sys.argv[1])\n'
                'for dom in conn.listAllDomains(0):\n'
                '    etree.fromstring(dom.XMLDesc(0))\n')


def fixture_texts():
    paths = sorted(glob.glob(os.path.join(DATA_DIR, '*.xml')))
    if not paths:
        sys.exit('no fixtures in %s; run tools/gen_cli_fixtures.py' %
                 DATA_DIR)
    texts = []
    for path in paths:
        with open(path, encoding='utf-8') as f:
            texts.append((os.path.basename(path), f.read()))
    return texts


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Timer(object):
    """Wall, own CPU and children's CPU seconds of a block."""

    def __enter__(self):
        self.wall0 = time.perf_counter()
        self.cpu0 = time.process_time()
        self.child0 = children_cpu()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall0
        self.cpu = time.process_time() - self.cpu0
        self.child_cpu = children_cpu() - self.child0


def child_env():
    """The environment of the measured processes: an operator's shell."""
    env = dict(os.environ, PYTHONPATH=REPO)
    for name in ('PYTHONUNBUFFERED', 'PYTHONDONTWRITEBYTECODE'):
        env.pop(name, None)
    return env


def run_process(argv, expect_rows=None):
    """Run ``argv``; return its Timer (wall, children's CPU)."""
    with Timer() as timer:
        proc = subprocess.run(argv, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=child_env(),
                              cwd=REPO, text=True)
    if proc.returncode != 0:
        sys.exit('%s failed: %s' % (argv[:3], proc.stderr))
    if expect_rows is not None and len(json.loads(proc.stdout)) != \
            expect_rows:
        sys.exit('list returned %d rows, expected %d' % (
            len(json.loads(proc.stdout)), expect_rows))
    return timer


def ours_argv(uri):
    return [sys.executable, '-c', CONSOLE_SCRIPT, '--connect', uri, 'list',
            '-f', 'json']


def floor_argv(uri):
    return [sys.executable, '-c', FLOOR_SCRIPT, uri]


def ratio_runs(uri, count, runs, attempts, log):
    """Each run: the floor's and ours' best of ``attempts``, alternating."""
    # Warm-up, not counted: entry point cache, page cache.
    run_process(floor_argv(uri))
    run_process(ours_argv(uri), count)
    results = []
    for number in range(1, runs + 1):
        floor, ours = [], []
        for _ in range(attempts):
            floor.append(run_process(floor_argv(uri)))
            ours.append(run_process(ours_argv(uri), count))
        best_floor = min(floor, key=lambda t: t.wall)
        best_ours = min(ours, key=lambda t: t.wall)
        results.append({
            'run': number, 'floor': best_floor.wall,
            'floor_cpu': best_floor.child_cpu, 'ours': best_ours.wall,
            'ours_cpu': best_ours.child_cpu,
            'ratio': best_ours.wall / best_floor.wall,
            'cpu_ratio': best_ours.child_cpu / best_floor.child_cpu,
            'floor_all': [t.wall for t in floor],
            'ours_all': [t.wall for t in ours],
            'load': '%.2f %.2f %.2f' % os.getloadavg()})
        log('  run %d: floor %.3f s, ours %.3f s, ratio %.2f (load %s)' % (
            number, best_floor.wall, best_ours.wall,
            results[-1]['ratio'], results[-1]['load']))
    return results


def probe(which, args, attempts):
    """Phases of the fastest of ``attempts`` probe runs, and its wall."""
    best = None
    with tempfile.TemporaryDirectory(prefix='bench-cli-probe-') as tmp:
        result = os.path.join(tmp, 'phases.json')
        for _ in range(attempts):
            timer = run_process([sys.executable, PROBE, which, result] +
                                args)
            with open(result) as f:
                phases = json.load(f)
            # What the process spent outside the probe's clock: Python's
            # start-up and exit.
            phases['Python start-up and exit'] = [
                timer.wall - phases['total'][0],
                timer.child_cpu - phases['total'][1]]
            phases['process'] = [timer.wall, timer.child_cpu]
            if best is None or timer.wall < best['process'][0]:
                best = phases
    return best


PHASES = (
    ('Python start-up and exit', 'Python start-up and exit'),
    ('imports', 'imports'),
    ('open', 'opening the connection'),
    ('listing (RPC)', 'listing every domain (one call)'),
    ('XML of each domain (RPC)', 'XML of each domain (a call each)'),
    ('parsing', 'parsing the XML'),
    ('facts and rows', 'facts and rows'),
    ('output (JSON)', 'JSON output'),
    ('the rest', 'the rest (cliff: app, parsers, logging; close)'),
    ('process', 'the whole process'),
)


class _Counting(object):
    """Counts the libvirt calls made through a connection and its domains."""

    # The CLI reads domain XML from several threads through a daemon.
    _lock = threading.Lock()

    def __init__(self, conn, counts):
        self._conn = conn
        self._counts = counts

    def _count(self, name):
        with self._lock:
            self._counts[name] = self._counts.get(name, 0) + 1

    def __getattr__(self, name):
        attr = getattr(self._conn, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            self._count(type(self._conn).__name__ + '.' + name)
            return self._wrap(attr(*args, **kwargs))
        return call

    def _wrap(self, result):
        import libvirt
        if isinstance(result, libvirt.virDomain):
            return _Counting(result, self._counts)
        if isinstance(result, list):
            return [self._wrap(item) for item in result]
        if isinstance(result, tuple):
            return tuple(self._wrap(item) for item in result)
        return result

    def close(self):
        pass


def count_calls(uri):
    """The libvirt calls one in-process ``list -f json`` makes."""
    from nova_domain_meta.cmd import cli
    from nova_domain_meta.cmd import connection

    counts = {}
    conn = connection.open_connection(uri)
    app = cli.NovaDomainMetaApp(
        stdout=io.StringIO(), stderr=io.StringIO(),
        connection_factory=lambda u: _Counting(conn, counts))
    if app.run(['--connect', uri, 'list', '-f', 'json']) != 0:
        sys.exit('list failed')
    conn.close()
    return counts


def time_strategies(uri, repeat):
    """Time the ways libvirt offers to fetch every domain's metadata.

    Only the libvirt calls, in this process, best of ``repeat``: one
    ``virDomainGetXMLDesc`` per domain from one thread (the floor), from
    the CLI's threads (:func:`nova_domain_meta.cmd.fetch._fetch_all`), from
    a pool of futures (what the CLI used before), or one
    ``virDomainGetMetadata`` per namespace per domain (Nova's 1.1, 1.0
    where 1.1 is missing, and ours).
    """
    from concurrent import futures

    import libvirt
    from nova_domain_meta.cmd import connection
    from nova_domain_meta.cmd import fetch
    from nova_domain_meta import metadata

    conn = connection.open_connection(uri)
    workers = fetch.READ_WORKERS

    def by_xml():
        doms = conn.listAllDomains(0)
        for dom in doms:
            dom.XMLDesc(0)
        return 1 + len(doms)

    def by_cli_threads():
        doms = conn.listAllDomains(0)
        fetch._fetch_all(doms, workers)
        return 1 + len(doms)

    def by_pool():
        doms = conn.listAllDomains(0)
        with futures.ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda dom: dom.XMLDesc(0), doms))
        return 1 + len(doms)

    def by_metadata():
        calls = 1
        for dom in conn.listAllDomains(0):
            for namespaces in ((metadata.NOVA_NS, metadata.NOVA_NS_1_0),
                               (metadata.DOMAIN_META_NS,)):
                for namespace in namespaces:
                    calls += 1
                    try:
                        dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT,
                                     namespace, 0)
                        break
                    except libvirt.libvirtError:
                        continue
        return calls

    strategies = (
        ('XMLDesc per domain, 1 thread (the floor)', by_xml),
        ('XMLDesc per domain, %d plain threads (the CLI)' % workers,
         by_cli_threads),
        ('XMLDesc per domain, pool of %d futures' % workers, by_pool),
        ('metadata() per namespace per domain', by_metadata))
    results = {}
    for _ in range(repeat):
        for name, strategy in strategies:
            with Timer() as timer:
                calls = strategy()
            if name not in results or timer.wall < results[name][0]:
                results[name] = (timer.wall, timer.cpu, calls)
    conn.close()
    return results


def virsh(uri, *argv):
    return subprocess.run(['virsh', '-q', '-r', '-c', uri] + list(argv),
                          check=True, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True).stdout


def time_baseline(uri, sample, log):
    """``virsh list`` then ``virsh dumpxml`` per domain, sequentially."""
    with Timer() as listed:
        names = virsh(uri, 'list', '--all', '--name').split()
    chosen = names
    if sample and sample < len(names):
        step = len(names) / sample
        chosen = [names[int(i * step)] for i in range(sample)]
    with Timer() as dumped:
        for i, name in enumerate(chosen, 1):
            virsh(uri, 'dumpxml', name)
            if i % 100 == 0:
                log('  baseline: %d/%d dumpxml calls, %.0f s' %
                    (i, len(chosen), time.perf_counter() - dumped.wall0))
    scale = len(names) / len(chosen)
    return {'domains': len(names), 'dumpxml_timed': len(chosen),
            'extrapolated': len(chosen) < len(names),
            'wall': listed.wall + dumped.wall * scale}


def measure_qemu(args, texts, log):
    """Every figure of the qemu-driver daemon scenario, as a dict."""
    xmls = qemu_daemon.copies([text for _name, text in texts], args.domains)
    with tempfile.TemporaryDirectory(prefix='bench-cli-') as tmpdir, \
            qemu_daemon.defined_domains(xmls, base_dir=tmpdir,
                                        log=log) as daemon:
        uri = daemon.uri
        log('  ratio runs (best of %d each) ...' % args.attempts)
        runs = ratio_runs(uri, args.domains, args.runs, args.attempts, log)
        log('  where the time goes ...')
        phases = {'floor': probe('floor', [uri], args.attempts),
                  'ours': probe('ours', ['--connect', uri, 'list', '-f',
                                         'json'], args.attempts)}
        log('  fetch strategies ...')
        strategies = time_strategies(uri, args.attempts)
        calls = count_calls(uri)
        log('  baseline: virsh list + virsh dumpxml per domain ...')
        baseline = time_baseline(uri, args.baseline_sample, log)
        xml_size = len(daemon.conn.listAllDomains(0)[0].XMLDesc(0))
    return {'uri': uri, 'runs': runs, 'phases': phases,
            'strategies': strategies, 'calls': calls, 'baseline': baseline,
            'xml_size': xml_size}


def write_node_file(path, texts, count):
    """A ``test:///`` node file of ``count`` copies of the fixtures."""
    node = etree.Element('node', nsmap={'test': TEST_NS})
    for text in qemu_daemon.copies([t for _name, t in texts], count):
        domain = etree.fromstring(text.encode('utf-8'))
        domain.set('type', 'test')
        node.append(domain)
    with open(path, 'w', encoding='utf-8') as f:
        f.write(etree.tostring(node, encoding='unicode'))


def measure_node_file(args, texts, tmpdir, log):
    path = os.path.join(tmpdir, 'node-%d.xml' % args.domains)
    write_node_file(path, texts, args.domains)
    uri = 'test://' + path
    log('  ratio runs (best of %d each) ...' % args.attempts)
    runs = ratio_runs(uri, args.domains, args.runs, args.attempts, log)
    baseline = time_baseline(uri, max(1, args.baseline_sample // 10), log)
    return {'uri': uri, 'runs': runs, 'baseline': baseline,
            'size': os.path.getsize(path)}


def report_runs(w, runs):
    w('  %-4s %9s %9s %7s %9s %9s %7s   %s' % (
        'run', 'floor s', 'ours s', 'ratio', 'floor CPU', 'ours CPU',
        'CPU x', 'load average (1, 5, 15 min)'))
    for r in runs:
        w('  %-4d %9.3f %9.3f %6.2fx %9.3f %9.3f %6.2fx   %s' % (
            r['run'], r['floor'], r['ours'], r['ratio'], r['floor_cpu'],
            r['ours_cpu'], r['cpu_ratio'], r['load']))
    ratios = [r['ratio'] for r in runs]
    w('  ratio over %d runs: %.2fx to %.2fx, median %.2fx; within %.1fx '
      'the floor on every run: %s' % (
          len(runs), min(ratios), max(ratios),
          sorted(ratios)[len(ratios) // 2], TARGET,
          'yes' if max(ratios) <= TARGET else 'NO'))
    w('  every attempt, wall s (floor | ours):')
    for r in runs:
        w('    run %d: %s | %s' % (
            r['run'], ' '.join('%.3f' % t for t in r['floor_all']),
            ' '.join('%.3f' % t for t in r['ours_all'])))


def report_qemu(w, m, args):
    w('qemu driver, private libvirtd (%s): %d defined domains, about %d '
      'bytes of XML each' % (m['uri'], args.domains, m['xml_size']))
    w('  end to end, a new process each; each run is the best of %d of '
      'each side, alternating:' % args.attempts)
    report_runs(w, m['runs'])
    w('  where the time goes (fastest of %d probe runs, new process each; '
      'wall s / CPU s):' % args.attempts)
    w('    %-48s %15s %15s' % ('', 'floor', 'ours'))
    floor, ours = m['phases']['floor'], m['phases']['ours']
    for key, label in PHASES:
        cells = []
        for side in (floor, ours):
            value = side.get(key)
            cells.append('%6.3f / %6.3f' % tuple(value) if value else
                         '%15s' % '-')
        w('    %-48s %s %s' % (label, cells[0], cells[1]))
    w('  fetch strategies (libvirt calls only, in-process, best of %d):'
      % args.attempts)
    for name, (wall, cpu, calls) in m['strategies'].items():
        w('    %-48s %6.3f s wall %6.3f s CPU %6d calls' % (
            name, wall, cpu, calls))
    w('  libvirt calls of one list (counted): %s' % ', '.join(
        '%s x%d' % kv for kv in sorted(m['calls'].items())))
    b = m['baseline']
    label = 'virsh list + %d x virsh dumpxml' % b['domains']
    if b['extrapolated']:
        label += ' (extrapolated from %d)' % b['dumpxml_timed']
    best = min(r['ours'] for r in m['runs'])
    w('  naive alternative, %s: %.1f s, %.0fx the CLI' % (
        label, b['wall'], b['wall'] / best))
    w('')


def report_node_file(w, m, args):
    w('test:/// node file (%.1f MB, %d domains), libvirt in-process; every '
      'open, so every virsh run, parses the whole file:' % (
          m['size'] / 1e6, args.domains))
    report_runs(w, m['runs'])
    b = m['baseline']
    best = min(r['ours'] for r in m['runs'])
    w('  naive alternative, virsh list + %d x virsh dumpxml%s: %.0f s, '
      '%.0fx the CLI' % (
          b['domains'], ' (extrapolated from %d)' % b['dumpxml_timed']
          if b['extrapolated'] else '', b['wall'], b['wall'] / best))
    w('')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('-n', '--domains', type=int, default=1000)
    parser.add_argument('--runs', type=int, default=5,
                        help='runs reported, each a ratio (default 5)')
    parser.add_argument('--attempts', type=int, default=3,
                        help='attempts per side per run; the fastest '
                             'counts (default 3)')
    parser.add_argument('--baseline-sample', type=int, default=100,
                        metavar='K',
                        help='time K virsh dumpxml calls and extrapolate '
                             '(0: all; default 100)')
    parser.add_argument('--no-qemu', action='store_true',
                        help='skip the private qemu-driver libvirtd')
    parser.add_argument('--no-node-file', action='store_true',
                        help='skip the test:/// node file')
    args = parser.parse_args()
    if not shutil.which('virsh'):
        sys.exit('virsh not found: apt-get install libvirt-clients')

    def log(message):
        print(message, file=sys.stderr, flush=True)

    # As pip does at install time: the tree's modules are not compiled
    # again in every measured process.
    compileall.compile_dir(os.path.join(REPO, 'nova_domain_meta'),
                           quiet=1)
    texts = fixture_texts()
    load_before = '%.2f %.2f %.2f' % os.getloadavg()
    out = []
    w = out.append
    w('nova-domain-meta list -f json over %d domains against the floor '
      '(listAllDomains + XMLDesc + lxml parse of each, one process)'
      % args.domains)
    w('domains copied from %s' % ', '.join(name for name, _t in texts))
    w('')
    if not args.no_qemu:
        log('scenario: private qemu-driver libvirtd')
        report_qemu(w, measure_qemu(args, texts, log), args)
    if not args.no_node_file:
        log('scenario: test:/// node file')
        with tempfile.TemporaryDirectory(prefix='bench-cli-') as tmpdir:
            report_node_file(w, measure_node_file(args, texts, tmpdir, log),
                             args)
    w('machine: %s' % json.dumps(machine_info.describe(), sort_keys=True))
    w('load average before the run: %s; other work on the machine slows '
      'both sides, the CLI more (it needs more CPU: see the CPU columns)'
      % load_before)
    print('\n'.join(out))
    return 0


if __name__ == '__main__':
    sys.exit(main())
