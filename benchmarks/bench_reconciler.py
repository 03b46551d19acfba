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

"""Benchmark: one metadata reconciler pass over 100 and 1,000 domains.

Runs the real :class:`nova_domain_meta.reconciler.Reconciler` against
libvirt's ``test:///`` driver, loaded from a node file this script writes
with one domain per instance, each already holding the metadata it should.
Only Nova's database is replaced (instances are built in memory with
Nova's own objects), since no database exists here.

Reported per run, measured in one process:

* CPU seconds per domain for the first pass after nova-compute starts
  (every domain's expected metadata is built and compared) and for a
  steady-state pass (nothing changed since),
* libvirt calls and metadata writes made by that pass (target: 0 writes),
* the same after renaming 10% of the instances (target: one write per
  changed domain), and for the pass after that (0 writes again).

Usage: ``python benchmarks/bench_reconciler.py [N ...]`` (default 100 1000).
"""

import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

import tests  # noqa: E402,F401  (Nova's monkey patching comes first)

from oslo_config import cfg  # noqa: E402

from tests.unit import reconciler_fakes  # noqa: E402

import machine_info  # noqa: E402

HOST = reconciler_fakes.HOST


def run_pass(bench):
    bench.calls.clear()
    start = time.process_time()
    result = bench.run_pass()
    cpu = time.process_time() - start
    return result, cpu, sum(bench.calls.values()), bench.calls['setMetadata']


def measure(count, workdir):
    instances, bdms = reconciler_fakes.make_instances(count)
    conn = reconciler_fakes.write_node_file(
        instances, bdms, os.path.join(workdir, 'node-%d.xml' % count))
    bench = reconciler_fakes.InMemoryReconciler(conn, instances, bdms)

    rows = []
    result, cpu, calls, writes = run_pass(bench)
    assert result.checked == count and result.errors == 0, result
    rows.append(('first pass', count, cpu, calls, writes))
    result, cpu, calls, writes = run_pass(bench)
    rows.append(('steady state', count, cpu, calls, writes))

    changed = list(instances.values())[::10]
    for inst in changed:
        inst.display_name = inst.display_name + '-renamed'
    result, cpu, calls, writes = run_pass(bench)
    assert result.written == len(changed), result
    rows.append(('%d renamed' % len(changed), count, cpu, calls, writes))

    result, cpu, calls, writes = run_pass(bench)
    rows.append(('after rewrite', count, cpu, calls, writes))
    conn.close()
    return rows


def main(counts):
    cfg.CONF([], project='nova', default_config_files=[])
    cfg.CONF.set_override('host', HOST)
    print('Reconciler pass benchmark on libvirt test:/// node files '
          '(in-process test driver)')
    print('machine: %s' % json.dumps(machine_info.describe(),
                                     sort_keys=True))
    print('%-16s %8s %12s %14s %14s %8s' % (
        'pass', 'domains', 'cpu s', 'cpu ms/domain', 'libvirt calls',
        'writes'))
    with tempfile.TemporaryDirectory() as workdir:
        for count in counts:
            for name, n, cpu, calls, writes in measure(count, workdir):
                print('%-16s %8d %12.3f %14.3f %14d %8d' % (
                    name, n, cpu, 1000.0 * cpu / n, calls, writes))
    return 0


if __name__ == '__main__':
    sys.exit(main([int(a) for a in sys.argv[1:]] or [100, 1000]))
