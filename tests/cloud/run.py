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

"""The cloud tier: bring a cloud up, test it, tear it down.

``python -m tests.cloud.run`` (what ``tox -e cloud`` runs after the
install phase) re-runs itself in private namespaces, then:

start      MariaDB, RabbitMQ, Open vSwitch + OVN, the private libvirtd;
           Keystone, Glance, Placement, Neutron, Nova; the catalog,
           flavors, networks and the guest image;
tempest    the plugin's tests and tempest's compute smoke tests;
scenarios  the tier's own tests (tests/cloud/scenarios) against the cloud;
teardown   every process stopped by PID, mounts and directories removed,
           always, also after a failure.

Exit status 0 only when every phase passed; a failure says what failed
and why.  ``--hold`` keeps the cloud up after the tests (until SIGTERM or
``touch <tier>/release``) for a look inside with ``nsenter``.
"""

import argparse
import concurrent.futures
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback

from tests.cloud import namespace
from tests.cloud import process

PHASES = ('start', 'tempest', 'scenarios')


def parse_args(argv):
    parser = argparse.ArgumentParser(prog='tests.cloud.run')
    parser.add_argument(namespace.INSIDE_FLAG, action='store_true',
                        dest='inside', help=argparse.SUPPRESS)
    parser.add_argument('--phases', default=','.join(PHASES),
                        help='Comma-separated phases to run after start '
                             '(default: %(default)s).')
    parser.add_argument('--hold', action='store_true',
                        help='Keep the cloud up at the end until SIGTERM '
                             'or until <tier>/release exists.')
    parser.add_argument('--keep-dir', action='store_true',
                        help='Keep the tier directory (logs, configs).')
    parser.add_argument('--tempest-regex', default=None,
                        help='Run only tempest tests matching this.')
    return parser.parse_args(argv)


# The threads that start daemons live as long as the tier: a daemon's
# PR_SET_PDEATHSIG fires when the *thread* that started it exits.  Enough
# of them for every step of the start phase to wait for its dependencies
# in a thread of its own.
POOL = concurrent.futures.ThreadPoolExecutor(24, 'ndm-cloud')


def _parallel(*jobs):
    """Run the callables at once; raise the first failure."""
    futures = [POOL.submit(job) for job in jobs]
    for future in futures:
        future.result()


class _Steps(object):
    """Start-up steps, each run as soon as the steps it needs are done."""

    def __init__(self, tier):
        self.tier = tier
        self.futures = {}

    def add(self, name, job, after=()):
        needs = [self.futures[n] for n in after]

        def run():
            for future in needs:
                future.result()   # a failed dependency fails this step
            if process.STOPPING.is_set():
                raise process.TierError('stopped before %s' % name)
            started = time.monotonic()
            result = job()
            self.tier.step(name, started)
            return result
        self.futures[name] = POOL.submit(run)

    def wait(self):
        """Until every step is done; raise the first failure, if any."""
        done, _ = concurrent.futures.wait(
            self.futures.values(),
            return_when=concurrent.futures.FIRST_EXCEPTION)
        for future in done:
            if future.exception() is not None:
                raise future.exception()
        for future in self.futures.values():
            future.result()


