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

"""Benchmark ``nova-domain-meta list`` against what an operator would do.

Why: the CLI is for a compute host in trouble, so it must be quick even
with a thousand guests.  The naive alternative an operator would script is
``virsh list --all --name`` followed by one ``virsh dumpxml`` per domain;
this script times both over the same domains, in one run, and prints the
ratio.

What it does:

1. writes a node file for libvirt's ``test:///`` driver holding ``-n``
   domains (default 1,000) copied from the CLI test fixtures
   (``tests/unit/cmd/data``: domains written by our driver, by stock Nova
   34, by hand), each with a fresh name and uuid, some shut off or paused;
2. measures two scenarios over those domains:

   * through a libvirt daemon, as on a compute host: a private,
     unprivileged ``libvirtd`` (session mode, as ``nobody`` when run as
     root, own socket directory, nothing shared with any other libvirtd)
     whose ``test:///default`` is loaded with the domains; every libvirt
     call is a round trip over a socket, as with ``qemu:///system``;
   * the node file itself (``test:///<file>``): libvirt runs in-process,
     and every open, hence every ``virsh`` run of the baseline, re-parses
     the whole file (about 3.4 MB for 1,000 domains), a cost a real host
     does not have but that the naive baseline really pays here;

3. in each: times ``list -f json`` in-process (the cliff application as
   the console script runs it, best of ``--repeat``), including and
   excluding the opening of the connection, and where that time goes
   (open, listing and reading the XML, building rows, output); the
   console script end to end in a new Python process (start-up and
   imports included), as its first run and the best of ``--repeat``
   after it; the ways libvirt offers to read metadata (one
   ``virDomainGetXMLDesc`` per domain, from one thread or several, or
   one ``virDomainGetMetadata`` per namespace per domain); and the naive
   baseline, sequentially, as a shell loop would run it;
4. prints wall and CPU seconds, ratios, whether the end-to-end run took
   under one second, the libvirt calls the CLI made (counted through a
   proxy, not assumed), and the machine.

In the node-file scenario libvirt parses the whole file on every open,
the CLI's included; the report shows that cost on its own line, and the
end-to-end time split into start-up and imports, that open, and the rest.

The node-file baseline takes about a second per ``virsh`` run here (15 to
20 minutes for 1,000); ``--baseline-sample K`` times K evenly spread
``dumpxml`` calls and extrapolates, and says so in the output.
``--no-daemon`` skips the daemon scenario (it needs ``libvirtd`` from
libvirt-daemon).

Run from anywhere (needs ``virsh`` from libvirt-clients)::

    /work/venv/bin/python benchmarks/bench_cli.py
    /work/venv/bin/python benchmarks/bench_cli.py --baseline-sample 50
"""

import argparse
import glob
import io
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from lxml import etree  # noqa: E402

import machine_info  # noqa: E402

DATA_DIR = os.path.join(REPO, 'tests', 'unit', 'cmd', 'data')
TEST_NS = 'http://libvirt.org/schemas/domain/test/1.0'
SHUTOFF = 5
PAUSED = 3


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


def write_node_file(path, count):
    """Write ``count`` domains from the fixtures; return the mix used."""
    texts = fixture_texts()
    node = etree.Element('node', nsmap={'test': TEST_NS})
    for i in range(count):
        _source, text = texts[i % len(texts)]
        domain = etree.fromstring(text.encode('utf-8'))
        old = domain.findtext('uuid')
        new = str(uuid.uuid4())
        domain.set('type', 'test')
        domain.find('name').text = 'instance-%08x' % (0x1000 + i)
        domain = etree.fromstring(
            etree.tostring(domain, encoding='unicode').replace(
                old, new).encode('utf-8'))
        if i % 10 == 9:
            etree.SubElement(domain, '{%s}runstate' % TEST_NS).text = \
                str(SHUTOFF)
        elif i % 17 == 16:
            etree.SubElement(domain, '{%s}runstate' % TEST_NS).text = \
                str(PAUSED)
        node.append(domain)
    with open(path, 'w', encoding='utf-8') as f:
        f.write(etree.tostring(node, encoding='unicode'))
    return [name for name, _text in texts]


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


class _ReadModel(object):
    """The read model functions the benchmark calls, in one place."""

    def __init__(self, connection, fetch):
        self.open_connection = connection.open_connection
        self.READ_WORKERS = fetch.READ_WORKERS


