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

"""Benchmark: metadata reconciler passes over 100 and 1,000 domains.

Runs the real :class:`nova_domain_meta.reconciler.Reconciler`, with
libvirt's event loop running as in nova-compute, against either

* libvirt's ``test:///`` driver, in-process, loaded from a node file this
  script writes (``--driver test``), or
* a real libvirtd: the real tier's private daemon
  (:mod:`tests.real.daemon`, needs root), where every libvirt call is a
  round trip over its socket and the domains are defined, not running
  (``--driver daemon``),

with one domain per instance, each already holding the metadata it
should.  Only Nova's database is replaced (instances are built in memory
with Nova's own objects), since no database exists here; what a pass
costs Nova's database is one instance query and one mapping query.

Reported per pass, measured in one process: whether it was a full pass,
CPU seconds of the whole process (libvirt's threads included), libvirt
calls (counted through a proxy, not assumed) and metadata writes, for

* the first pass after nova-compute starts (full: every domain read,
  every expected element built and compared);
* a steady-state pass (nothing changed; target: at most one libvirt call
  per domain, no metadata read);
* a pass after 10% of the instances were renamed in the database (one
  write per renamed domain), and the pass after it (which reads back the
  domains libvirt reported written);
* a pass after 1% of the domains' metadata was changed behind Nova's
  back, as ``virsh metadata`` would (libvirt reports them: one write
  each);
* a periodic full pass with nothing changed.

Usage: ``python benchmarks/bench_reconciler.py [--driver test|daemon|all]
[N ...]`` (default: test:/// with 100 and 1,000 domains).
"""

import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

import tests  # noqa: E402,F401  (Nova's monkey patching comes first)

import libvirt  # noqa: E402
from oslo_config import cfg  # noqa: E402

from nova_domain_meta import metadata  # noqa: E402
from tests.unit import reconciler_fakes  # noqa: E402

import machine_info  # noqa: E402

HOST = reconciler_fakes.HOST


def _ignore_libvirt_errors(_ctx, _err):
    """libvirt prints every error to stderr; the benchmark reports them."""


def run_pass(bench):
    bench.calls.clear()
    start = time.process_time()
    result = bench.run_pass()
    cpu = time.process_time() - start
    assert result.errors == 0, result
    return (result.full, cpu, sum(bench.calls.values()),
            bench.calls['setMetadata'])


def _wait_for_reports(bench, uuids):
    if not reconciler_fakes.wait_until(
            lambda: set(uuids) <= set(bench._reported)):
        raise RuntimeError('libvirt did not report every change')


def measure(bench, instances, conn):
    """Return ``[(pass, full, cpu s, libvirt calls, writes)]``."""
    count = len(instances)
    rows = []
    rows.append(('first pass',) + run_pass(bench))
    rows.append(('steady state',) + run_pass(bench))

    renamed = list(instances.values())[::10]
    for inst in renamed:
        inst.display_name = inst.display_name + '-renamed'
    row = run_pass(bench)
    assert row[3] == len(renamed), row
    rows.append(('%d renamed' % len(renamed),) + row)
    _wait_for_reports(bench, [i.uuid for i in renamed])
    rows.append(('read back writes',) + run_pass(bench))
    rows.append(('steady state',) + run_pass(bench))

    touched = list(instances.values())[5::100]
    for inst in touched:
        conn.lookupByUUIDString(inst.uuid).setMetadata(
            libvirt.VIR_DOMAIN_METADATA_ELEMENT,
            '<instance><name>changed with virsh</name></instance>', 'nova',
            metadata.NOVA_NS, libvirt.VIR_DOMAIN_AFFECT_CONFIG)
    _wait_for_reports(bench, [i.uuid for i in touched])
    row = run_pass(bench)
    assert row[3] == len(touched), row
    rows.append(('%d changed by virsh' % len(touched),) + row)

    cfg.CONF.set_override('reconcile_full_pass_every', 1, 'domain_meta')
    rows.append(('periodic full pass',) + run_pass(bench))
    cfg.CONF.clear_override('reconcile_full_pass_every', 'domain_meta')
    return [(row[0], count) + row[1:] for row in rows]


def test_driver(count, workdir):
    instances, bdms = reconciler_fakes.make_instances(count)
    conn = reconciler_fakes.write_node_file(
        instances, bdms, os.path.join(workdir, 'node-%d.xml' % count))
    bench = reconciler_fakes.InMemoryReconciler(conn, instances, bdms)
    try:
        return measure(bench, instances, conn)
    finally:
        bench.stop()
        conn.close()


def daemon_driver(count, daemon):
    instances, bdms = reconciler_fakes.make_instances(count)
    conn = libvirt.open(daemon.uri)
    started = time.monotonic()
    domains = reconciler_fakes.define_domains(conn, instances, bdms,
                                              domain_type='qemu')
    defined = time.monotonic() - started
    bench = reconciler_fakes.InMemoryReconciler(conn, instances, bdms)
    try:
        return measure(bench, instances, conn), defined
    finally:
        bench.stop()
        for dom in domains:
            dom.undefine()
        conn.close()


def print_rows(rows):
    for name, n, full, cpu, calls, writes in rows:
        print('%-20s %8d %5s %10.3f %14.3f %9d %11.2f %7d' % (
            name, n, 'yes' if full else 'no', cpu, 1000.0 * cpu / n,
            calls, float(calls) / n, writes))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--driver', choices=('test', 'daemon', 'all'),
                        default='test')
    parser.add_argument('counts', nargs='*', type=int,
                        default=[100, 1000])
    options = parser.parse_args()
    cfg.CONF([], project='nova', default_config_files=[])
    cfg.CONF.set_override('host', HOST)
    libvirt.registerErrorHandler(_ignore_libvirt_errors, None)
    reconciler_fakes.start_event_loop()
    print('Reconciler pass benchmark (events from libvirt\'s event loop, '
          'as in nova-compute)')
    print('machine: %s' % json.dumps(machine_info.describe(),
                                     sort_keys=True))
    header = '%-20s %8s %5s %10s %14s %9s %11s %7s' % (
        'pass', 'domains', 'full', 'cpu s', 'cpu ms/domain', 'calls',
        'calls/dom.', 'writes')
    if options.driver in ('test', 'all'):
        print('\nlibvirt test:/// driver, in-process (node file)')
        print(header)
        with tempfile.TemporaryDirectory(
                prefix='ndm-bench-reconciler-') as workdir:
            for count in options.counts:
                print_rows(test_driver(count, workdir))
    if options.driver in ('daemon', 'all'):
        from tests.real import daemon as real_daemon
        base_dir = tempfile.mkdtemp(prefix='ndm-bench-reconciler-')
        fixture = real_daemon.LibvirtDaemonFixture(base_dir=base_dir)
        fixture.setUp()
        try:
            print('\nprivate libvirtd %s (qemu driver, domains defined, not '
                  'running; every call a round trip)' % fixture.uri)
            print(header)
            for count in options.counts:
                rows, defined = daemon_driver(count, fixture)
                print_rows(rows)
                print('(defining %d domains took %.1f s)' % (count, defined))
        finally:
            fixture.cleanUp()
            os.rmdir(base_dir)
    return 0


if __name__ == '__main__':
    sys.exit(main())
