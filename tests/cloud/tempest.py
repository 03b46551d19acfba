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

"""Tempest 47 against the tier's cloud: our plugin and compute smoke.

``tempest.conf`` is written the way devstack's lib/tempest would for this
cloud (what it offers, what it does not), then our devstack plugin's
``stack test-config`` phase fills the ``[nova_domain_meta]`` group.  The
guests cannot be reached over SSH (no metadata service, no route into the
namespace's guest networks), so ``[validation] run_validation`` is off and
the plugin checks the share through the guest's console log.
"""

import io
import os
import re
import subprocess
import time

from tests.cloud import devstack
from tests.cloud import ini
from tests.cloud import process
from tests.cloud import tier as tier_mod

MOUNT_TAG = 'scaphandre'
GUEST_MOUNT_POINT = '/var/scaphandre'

PLUGIN_REGEX = r'^nova_domain_meta_tempest_plugin\.'
# Tempest's own smoke tests of the compute API (tempest run --smoke, only
# tempest.api.compute), less the two that boot from a volume (this cloud
# has no Cinder, see tests/cloud/README.rst) and AttachInterfacesUnderV243
# Test, which skips itself without SSH validation (it wants a guest that
# handles ACPI hot-plug events, checked over SSH).  The scenario smoke
# tests need SSH into guests, Horizon or two compute hosts.
SMOKE_REGEX = (r'^tempest\.api\.compute\.(?!servers\.test_create_server\.'
               r'ServersTestBootFromVolume|servers\.test_attach_interfaces\.)'
               r'.*\bsmoke\b')
SUITES = (('plugin', PLUGIN_REGEX), ('smoke', SMOKE_REGEX))
# Workers of the one tempest run.  Most of a test's time is spent waiting
# for the cloud (Keystone, Neutron, a guest booting), so a third worker
# on two cores shortens the run.
CONCURRENCY = 3


def config_path(tier):
    return tier.path('tempest', 'etc', 'tempest.conf')


def wait_for_compute(tier, cloud, timeout=300):
    """Until nova-compute is up and reported its node to placement."""
    compute = tier.find('nova-compute')

    def up():
        services = cloud.get('compute', '/os-services',
                             params={'binary': 'nova-compute'})['services']
        return any(s['state'] == 'up' for s in services)
    compute.wait_until(up, 'nova-compute up in the compute API', timeout,
                       interval=1)

    def provider():
        found = cloud.get('placement', '/resource_providers')
        return bool(found['resource_providers'])
    compute.wait_until(provider, 'its resource provider in placement',
                       timeout, interval=1)


def write_config(tier, devstack_env):
    """tempest.conf for this cloud, then our devstack plugin's group."""
    facts = tier.facts
    flavors = facts['flavors']
    ini.write(config_path(tier), {
        'DEFAULT': {'log_dir': tier.dir('tempest', 'logs'),
                    'log_file': 'tempest.log', 'use_stderr': False},
        'auth': {
            'admin_username': 'admin', 'admin_password': tier_mod.PASSWORD,
            'admin_project_name': 'admin', 'admin_domain_name': 'Default',
            'use_dynamic_credentials': True,
            # Servers go on the shared network ([compute]
            # fixed_network_name): a network, subnet and router per test
            # class cost about four minutes of Neutron time in all, and
            # the guests are never reached over the network anyway.
            'create_isolated_networks': False,
        },
        'identity': {'uri_v3': tier_mod.url('keystone', '/v3'),
                     'auth_version': 'v3', 'region': tier_mod.REGION},
        'identity-feature-enabled': {'api_v2': False},
        'compute': {
            'image_ref': facts['image'], 'image_ref_alt': facts['image'],
            'flavor_ref': flavors['ndm.tiny'],
            'flavor_ref_alt': flavors['ndm.small'],
            'fixed_network_name': 'private',
            'min_compute_nodes': 1, 'region': tier_mod.REGION,
            'build_timeout': 300, 'build_interval': 2,
            'max_microversion': 'latest',
        },
        'compute-feature-enabled': {
            'console_output': True, 'interface_attach': True,
            'resize': False, 'cold_migration': False,
            'live_migration': False, 'snapshot': False, 'rescue': False,
            'change_password': False, 'vnc_console': False,
            'spice_console': False, 'serial_console': False,
            'shelve': False, 'suspend': False, 'pause': False,
            'personality': False, 'config_drive': False,
            'attach_encrypted_volume': False,
        },
        'network': {
            'public_network_id': facts['networks']['public'],
            'floating_network_name': 'public',
            'project_network_cidr': '10.100.0.0/16',
            'project_network_mask_bits': 28,
            'region': tier_mod.REGION,
        },
        'network-feature-enabled': {'ipv6': False, 'port_security': True,
                                    'floating_ips': True},
        'validation': {'run_validation': False},
        'image': {'region': tier_mod.REGION},
        'placement': {'region': tier_mod.REGION},
        'service_available': {
            'nova': True, 'neutron': True, 'glance': True,
            'cinder': False, 'swift': False, 'horizon': False,
        },
    })
    devstack.run_phase(tier, devstack_env, 'stack', 'test-config')
    # The tier's libvirtd has its socket in the tier's directory.
    ini.update(config_path(tier), 'nova_domain_meta', 'domain_xml_command',
               ['virsh -r -c %s dumpxml {domain}' % facts['libvirt_uri']])
    ini.update(config_path(tier), 'nova_domain_meta', 'guest_check_method',
               ['console'])
    ini.update(config_path(tier), 'nova_domain_meta', 'guest_mount_point',
               [GUEST_MOUNT_POINT])