def run_list(cli, uri, connection_factory=None):
    stdout = io.StringIO()
    app = cli.NovaDomainMetaApp(stdout=stdout, stderr=io.StringIO(),
                                connection_factory=connection_factory)
    code = app.run(['--connect', uri, 'list', '-f', 'json'])
    if code != 0:
        sys.exit('list failed with status %s' % code)
    return json.loads(stdout.getvalue())


class _KeepOpen(object):
    """A connection the application may "close" but that stays open."""

    def __init__(self, conn):
        self._conn = conn

    def close(self):
        pass

    def __getattr__(self, name):
        return getattr(self._conn, name)


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
            result = attr(*args, **kwargs)
            return self._wrap(result)
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


def time_ours(cli, inventory, uri, repeat):
    totals, opens, lists = [], [], []
    rows = None
    for _ in range(repeat):
        with Timer() as total:
            rows = run_list(cli, uri)
        totals.append(total)
        with Timer() as opened:
            conn = inventory.open_connection(uri)
        opens.append(opened)
        with Timer() as listed:
            run_list(cli, uri, lambda u: _KeepOpen(conn))
        lists.append(listed)
        conn.close()
    best = lambda timers: min(timers, key=lambda t: t.wall)  # noqa: E731
    return best(totals), best(opens), best(lists), rows


def count_calls(cli, inventory, uri):
    counts = {}
    conn = inventory.open_connection(uri)
    run_list(cli, uri, lambda u: _Counting(conn, counts))
    conn.close()
    return counts


def time_phases(cli, inventory, uri, repeat):
    """Where an in-process ``list -f json`` spends its time, best run.

    Wraps the functions the command goes through, for the length of the
    measurement: opening the connection; ``fetch.read_domains``
    (listing, fetching every domain XML, parsing it); the rest of
    ``take_action`` (reading the metadata elements, filters, columns);
    ``produce_output`` (cliff's formatter, writing); the application's
    ``clean_up``, which closes the connection (libvirt's test driver then
    frees every domain of a node file); and the remainder (cliff itself:
    building the application and the parsers, logging).
    """
    from nova_domain_meta.cmd import commands

    spent = {}

    def wrap(owner, name, label):
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[label] = (spent.get(label, 0.0) +
                                time.perf_counter() - start)
        setattr(owner, name, timed)
        return owner, name, original

    from nova_domain_meta.cmd import connection
    from nova_domain_meta.cmd import fetch

    wrapped = [wrap(connection, 'open_connection', 'open'),
               wrap(fetch, 'read_domains', 'read'),
               wrap(commands.ListDomains, 'take_action', 'take_action'),
               wrap(commands.ListDomains, 'produce_output', 'output'),
               wrap(cli.NovaDomainMetaApp, 'clean_up', 'close')]
    runs = []
    try:
        for _ in range(repeat):
            spent.clear()
            with Timer() as total:
                run_list(cli, uri)
            phases = dict(spent)
            # The command opens the connection on first use, inside
            # take_action, just before read_domains.
            phases['rows'] = (phases.pop('take_action') - phases['read'] -
                              phases['open'])
            phases['cliff'] = total.wall - sum(phases.values())
            runs.append((total.wall, phases))
    finally:
        for owner, name, original in wrapped:
            setattr(owner, name, original)
    return min(runs, key=lambda run: run[0])[1]


