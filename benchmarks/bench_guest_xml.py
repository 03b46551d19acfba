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

"""Benchmark: ``_get_guest_xml`` of our driver against stock Nova's.

Why: Nova generates the domain XML on every boot, hard reboot, rescue,
resize and migration; our driver must not make any of them slower.

What it does, in one process, through Nova's own functional framework:

1. starts two compute services, ``stock`` running Nova's
   ``libvirt.LibvirtDriver`` and ``ours`` running
   ``domain_meta.LibvirtDriver`` (each loaded from ``compute_driver`` as
   nova.conf loads it);
2. boots one server on ``ours`` (an image with properties, a flavor with
   extra specs, a port, a volume attached at boot, tags) and records the
   arguments Nova passed to ``_get_guest_xml`` while spawning it;
3. replays that call on both drivers alternately (which one goes first
   changes every round), after a warm-up, and prints the median of each,
   their ratio, and the database reads and conductor RPCs each call made
   (counted, not assumed).

The ratio is of the medians of the CPU time of the calling thread
(``time.thread_time``): the call does no I/O, so its CPU time is its cost,
and unlike wall-clock time it does not grow when other processes take the
CPU away (the ratio of wall-clock medians is printed too).

During the replay DEBUG logging is off, as in a nova-compute with
``[DEFAULT] debug = False``; Nova's test framework otherwise formats
every DEBUG message, which costs both drivers the same.

Usage: ``python benchmarks/bench_guest_xml.py [--rounds N]``.
"""

import argparse
import json
import logging
import os
import statistics
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

import tests  # noqa: E402,F401  (Nova's monkey patching comes first)

from nova.conductor import rpcapi as conductor_rpcapi  # noqa: E402
from nova import objects  # noqa: E402
from nova.virt.libvirt import driver as libvirt_driver  # noqa: E402

from tests.functional import base  # noqa: E402

import machine_info  # noqa: E402

#: Filled by the benchmark case, printed by main().
RESULTS = {}


class _Counter(object):
    """Counts calls of a method while wrapping it."""

    def __init__(self, owner, name):
        self.owner = owner
        self.name = name
        self.count = 0
        self.original = getattr(owner, name)

    def __enter__(self):
        original = self.original
        counter = self

        def counting(*args, **kwargs):
            counter.count += 1
            return original(*args, **kwargs)
        setattr(self.owner, self.name, counting)
        return self

    def __exit__(self, *exc):
        setattr(self.owner, self.name, self.original)