def _totals(output):
    """{'Passed': n, 'Skipped': n, 'Failed': n} from tempest's summary."""
    found = {}
    for key in ('Passed', 'Skipped', 'Expected Fail', 'Unexpected Success',
                'Failed'):
        match = re.search(r'^ - %s: (\d+)$' % key, output, re.M)
        found[key] = int(match.group(1)) if match else None
    return found


#: What stestr's subunit statuses count as in tempest's summary.
_STATUSES = {'success': 'Passed', 'skip': 'Skipped', 'fail': 'Failed',
             'xfail': 'Expected Fail', 'uxsuccess': 'Unexpected Success'}


def suite_of(test_id, suites=SUITES):
    """The name of the suite in ``suites`` a subunit test id belongs to.

    A class whose set-up failed is reported as ``setUpClass (module.Class)``.
    """
    name = test_id.partition(' (')[2].rstrip(')') \
        if test_id.startswith(('setUpClass', 'tearDownClass')) else test_id
    for suite, regex in suites:
        if re.match(regex, name):
            return suite
    return None


def totals_by_suite(subunit_stream, suites=SUITES):
    """{suite: {'Passed': n, ...}} from a subunit v2 stream of one run."""
    import subunit
    import testtools

    totals = {suite: dict.fromkeys(_STATUSES.values(), 0)
              for suite, _regex in suites}
    totals[None] = dict.fromkeys(_STATUSES.values(), 0)

    def count(test):
        if test['status'] in _STATUSES:
            key = _STATUSES[test['status']]
            totals[suite_of(test['id'], suites)][key] += 1
    result = testtools.StreamToDict(count)
    result.startTestRun()
    try:
        subunit.ByteStreamToStreamResult(
            io.BytesIO(subunit_stream), non_subunit_name='stdout').run(result)
    finally:
        result.stopTestRun()
    return totals


def run_suites(tier, suites, concurrency=CONCURRENCY):
    """Run the suites in one tempest run; fail unless all ran and passed.

    One run rather than one per suite: the workers share out every test
    class, and tempest starts once.
    """
    workspace = tier.path('tempest')
    env = dict(os.environ, HOME=tier.dir('tempest-home'))
    regex = '|'.join('(%s)' % regex for _name, regex in suites)
    argv = [os.path.join(tier_mod.BIN, 'tempest'), 'run',
            '--config-file', config_path(tier), '--regex', regex,
            '--concurrency', str(concurrency)]
    started = time.monotonic()
    try:
        output = process.run(argv, 'tempest', env=env, cwd=workspace,
                             timeout=3600)
        failed = None
    except process.TierError as e:
        output, failed = str(e), e
    log = tier.path('log', 'tempest.log')
    with open(log, 'w') as f:
        f.write(output)
    stream = subprocess.run(
        [os.path.join(tier_mod.BIN, 'stestr'), 'last', '--subunit'],
        cwd=workspace, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL).stdout
    totals = totals_by_suite(stream, suites)
    took = time.monotonic() - started
    problems = []
    for name, _regex in suites:
        found = totals[name]
        print('cloud: tempest %s: passed %d, skipped %d, failed %d' % (
            name, found['Passed'], found['Skipped'], found['Failed']),
            flush=True)
        if not found['Passed'] or found['Skipped'] or found['Failed'] or \
                found['Unexpected Success']:
            problems.append('%s: %s' % (name, found))
    if any(totals[None].values()):
        # setUpClass/tearDownClass of smoke classes land here too.
        problems.append('class set-up or tear-down, or a test of no '
                        'suite: %s' % totals[None])
    tier.facts['tempest'] = {name: totals[name] for name, _r in suites}
    overall = _totals(output)
    print('cloud: tempest (one run, %d workers): passed %s, skipped %s, '
          'failed %s in %.0f s' % (concurrency, overall['Passed'],
                                   overall['Skipped'], overall['Failed'],
                                   took), flush=True)
    if failed is not None or problems:
        raise process.TierError('tempest: %s; see %s:\n%s' % (
            '; '.join(problems) or 'tempest run failed', log,
            output[-6000:]))
    return totals


def run(tier, regex=None):
    env = dict(os.environ, HOME=tier.dir('tempest-home'))
    if not os.path.exists(tier.path('tempest', '.stestr.conf')):
        tier.run([os.path.join(tier_mod.BIN, 'tempest'), 'init',
                  tier.path('tempest')], 'tempest init', env=env)
    write_config(tier, tier.devstack_env)
    run_suites(tier, (('selected', regex),) if regex else SUITES)