def time_strategies(inventory, uri, repeat):
    """Time the ways libvirt offers to read every domain's metadata.

    Only the libvirt calls and the XML parsing, not the CLI: the list
    with states (one bulk call), then either one ``virDomainGetXMLDesc``
    per domain and a parse of the whole XML (what the CLI does), or one
    ``virDomainGetMetadata`` per namespace per domain (1.1 and ours; 1.0
    where 1.1 is missing) and a parse of each element.
    """
    from concurrent import futures

    import libvirt
    from nova_domain_meta import metadata

    conn = inventory.open_connection(uri)

    def by_xml():
        calls = 1
        for dom, _stats in conn.getAllDomainStats(
                libvirt.VIR_DOMAIN_STATS_STATE):
            etree.fromstring(dom.XMLDesc(0).encode('utf-8'))
            calls += 1
        return calls

    def by_xml_threads():
        doms = [dom for dom, _stats in conn.getAllDomainStats(
            libvirt.VIR_DOMAIN_STATS_STATE)]
        with futures.ThreadPoolExecutor(inventory.READ_WORKERS) as pool:
            for xml in pool.map(lambda dom: dom.XMLDesc(0), doms):
                etree.fromstring(xml.encode('utf-8'))
        return 1 + len(doms)

    def by_metadata():
        calls = 1
        for dom, _stats in conn.getAllDomainStats(
                libvirt.VIR_DOMAIN_STATS_STATE):
            for namespaces in ((metadata.NOVA_NS, metadata.NOVA_NS_1_0),
                               (metadata.DOMAIN_META_NS,)):
                for namespace in namespaces:
                    calls += 1
                    try:
                        etree.fromstring(dom.metadata(
                            libvirt.VIR_DOMAIN_METADATA_ELEMENT, namespace,
                            0).encode('utf-8'))
                        break
                    except libvirt.libvirtError:
                        continue
        return calls

    results = {}
    threads = 'XMLDesc per domain, %d threads' % inventory.READ_WORKERS
    for name, strategy in (('XMLDesc per domain, 1 thread', by_xml),
                           (threads, by_xml_threads),
                           ('metadata() per namespace per domain',
                            by_metadata)):
        timers = []
        for _ in range(repeat):
            with Timer() as timer:
                calls = strategy()
            timers.append(timer)
        best = min(timers, key=lambda t: t.wall)
        results[name] = (best.wall, best.cpu, calls)
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
    wall = listed.wall + dumped.wall * scale
    cpu = listed.child_cpu + dumped.child_cpu * scale
    return {'domains': len(names), 'dumpxml_timed': len(chosen),
            'extrapolated': len(chosen) < len(names), 'wall': wall,
            'cpu': cpu, 'per_call': dumped.wall / len(chosen)}


# What the ``nova-domain-meta`` console script runs, word for word, so the
# code of this tree runs whatever (if anything) is installed.
CONSOLE_SCRIPT = ('import sys\n'
                  'from nova_domain_meta.cmd.cli import main\n'
                  'sys.exit(main())\n')


def time_end_to_end(uri, repeat):
    """Return the first run's timer and the best of ``repeat`` after it.

    The first run also fills stevedore's entry point cache (in
    ``~/.cache``), as the first run on a host does; later runs, like
    every later run on a host, read it.
    """
    env = dict(os.environ, PYTHONPATH=REPO)
    timers = []
    for _ in range(1 + repeat):
        with Timer() as timer:
            proc = subprocess.run(
                [sys.executable, '-c', CONSOLE_SCRIPT, '--connect', uri,
                 'list', '-f', 'json'], stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, env=env, cwd=REPO, text=True)
        if proc.returncode != 0:
            sys.exit('console script failed: %s' % proc.stderr)
        timers.append(timer)
    return timers[0], min(timers[1:], key=lambda t: t.wall)


def time_imports(repeat):
    """Python start-up and the CLI's imports in a new process, best run."""
    env = dict(os.environ, PYTHONPATH=REPO)
    timers = []
    for _ in range(repeat):
        with Timer() as imports:
            subprocess.run(
                [sys.executable, '-c', 'import nova_domain_meta.cmd.cli'],
                env=env, cwd=REPO, check=True, capture_output=True)
        timers.append(imports)
    return min(timers, key=lambda t: t.wall)