class GuestXmlBenchmark(base.DomainMetaTestBase):
    """Not a test: the harness the benchmark runs in."""

    ROUNDS = 400
    WARMUP = 50

    def _start(self, hostname, compute_driver):
        self.flags(compute_driver=compute_driver)
        self.start_compute(hostname)
        return self.computes[hostname].driver

    def _record_spawn_call(self, with_volume):
        """Boot a server on ``ours``; return the _get_guest_xml call."""
        calls = []
        original = libvirt_driver.LibvirtDriver._get_guest_xml

        def recording(driver, *args, **kwargs):
            calls.append((args, kwargs))
            return original(driver, *args, **kwargs)

        image = self.glance.create(None, {
            'name': 'bench-image', 'status': 'active',
            'container_format': 'bare', 'disk_format': 'qcow2',
            'min_disk': 0, 'min_ram': 0,
            'properties': {'os_distro': 'debian', 'os_version': '12',
                           'hw_disk_bus': 'virtio',
                           'hw_qemu_guest_agent': 'yes'}})
        flavor = self._create_flavor(extra_spec={
            'hw:cpu_policy': 'shared', 'quota:disk_read_iops_sec': '500'})
        body = self._build_server(image_uuid=image['id'], flavor_id=flavor,
                                  networks='auto', host='ours')
        if with_volume:
            body['block_device_mapping_v2'] = [
                {'boot_index': 0, 'uuid': image['id'],
                 'source_type': 'image', 'destination_type': 'local'},
                {'boot_index': None, 'uuid': self.cinder.IMAGE_BACKED_VOL,
                 'source_type': 'volume', 'destination_type': 'volume'}]
        body['tags'] = ['prod', 'web']
        libvirt_driver.LibvirtDriver._get_guest_xml = recording
        try:
            server = self.api.post_server({'server': body})
            self._wait_for_state_change(server, 'ACTIVE')
        finally:
            libvirt_driver.LibvirtDriver._get_guest_xml = original
        self.assertEqual(1, len(calls))
        return calls[0]

    def _replay(self, drivers, args, kwargs):
        """Return ({driver: [seconds]}, {driver: (BDM reads, RPCs)})."""
        trips = {}
        for name, driver in drivers.items():
            with _Counter(objects.BlockDeviceMappingList,
                          'get_by_instance_uuid') as bdm_reads, \
                    _Counter(conductor_rpcapi.ConductorAPI,
                             'object_class_action_versions') as rpcs:
                driver._get_guest_xml(*args, **kwargs)
            trips[name] = (bdm_reads.count, rpcs.count)
        times = {name: ([], []) for name in drivers}
        order = list(drivers)
        for i in range(self.WARMUP + self.ROUNDS):
            order.reverse()
            for name in order:
                wall, cpu = time.perf_counter(), time.thread_time()
                drivers[name]._get_guest_xml(*args, **kwargs)
                cpu, wall = (time.thread_time() - cpu,
                             time.perf_counter() - wall)
                if i >= self.WARMUP:
                    times[name][0].append(cpu)
                    times[name][1].append(wall)
        return times, trips

    def runTest(self):
        drivers = {'stock': self._start('stock', 'libvirt.LibvirtDriver'),
                   'ours': self._start('ours', base.COMPUTE_DRIVER)}
        calls = {scenario: self._record_spawn_call(with_volume)
                 for scenario, with_volume in SCENARIOS}
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.INFO)
        try:
            for scenario, (args, kwargs) in calls.items():
                RESULTS[scenario] = self._replay(drivers, args, kwargs)
        finally:
            root.setLevel(level)


#: (scenario, with a volume attached at boot)
SCENARIOS = (('image, 1 port', False), ('image, 1 port, 1 volume', True))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--rounds', type=int,
                        default=GuestXmlBenchmark.ROUNDS)
    options = parser.parse_args()
    GuestXmlBenchmark.ROUNDS = options.rounds
    result = unittest.TextTestRunner(stream=open(os.devnull, 'w')).run(
        GuestXmlBenchmark())
    if not result.wasSuccessful():
        for _case, trace in result.errors + result.failures:
            print(trace)
        return 1
    print('_get_guest_xml, same server, stock LibvirtDriver vs ours '
          '(Nova functional framework, one process, calls alternating)')
    print('machine: %s' % json.dumps(machine_info.describe(),
                                     sort_keys=True))
    print('%-26s %-6s %6s %9s %9s %9s %9s %9s %9s' % (
        'server', 'driver', 'calls', 'cpu ms', 'cpu p90', 'wall ms',
        'BDM reads', 'cond. RPC', 'ratio'))
    for scenario, _volume in SCENARIOS:
        times, trips = RESULTS[scenario]
        stock_cpu = statistics.median(times['stock'][0])
        stock_wall = statistics.median(times['stock'][1])
        for name in ('stock', 'ours'):
            cpu, wall = (sorted(t) for t in times[name])
            print('%-26s %-6s %6d %9.3f %9.3f %9.3f %9d %9d %9.3f' % (
                scenario, name, len(cpu), 1000 * statistics.median(cpu),
                1000 * cpu[len(cpu) * 9 // 10],
                1000 * statistics.median(wall), trips[name][0],
                trips[name][1], statistics.median(cpu) / stock_cpu))
        print('%-26s ratio of wall-clock medians: %.3f' % (
            scenario, statistics.median(times['ours'][1]) / stock_wall))
    return 0


if __name__ == '__main__':
    sys.exit(main())