def phase_start(tier, hypervisor):
    """Bring the cloud up; return (seconds taken, seconds waited for lock)."""
    # Imported here: they import OpenStack libraries, slow to load, and
    # are only needed inside the namespaces.
    from tests.cloud import glance
    from tests.cloud import guest_image
    from tests.cloud import keystone
    from tests.cloud import mariadb
    from tests.cloud import neutron
    from tests.cloud import nova
    from tests.cloud import ovn
    from tests.cloud import placement
    from tests.cloud import rabbitmq
    from tests.cloud import resources
    from tests.cloud import tempest

    started = time.monotonic()
    namespace.prepare(tier)
    # Mounts made below the tier's directory (the read-only views) reach
    # libvirtd's mount namespace, wherever the daemon's own directory is.
    namespace.share_mounts_below(tier.root)
    share_dir = tier.dir('scaphandre')
    share_view_dir = tier.dir('shares')
    for service in (keystone, glance, placement, neutron):
        service.configure(tier)
    nova.write_base_config(tier)

    # Every step starts as soon as what it needs is there: the databases
    # are synchronised together once MariaDB runs, each service starts
    # once its database (and RabbitMQ, where it uses it) is ready.
    images = {}
    steps = _Steps(tier)
    steps.add('mariadb', lambda: mariadb.start(tier))
    steps.add('rabbitmq', lambda: rabbitmq.start(tier))
    steps.add('openvswitch + ovn', lambda: ovn.start(tier))
    steps.add('libvirtd', hypervisor.start)
    steps.add('guest image build', lambda: images.update(
        guest_image.build_files(tier, tempest.MOUNT_TAG,
                                tempest.GUEST_MOUNT_POINT)))
    steps.add('devstack plugin: install, post-config', lambda: nova.configure(
        tier, share_dir, share_view_dir, tempest.config_path(tier)))
    steps.add('keystone keys', lambda: keystone.setup_keys(tier))
    steps.add('keystone db', lambda: keystone.prepare_database(tier),
              after=('mariadb', 'keystone keys'))
    steps.add('glance db', lambda: glance.prepare_database(tier),
              after=('mariadb',))
    steps.add('placement db', lambda: placement.prepare_database(tier),
              after=('mariadb',))
    steps.add('neutron db', lambda: neutron.prepare_database(tier),
              after=('mariadb',))
    steps.add('nova db', lambda: nova.prepare_database(tier),
              after=('mariadb',))
    steps.add('keystone', lambda: (keystone.start(tier),
                                   keystone.register_services(tier)),
              after=('keystone db',))
    steps.add('glance', lambda: glance.start(tier), after=('glance db',))
    steps.add('placement', lambda: placement.start(tier),
              after=('placement db',))
    # Services that call others find them in the catalog once, at start:
    # nova-scheduler started before Keystone lists placement disables its
    # placement client for good ("ServiceDisabledException").
    steps.add('neutron', lambda: neutron.start(tier),
              after=('neutron db', 'rabbitmq', 'openvswitch + ovn',
                     'keystone'))
    steps.add('nova control plane', lambda: nova.start_control(tier),
              after=('nova db', 'rabbitmq', 'keystone',
                     'devstack plugin: install, post-config'))
    steps.add('nova-compute', lambda: (
        nova.write_compute_config(tier, hypervisor.uri),
        nova.start_compute(tier)),
        after=('libvirtd', 'nova control plane', 'keystone', 'placement',
               'neutron'))
    steps.wait()

    cloud = resources.Cloud()
    timed_started = time.monotonic()
    tempest.wait_for_compute(tier, cloud)
    tier.step('compute service up', timed_started)
    nova.discover_hosts(tier)
    steps = _Steps(tier)
    steps.add('flavors', lambda: tier.facts.update(
        flavors=resources.create_flavors(cloud)))
    steps.add('networks', lambda: tier.facts.update(
        networks=resources.create_networks(cloud)))
    steps.add('guest image upload', lambda: tier.facts.update(
        image=guest_image.upload(cloud, images)))
    steps.wait()
    tier.facts['tier_root'] = tier.root
    tier.save_facts()
    took = tier.step('start (total)', started)
    # From here on guests run.
    return took, hypervisor.hold_lock()


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if os.geteuid() != 0:
        print('cloud: FAILED: the cloud tier needs root (namespaces, '
              'mounts, a privileged libvirtd)', file=sys.stderr)
        return 1
    if not args.inside:
        # The namespace has no network: fetch the guest's packages first.
        started = time.monotonic()
        from tests.real import tiny_guest
        tiny_guest.build()
        os.environ['CLOUD_TIER_GUEST_SECONDS'] = '%.1f' % (
            time.monotonic() - started)
        namespace.reexec_inside(sys.argv[1:] if argv is None else argv)
    # Set by tools/cloud-tier.sh so that importing the ``tests`` package
    # (which loads Nova's functional framework) does not monkey-patch this
    # process with eventlet; the services must not inherit it.
    os.environ.pop('OS_NOVA_DISABLE_EVENTLET_PATCHING', None)

    from tests.cloud import hypervisor as hypervisor_mod
    from tests.cloud import tier as tier_mod

    root = tempfile.mkdtemp(prefix='ndm-cloud-', dir='/tmp')
    os.chmod(root, 0o755)
    tier = tier_mod.Tier(root)
    print('cloud: tier directory %s (namespaces of pid %d)'
          % (root, os.getpid()), flush=True)
    if os.environ.get('CLOUD_TIER_INSTALL_SECONDS'):
        tier.record('phase install',
                    float(os.environ['CLOUD_TIER_INSTALL_SECONDS']) +
                    float(os.environ.get('CLOUD_TIER_GUEST_SECONDS', 0)))
    hypervisor = hypervisor_mod.Hypervisor(tier)
    failures = []
    # SIGTERM (CI stopping us, a developer's kill) goes through teardown.
    signal.signal(signal.SIGTERM, _stop_requested)
    phases = [p for p in args.phases.split(',') if p]
    current = 'start'
    try:
        took, waited = phase_start(tier, hypervisor)
        tier.record('phase start', took)
        tier.record('phase lock wait', waited)
        for name in phases:
            if name == 'start':
                continue
            started = time.monotonic()
            current = name
            try:
                _run_phase(name, tier, args)
            except process.TierError as e:
                failures.append('%s: %s' % (name, e))
                print('cloud: %s FAILED: %s' % (name, e), flush=True)
            tier.step('phase %s' % name, started)
        if args.hold:
            _hold(tier)
    except BaseException as e:
        if isinstance(e, SystemExit) and e.code == 0:
            raise
        failures.append('%s: %s' % (current,
                                    e if isinstance(e, process.TierError)
                                    else traceback.format_exc()))
        print('cloud: FAILED: %s' % failures[-1], flush=True)
        if args.hold:
            _hold(tier)
        # Start-up steps still under way give up rather than start more.
        process.STOPPING.set()
    finally:
        started = time.monotonic()
        _teardown(tier, hypervisor, failures)
        tier.step('phase teardown', started)
        namespace.unmount_below(root)
        if not args.keep_dir and not failures:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print('cloud: logs and configuration kept in %s' % root)
    _print_summary(tier, failures)
    POOL.shutdown(wait=False)
    if failures:
        print('cloud: FAILED (%d): %s' % (len(failures),
                                          '; '.join(failures)[:4000]))
        return 1
    print('cloud: all phases passed')
    return 0