class PrivateDaemon(object):
    """An unprivileged libvirtd of our own, serving libvirt's test driver.

    Why: on a compute host the CLI and ``virsh`` talk to a daemon over a
    socket, one round trip per call, and nobody re-parses a node file.
    A session-mode libvirtd (as ``nobody`` when we are root) with its own
    socket directory shares nothing with any other libvirtd on the machine;
    its ``test:///default`` is populated with the same domains.
    """

    def __init__(self, tmpdir):
        self.dir = os.path.join(tmpdir, 'libvirtd')
        self.proc = None
        self.conn = None

    @property
    def socket(self):
        return os.path.join(self.dir, 'run', 'libvirt-sock')

    @property
    def uri(self):
        return 'test+unix:///default?socket=%s' % self.socket

    def start(self):
        home = os.path.join(self.dir, 'home')
        run = os.path.join(self.dir, 'run')
        for path in (home, run):
            os.makedirs(path, exist_ok=True)
        conf = os.path.join(self.dir, 'libvirtd.conf')
        with open(conf, 'w') as f:
            f.write('unix_sock_dir = "%s"\nunix_sock_rw_perms = "0777"\n'
                    % run)
        env = ['HOME=' + home, 'XDG_RUNTIME_DIR=' + run,
               'XDG_CONFIG_HOME=' + os.path.join(home, '.config'),
               'XDG_CACHE_HOME=' + os.path.join(home, '.cache')]
        command = ['env'] + env + ['libvirtd', '--config', conf]
        if os.geteuid() == 0:
            os.chmod(os.path.dirname(self.dir), 0o755)
            for root, dirs, files in os.walk(self.dir):
                for name in dirs + files + ['.']:
                    os.chown(os.path.join(root, name), 65534, 65534)
            command = ['runuser', '-u', 'nobody', '--'] + command
        self.log = open(os.path.join(self.dir, 'libvirtd.log'), 'w')
        self.proc = subprocess.Popen(command, stdout=self.log,
                                     stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + 30
        while not os.path.exists(self.socket):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError('private libvirtd did not start; see %s'
                                   % self.log.name)
            time.sleep(0.1)

    def populate(self, node_path):
        """Define (and start most of) the node file's domains.

        The connection stays open until :meth:`stop`: the test driver
        forgets ``test:///default`` when its last connection closes.
        """
        import libvirt
        conn = self.conn = libvirt.open(self.uri)
        for dom in conn.listAllDomains():
            if dom.isActive():
                dom.destroy()
            if dom.isPersistent():
                dom.undefine()
        for domain in etree.parse(node_path).getroot():
            state = domain.find('{%s}runstate' % TEST_NS)
            if state is not None:
                domain.remove(state)
            dom = conn.defineXML(etree.tostring(domain, encoding='unicode'))
            if state is None or int(state.text) != SHUTOFF:
                dom.create()
                if state is not None and int(state.text) == PAUSED:
                    dom.suspend()
        return len(conn.listAllDomains())

    def stop(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None


def measure(cli, inventory, uri, args, log, count):
    """Every timing of one scenario, as a dict."""
    log('  nova-domain-meta list, in-process ...')
    total, opened, listed, rows = time_ours(cli, inventory, uri,
                                            args.repeat)
    if len(rows) != count:
        sys.exit('list returned %d rows, expected %d' % (len(rows), count))
    kinds = {}
    for row in rows:
        kinds[row['Metadata']] = kinds.get(row['Metadata'], 0) + 1
    log('  where the time goes ...')
    phases = time_phases(cli, inventory, uri, args.repeat)
    log('  nova-domain-meta list, end to end ...')
    e2e_first, e2e = time_end_to_end(uri, args.repeat)
    log('  read strategies ...')
    strategies = time_strategies(inventory, uri, args.repeat)
    log('  baseline: virsh list + virsh dumpxml per domain ...')
    baseline = time_baseline(uri, args.baseline_sample, log)
    return {'total': total, 'open': opened, 'listed': listed, 'e2e': e2e,
            'e2e_first': e2e_first, 'phases': phases, 'kinds': kinds,
            'strategies': strategies, 'baseline': baseline,
            'calls': count_calls(cli, inventory, uri)}


PHASES = (
    ('open', 'opening the connection'),
    ('read', 'listing + every domain XML + parsing it (read_domains)'),
    ('rows', 'metadata elements, filters, columns'),
    ('output', 'JSON formatting and writing (cliff)'),
    ('close', 'closing the connection'),
    ('cliff', 'the rest: application, parsers, logging (cliff)'),
)


def report(w, title, m, open_label, repeat, imports):
    b = m['baseline']
    row = '  %-62s %8.3f %8.3f'
    w(title)
    w('  rows by metadata kind: %s' % ', '.join(
        '%s=%d' % kv for kv in sorted(m['kinds'].items())))
    w('  %-62s %8s %8s' % ('', 'wall s', 'CPU s'))
    w(row % ('CLI list -f json, in-process, incl. open',
             m['total'].wall, m['total'].cpu))
    w(row % ('  of which ' + open_label, m['open'].wall, m['open'].cpu))
    w(row % ('CLI list -f json, in-process, already open',
             m['listed'].wall, m['listed'].cpu))
    w(row % ('CLI end to end (new Python process), best of %d' % repeat,
             m['e2e'].wall, m['e2e'].child_cpu))
    w(row % ('CLI end to end, first run (fills the entry point cache)',
             m['e2e_first'].wall, m['e2e_first'].child_cpu))
    label = 'baseline: virsh list + %d x virsh dumpxml' % b['domains']
    if b['extrapolated']:
        label += ' (extrapolated from %d)' % b['dumpxml_timed']
    w(row % (label, b['wall'], b['cpu']))
    w('  ratio baseline / CLI in-process incl. open: %7.1fx' %
      (b['wall'] / m['total'].wall))
    w('  ratio baseline / CLI end to end:            %7.1fx' %
      (b['wall'] / m['e2e'].wall))
    rest = m['e2e'].wall - imports.wall - m['open'].wall
    w('  end to end under 1 s: %s (%.3f s = start-up and imports %.3f + '
      '%s %.3f + the rest %.3f)' % (
          'yes' if m['e2e'].wall < 1.0 else 'NO', m['e2e'].wall,
          imports.wall, open_label, m['open'].wall, rest))
    w('  where an in-process run spends its time (best of %d, wall s):' %
      repeat)
    for key, label in PHASES:
        w('    %-62s %6.3f' % (label, m['phases'][key]))
    w('  libvirt calls of one list (counted): %s' % ', '.join(
        '%s x%d' % kv for kv in sorted(m['calls'].items())))
    w('  read strategies (libvirt calls + XML parse only, best of %d):' %
      repeat)
    for name, (wall, cpu, count) in m['strategies'].items():
        w('    %-38s %6.3f s wall %6.3f s CPU %6d calls' % (
            name, wall, cpu, count))
    w('')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('-n', '--domains', type=int, default=1000)
    parser.add_argument('--repeat', type=int, default=3,
                        help='runs of the CLI; the fastest counts')
    parser.add_argument('--baseline-sample', type=int, default=0,
                        metavar='K',
                        help='time only K dumpxml calls of each baseline '
                             'and extrapolate (default: all)')
    parser.add_argument('--no-daemon', action='store_true',
                        help='skip the scenario through a private libvirtd')
    parser.add_argument('--keep', metavar='DIR',
                        help='write the node file here and keep it')
    args = parser.parse_args()
    if not shutil.which('virsh'):
        sys.exit('virsh not found: apt-get install libvirt-clients')

    def log(message):
        print(message, file=sys.stderr, flush=True)

    load_before = '%.2f %.2f %.2f' % os.getloadavg()
    tmpdir = args.keep or tempfile.mkdtemp(prefix='bench-cli-')
    os.makedirs(tmpdir, exist_ok=True)
    path = os.path.join(tmpdir, 'node-%d.xml' % args.domains)
    mix = write_node_file(path, args.domains)
    log('node file: %s (%d domains, %.1f MB, from %s)' % (
        path, args.domains, os.path.getsize(path) / 1e6, ', '.join(mix)))

    with Timer() as imported:
        from nova_domain_meta.cmd import cli
        from nova_domain_meta.cmd import connection
        from nova_domain_meta.cmd import fetch
        inventory = _ReadModel(connection, fetch)
    imports = time_imports(args.repeat)

    results = []
    if not args.no_daemon and shutil.which('libvirtd'):
        daemon = PrivateDaemon(tmpdir)
        try:
            log('scenario: private libvirtd (test driver over a socket)')
            daemon.start()
            count = daemon.populate(path)
            results.append((
                'Through a libvirt daemon, as on a compute host '
                '(%s, %d domains)' % (daemon.uri, count),
                measure(cli, inventory, daemon.uri, args, log, count),
                'connecting to the daemon'))
        finally:
            daemon.stop()
    log('scenario: test:/// node file, in-process libvirt driver')
    results.append((
        'test:/// node file (%.1f MB, %d domains; every libvirt open, so '
        'every virsh run, re-parses it)' % (
            os.path.getsize(path) / 1e6, args.domains),
        measure(cli, inventory, 'test://' + path, args, log, args.domains),
        'opening test:/// (node file parse)'))

    out = []
    w = out.append
    w('nova-domain-meta list over %d domains vs virsh list + virsh dumpxml '
      'per domain' % args.domains)
    w('')
    for title, m, open_label in results:
        report(w, title, m, open_label, args.repeat, imports)
    w('Python start-up + imports of the CLI (new process, best of %d): '
      '%.3f s wall, %.3f s CPU; in this process: %.3f s wall' % (
          args.repeat, imports.wall, imports.child_cpu, imported.wall))
    w('libvirt calls: one virConnectGetAllDomainStats (states of every '
      'domain), one virDomainGetXMLDesc per domain, %d at a time through '
      'a daemon. libvirt has no bulk call returning XML or metadata; '
      'virDomainGetMetadata needs a call per namespace per domain '
      '(compared above).' % inventory.READ_WORKERS)
    w('machine: %s' % json.dumps(machine_info.describe(), sort_keys=True))
    w('load average before the run: %s (other work on the machine slows '
      'both sides)' % load_before)
    print('\n'.join(out))
    if not args.keep:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