def _print_summary(tier, failures):
    """The phases' times, the wall time and the machine's load."""
    phases = [(name[len('phase '):], took) for name, took in tier.timings
              if name.startswith('phase ')]
    print('cloud: phase timings: %s' % ', '.join(
        '%s %.0f s' % kv for kv in phases))
    started = float(os.environ.get('CLOUD_TIER_STARTED') or 0)
    wall = time.time() - started if started else sum(t for _n, t in phases)
    print('cloud: summary: %s in %.0f s wall (%.1f min); load average '
          'over the run %s; 1/5/15-min load at the end %s; %d cores' % (
              'FAILED' if failures else 'passed', wall, wall / 60,
              tier.load.mean(), '/'.join('%.1f' % x for x in os.getloadavg()),
              os.cpu_count()), flush=True)


def _stop_requested(signum, frame):
    # Waits in other threads give up; the main thread goes to teardown.
    process.STOPPING.set()
    raise SystemExit(128 + signum)


def _run_phase(name, tier, args):
    if name == 'tempest':
        from tests.cloud import tempest
        tempest.run(tier, regex=args.tempest_regex)
    elif name == 'scenarios':
        from tests.cloud import scenarios
        scenarios.run(tier)
    else:
        raise process.TierError('unknown phase %s' % name)


def _hold(tier):
    release = tier.path('release')
    print('cloud: holding; nsenter -t %d -n -m to look inside; touch %s '
          'to end' % (os.getpid(), release), flush=True)
    while not os.path.exists(release) and not process.STOPPING.is_set():
        time.sleep(1)


def _teardown(tier, hypervisor, failures):
    """Stop everything we started, newest first; then libvirtd."""
    for daemon in reversed(tier.daemons):
        if daemon.name.startswith('nova-compute'):
            daemon.stop()
    try:
        hypervisor.stop()
    except Exception as e:
        failures.append('teardown: stopping libvirtd: %s' % e)
    # The services first (all at once), then what they depend on.
    infrastructure = ('mariadb', 'rabbitmq', 'epmd', 'ovsdb', 'ovs-',
                      'ovn-')
    services = [d for d in tier.daemons
                if not d.name.startswith(infrastructure)]
    for group in (services, tier.daemons):
        try:
            process.stop_all(group)
        except Exception as e:
            failures.append('teardown: stopping daemons: %s' % e)
    leftovers = process.kill_leftovers(os.readlink('/proc/self/ns/net'))
    if leftovers:
        # Helpers a daemon forked into sessions of their own (Erlang's
        # erl_child_setup and inet_gethost): ours, since only the tier's
        # processes are in its network namespace.
        print('cloud: teardown: killed what outlived its daemon: %s'
              % leftovers, flush=True)


if __name__ == '__main__':
    sys.exit(main())
