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

"""The devstack plugin, run by bash against stand-ins for devstack.

devstack itself is not here: ``STUBS`` defines, in a few lines each, the
devstack functions ``devstack/plugin.sh`` calls (``iniset``, ``iniget``,
``is_service_enabled``, ``setup_install``, ``sudo``, ...), with the
behaviour of devstack's own that the plugin relies on.  Each test sources
``devstack/settings`` and ``devstack/plugin.sh <mode> <phase>`` as
``stack.sh`` does, with ``errexit`` on, and reads the configuration files
and the file system afterwards.

The shim tests build virtual environments whose ``nova`` is installed
"from a source tree" in the two ways an editable install can work, and
let the real import system show the problem the plugin fixes.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import fixtures
import testtools

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
PLUGIN = os.path.join(REPO, 'devstack', 'plugin.sh')
SETTINGS = os.path.join(REPO, 'devstack', 'settings')
BASH = shutil.which('bash')

# Stand-ins for the devstack functions plugin.sh uses.  The ini helpers
# follow devstack's: iniset replaces the option's line in its section or
# adds it right after the section header (adding the section at the end),
# iniset_multiline replaces every line of the option, the getters print the
# values separated by spaces.
STUBS = r'''
NDM_TEST_LOG=${NDM_TEST_LOG:?}
die() { shift; echo "DIE: $*" >&2; exit 1; }
echo_summary() { echo "SUMMARY: $*"; }
define_plugin() { :; }
trueorfalse() {
    local value=${!2:-$1}
    case "${value,,}" in
        1|yes|true|on) echo True ;;
        *) echo False ;;
    esac
}
is_service_enabled() {
    local service
    for service in "$@"; do
        [[ ",$ENABLED_SERVICES," == *",$service,"* ]] && return 0
    done
    return 1
}
setup_install() {
    echo "setup_install $* venv=${PIP_VIRTUAL_ENV:-}" >> "$NDM_TEST_LOG"
}
pip_uninstall() { echo "pip_uninstall $*" >> "$NDM_TEST_LOG"; }
sudo() {
    echo "sudo $*" >> "$NDM_TEST_LOG"
    if [[ "$1" == umount ]]; then
        return 0
    fi
    if [[ "$1" == install && $(id -u) != 0 ]]; then
        local args=() skip=0 a
        for a in "$@"; do
            if (( skip )); then skip=0; continue; fi
            case "$a" in -o|-g) skip=1; continue ;; esac
            args+=("$a")
        done
        "${args[@]}"
        return
    fi
    "$@"
}
_ini() { "$NDM_TEST_PYTHON" "$NDM_TEST_INI" "$@"; }
iniset() { _ini set "$@"; }
iniget() { _ini get "$@"; }
iniset_multiline() { _ini set_multi "$@"; }
iniget_multiline() { _ini get_multi "$@"; }
'''

INI_HELPER = r'''
import os
import re
import sys

op, path, section, option = sys.argv[1:5]
values = sys.argv[5:]
lines = open(path).read().splitlines() if os.path.exists(path) else []
option_re = re.compile(r'^%s\s*=' % re.escape(option))


def bounds():
    start = None
    for i, line in enumerate(lines):
        if start is None and line.strip() == '[%s]' % section:
            start = i
        elif start is not None and line.startswith('['):
            return start, i
    return start, len(lines)


start, end = bounds()
found = [i for i in range(end) if start is not None and i > start
         and option_re.match(lines[i])]
if op in ('get', 'get_multi'):
    got = [lines[i].split('=', 1)[1].strip() for i in found]
    print(' '.join(got[:1] if op == 'get' else got))
    sys.exit(0)
if start is None:
    lines += ['', '[%s]' % section]
    start = len(lines) - 1
if op == 'set' and found:
    lines[found[0]] = '%s = %s' % (option, values[0])
else:
    for i in reversed(found):
        del lines[i]
    new = ['%s = %s' % (option, v) for v in values]
    lines[start + 1:start + 1] = new
open(path, 'w').write('\n'.join(lines) + '\n')
'''

DEVSTACK_NOVA_CONF = textwrap.dedent('''\
    [DEFAULT]
    debug = True
    compute_driver = libvirt.LibvirtDriver

    [filter_scheduler]
    enabled_filters = ComputeFilter,ComputeCapabilitiesFilter,%s
    ''' % 'ImagePropertiesFilter')


def read_ini(path):
    """{section: {option: [values]}}, keeping repeated options."""
    result = {}
    section = None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith('['):
                section = result.setdefault(line[1:-1], {})
            elif '=' in line and section is not None:
                key, value = (p.strip() for p in line.split('=', 1))
                section.setdefault(key, []).append(value)
    return result


def installed_module(name):
    """Whether the installed package has module ``name``.

    Asked of an isolated interpreter started from /, as the plugin does.
    """
    code = ('import importlib.util; print(importlib.util.find_spec(%r) '
            'is not None)' % name)
    return subprocess.run(
        [sys.executable, '-I', '-c', code], cwd='/', check=True,
        capture_output=True, text=True).stdout.strip() == 'True'


def installed_validator():
    """Whether the installed package offers nova-api its validator.

    Asked of an isolated interpreter started from /, as the plugin does: a
    build of this checkout leaves metadata in the source tree that would
    answer for the installed package otherwise.
    """
    code = ("from importlib import metadata; print(any("
            "ep.name == 'power_metrics' for ep in metadata.entry_points("
            "group='nova.api.extra_spec_validators')))")
    return subprocess.run(
        [sys.executable, '-I', '-c', code], cwd='/', check=True,
        capture_output=True, text=True).stdout.strip() == 'True'


@testtools.skipUnless(BASH, 'bash is not installed: the devstack plugin '
                            'is a bash script')
class DevstackPluginTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.log = os.path.join(self.tmp, 'calls.log')
        open(self.log, 'w').close()
        ini = os.path.join(self.tmp, 'ini.py')
        with open(ini, 'w') as f:
            f.write(INI_HELPER)
        self.stubs = os.path.join(self.tmp, 'stubs.sh')
        with open(self.stubs, 'w') as f:
            f.write(STUBS)
        self.conf_dir = os.path.join(self.tmp, 'etc', 'nova')
        os.makedirs(self.conf_dir)
        self.nova_conf = os.path.join(self.conf_dir, 'nova.conf')
        self.cpu_conf = os.path.join(self.conf_dir, 'nova-cpu.conf')
        self.tempest_conf = os.path.join(self.tmp, 'tempest.conf')
        with open(self.nova_conf, 'w') as f:
            f.write(DEVSTACK_NOVA_CONF)
        self.share_dir = os.path.join(self.tmp, 'scaphandre')
        # The plugin runs from a directory holding what a checkout of ours
        # can hold after a build: metadata naming nova/virt/domain_meta.py.
        # Nothing there may be found or touched.
        self.cwd = os.path.join(self.tmp, 'cwd')
        self.decoy = os.path.join(self.cwd, 'nova', 'virt', 'domain_meta.py')
        os.makedirs(os.path.dirname(self.decoy))
        open(self.decoy, 'w').close()
        decoy_info = os.path.join(self.cwd, 'nova_domain_meta.egg-info')
        os.makedirs(decoy_info)
        with open(os.path.join(decoy_info, 'PKG-INFO'), 'w') as f:
            f.write('Metadata-Version: 2.1\nName: nova-domain-meta\n'
                    'Version: 0.0.0\n')
        with open(os.path.join(decoy_info, 'SOURCES.txt'), 'w') as f:
            f.write('nova/virt/domain_meta.py\n')
        self.state_path = os.path.join(self.tmp, 'data', 'nova')
        self.env = {
            'PATH': os.environ.get('PATH', '/usr/bin:/bin'),
            'HOME': self.tmp,
            'NDM_TEST_LOG': self.log,
            'NDM_TEST_PYTHON': sys.executable,
            'NDM_TEST_INI': ini,
            'DEST': self.tmp,
            'NOVA_DIR': os.path.join(self.tmp, 'nova'),
            'NOVA_BIN_DIR': os.path.dirname(sys.executable),
            'NOVA_CONF_DIR': self.conf_dir,
            'NOVA_CONF': self.nova_conf,
            'NOVA_CPU_CONF': self.cpu_conf,
            'NOVA_STATE_PATH': self.state_path,
            'NOVA_FILTERS': 'ComputeFilter,ImagePropertiesFilter',
            'TEMPEST_CONFIG': self.tempest_conf,
            'ENABLED_SERVICES': 'n-api,n-sch,n-cpu,placement-api',
            'NOVA_DOMAIN_META_DIR': REPO,
            'NOVA_DOMAIN_META_SHARE_DIR': self.share_dir,
            'NOVA_DOMAIN_META_PYTHON': sys.executable,
        }

    def run_plugin(self, mode, phase='', expect_ok=True, script=None,
                   **env):
        """Source settings and plugin.sh as stack.sh does; return output."""
        body = ('source "$PLUGIN" "$MODE" "$PHASE"' if script is None else
                'source "$PLUGIN" "" ""\n' + script)
        command = textwrap.dedent('''\
            set -o errexit
            source "$STUBS"
            source "$SETTINGS"
            ''') + body + '\n'
        full_env = dict(self.env, STUBS=self.stubs, SETTINGS=SETTINGS,
                        PLUGIN=PLUGIN, MODE=mode, PHASE=phase, **env)
        proc = subprocess.run([BASH, '-c', command], env=full_env,
                              cwd=self.cwd, capture_output=True, text=True,
                              timeout=120)
        self.assertTrue(os.path.exists(self.decoy))
        output = proc.stdout + proc.stderr
        if expect_ok:
            self.assertEqual(0, proc.returncode, output)
        else:
            self.assertNotEqual(0, proc.returncode, output)
        return output

    def calls(self):
        with open(self.log) as f:
            return f.read().splitlines()


class TestPostConfig(DevstackPluginTestCase):

    def test_compute_and_scheduler_options(self):
        self.run_plugin('stack', 'post-config')
        conf = read_ini(self.nova_conf)
        self.assertEqual(['domain_meta.LibvirtDriver'],
                         conf['DEFAULT']['compute_driver'])
        shares = conf['domain_meta']['share_local_fs']
        self.assertEqual(1, len(shares))
        self.assertEqual({self.share_dir: 'scaphandre'},
                         json.loads(shares[0]))
        # The option's own default (/run/nova-domain-meta/shares) holds.
        self.assertNotIn('share_view_dir', conf['domain_meta'])
        self.assertEqual(
            ['nova.scheduler.filters.all_filters',
             'nova_domain_meta.scheduler.PowerMetricsFilter'],
            conf['filter_scheduler']['available_filters'])
        self.assertEqual(
            ['ComputeFilter,ComputeCapabilitiesFilter,'
             'ImagePropertiesFilter,PowerMetricsFilter'],
            conf['filter_scheduler']['enabled_filters'])
        # Other options are left as they were.
        self.assertEqual(['True'], conf['DEFAULT']['debug'])

    def test_running_twice_changes_nothing(self):
        self.run_plugin('stack', 'post-config')
        with open(self.nova_conf) as f:
            first = f.read()
        self.run_plugin('stack', 'post-config')
        with open(self.nova_conf) as f:
            self.assertEqual(first, f.read())

    def test_existing_available_filters_are_kept(self):
        with open(self.nova_conf, 'a') as f:
            f.write('available_filters = nova.scheduler.filters.all_filters\n'
                    'available_filters = acme.filters.RackFilter\n')
        self.run_plugin('stack', 'post-config')
        self.assertEqual(
            ['nova.scheduler.filters.all_filters',
             'acme.filters.RackFilter',
             'nova_domain_meta.scheduler.PowerMetricsFilter'],
            read_ini(self.nova_conf)['filter_scheduler']['available_filters'])

    def test_settings_are_used(self):
        view = os.path.join(self.tmp, 'views')
        self.run_plugin('stack', 'post-config',
                        NOVA_DOMAIN_META_MOUNT_TAG='power',
                        NOVA_DOMAIN_META_SHARE_VIEW_DIR=view)
        meta = read_ini(self.nova_conf)['domain_meta']
        self.assertEqual({self.share_dir: 'power'},
                         json.loads(meta['share_local_fs'][0]))
        self.assertEqual([view], meta['share_view_dir'])

    def test_power_metrics_off_sets_only_the_driver(self):
        self.run_plugin('stack', 'post-config',
                        NOVA_DOMAIN_META_ENABLE_POWER_METRICS='false')
        conf = read_ini(self.nova_conf)
        self.assertEqual(['domain_meta.LibvirtDriver'],
                         conf['DEFAULT']['compute_driver'])
        self.assertNotIn('domain_meta', conf)
        self.assertNotIn('available_filters', conf['filter_scheduler'])

    def test_controller_without_compute_keeps_the_driver(self):
        self.run_plugin('stack', 'post-config',
                        ENABLED_SERVICES='n-api,n-sch')
        conf = read_ini(self.nova_conf)
        self.assertEqual(['libvirt.LibvirtDriver'],
                         conf['DEFAULT']['compute_driver'])
        self.assertIn('PowerMetricsFilter',
                      conf['filter_scheduler']['enabled_filters'][0])

    def test_nothing_without_nova(self):
        self.run_plugin('stack', 'post-config',
                        ENABLED_SERVICES='key,placement-api')
        with open(self.nova_conf) as f:
            self.assertEqual(DEVSTACK_NOVA_CONF, f.read())


class TestExtra(DevstackPluginTestCase):

    def start_nova_compute(self, extra=''):
        # What devstack's start_nova_compute does before starting the
        # service: nova-cpu.conf is a copy of nova.conf plus local.conf's
        # [[post-config|$NOVA_CPU_CONF]] sections.
        shutil.copy(self.nova_conf, self.cpu_conf)
        with open(self.cpu_conf, 'a') as f:
            f.write(extra)

    def test_compute_conf_carries_our_options(self):
        self.run_plugin('stack', 'post-config')
        self.start_nova_compute()
        self.run_plugin('stack', 'extra')
        conf = read_ini(self.cpu_conf)
        self.assertEqual(['domain_meta.LibvirtDriver'],
                         conf['DEFAULT']['compute_driver'])
        self.assertIn('share_local_fs', conf['domain_meta'])

    def test_overridden_driver_stops_stacking(self):
        self.run_plugin('stack', 'post-config')
        self.start_nova_compute()
        self.run_plugin('', '', script=(
            'iniset "$NOVA_CPU_CONF" DEFAULT compute_driver '
            'libvirt.LibvirtDriver'))
        output = self.run_plugin('stack', 'extra', expect_ok=False)
        self.assertIn("compute_driver = 'libvirt.LibvirtDriver'", output)


class TestInstall(DevstackPluginTestCase):
    """stack install, with this test's own Python as Nova's.

    The package is installed in the test environment (tox installs it, not
    editable), like in a Nova environment devstack set up.
    """

    def test_install(self):
        output = self.run_plugin(
            'stack', 'install', NOVA_DOMAIN_META_ENABLE_POWER_METRICS='False')
        self.assertIn('setup_install %s venv=' % REPO, self.calls())
        installed = os.path.join(self.conf_dir, 'rootwrap.d',
                                 'nova-domain-meta.filters')
        with open(installed) as f, open(os.path.join(
                REPO, 'etc', 'nova', 'rootwrap.d',
                'nova-domain-meta.filters')) as g:
            self.assertEqual(g.read(), f.read())
        self.assertEqual(0o644, os.stat(installed).st_mode & 0o777)
        # No share directory without power metrics.
        self.assertFalse(os.path.exists(self.share_dir))
        self.assertNotIn('linking', output)

    def test_share_dir_is_created(self):
        self.run_plugin('stack', 'install', ENABLED_SERVICES='n-cpu')
        self.assertTrue(os.path.isdir(self.share_dir))
        self.assertEqual(0o755, os.stat(self.share_dir).st_mode & 0o777)

    def test_share_dir_symlink_is_refused(self):
        real = os.path.join(self.tmp, 'real')
        os.mkdir(real)
        os.symlink(real, self.share_dir)
        output = self.run_plugin('stack', 'install', expect_ok=False,
                                 ENABLED_SERVICES='n-cpu')
        self.assertIn('is a symbolic link', output)

    def test_nova_api_sees_the_validator_if_installed(self):
        # The nova.api.extra_spec_validators entry point is what makes
        # nova-api accept hw:power_metrics; Nova's own registry decides.
        offered = installed_validator()
        output = self.run_plugin('stack', 'install', expect_ok=offered,
                                 ENABLED_SERVICES='n-api')
        if not offered:
            self.assertIn('nova-api would reject hw:power_metrics', output)

    def test_nova_scheduler_imports_the_filter_if_installed(self):
        present = installed_module('nova_domain_meta.scheduler')
        output = self.run_plugin('stack', 'install', expect_ok=present,
                                 ENABLED_SERVICES='n-sch')
        if not present:
            self.assertIn('nova-scheduler could not import '
                          'nova_domain_meta.scheduler.PowerMetricsFilter',
                          output)


class TestNovaFromSourceTree(DevstackPluginTestCase):
    """Nova installed editable, as devstack's setup_develop does.

    A virtual environment (no pip, a second or so) gets what the two
    installs leave behind: Nova's dist-info with the PEP 610
    ``direct_url.json`` pip writes for an editable install, plus either a
    path entry for the source tree ("compat" mode) or an import finder
    appended to ``sys.meta_path`` ("finder" mode, what setuptools uses for
    a flat layout like Nova's); and our wheel's files: its dist-info and
    ``nova/virt/domain_meta.py`` in site-packages.  Stand-in modules replace
    Nova and the driver.
    """

    FINDER = textwrap.dedent('''\
        import importlib.util
        import os
        import sys

        SOURCE = %r


        class SourceTreeFinder:
            """Maps the top-level package to the source tree, last."""

            @classmethod
            def find_spec(cls, fullname, path=None, target=None):
                if fullname != 'nova':
                    return None
                package = os.path.join(SOURCE, 'nova')
                return importlib.util.spec_from_file_location(
                    'nova', os.path.join(package, '__init__.py'),
                    submodule_search_locations=[package])


        sys.meta_path.append(SourceTreeFinder)
        ''')

    def make_layout(self, mode):
        venv = os.path.join(self.tmp, 'venv')
        subprocess.run([sys.executable, '-m', 'venv', '--without-pip', venv],
                       check=True)
        python = os.path.join(venv, 'bin', 'python')
        site = subprocess.run(
            [python, '-c', 'import sysconfig; '
             'print(sysconfig.get_paths()["purelib"])'],
            check=True, capture_output=True, text=True).stdout.strip()
        source = os.path.join(self.tmp, 'src', 'nova')
        os.makedirs(os.path.join(source, 'nova', 'virt'))
        for init in ('nova', os.path.join('nova', 'virt')):
            with open(os.path.join(source, init, '__init__.py'), 'w') as f:
                f.write('')
        nova_info = os.path.join(site, 'nova-35.0.0.dev1.dist-info')
        os.makedirs(nova_info)
        with open(os.path.join(nova_info, 'METADATA'), 'w') as f:
            f.write('Metadata-Version: 2.1\nName: nova\n'
                    'Version: 35.0.0.dev1\n')
        with open(os.path.join(nova_info, 'direct_url.json'), 'w') as f:
            json.dump({'url': 'file://' + source,
                       'dir_info': {'editable': True}}, f)
        if mode == 'finder':
            with open(os.path.join(site, 'ndm_test_finder.py'), 'w') as f:
                f.write(self.FINDER % source)
            pth = 'import ndm_test_finder\n'
        else:
            pth = source + '\n'
        with open(os.path.join(site, '__editable__.nova.pth'), 'w') as f:
            f.write(pth)
        # Our wheel's files.
        shim = 'LibvirtDriver = "stand-in for the driver class"\n'
        os.makedirs(os.path.join(site, 'nova', 'virt'))
        with open(os.path.join(site, 'nova', 'virt', 'domain_meta.py'),
                  'w') as f:
            f.write(shim)
        ours = os.path.join(site, 'nova_domain_meta-1.0.0.dist-info')
        os.makedirs(ours)
        with open(os.path.join(ours, 'METADATA'), 'w') as f:
            f.write('Metadata-Version: 2.1\nName: nova-domain-meta\n'
                    'Version: 1.0.0\n')
        with open(os.path.join(ours, 'RECORD'), 'w') as f:
            f.write('nova/virt/domain_meta.py,,\n')
        # The plugin's checkout, whose shim the link points at.
        checkout = os.path.join(self.tmp, 'checkout')
        os.makedirs(os.path.join(checkout, 'nova', 'virt'))
        with open(os.path.join(checkout, 'nova', 'virt', 'domain_meta.py'),
                  'w') as f:
            f.write(shim)
        self.env.update(NOVA_DOMAIN_META_PYTHON=python,
                        NOVA_DOMAIN_META_DIR=checkout)
        return python, site, source, checkout

    def where_is_nova(self, python):
        return subprocess.run(
            [python, '-I', '-c', 'import nova; print(nova.__file__)'],
            cwd='/', capture_output=True, text=True).stdout.strip()

    def check_fixed(self, mode):
        python, site, source, checkout = self.make_layout(mode)
        output = self.run_plugin('', script='ensure_nova_domain_meta_shim')
        self.assertIn('linking the nova-domain-meta shim', output)
        link = os.path.join(source, 'nova', 'virt', 'domain_meta.py')
        self.assertEqual(
            os.path.join(checkout, 'nova', 'virt', 'domain_meta.py'),
            os.readlink(link))
        self.assertEqual(os.path.join(source, 'nova', '__init__.py'),
                         self.where_is_nova(python))
        subprocess.run([python, '-I', '-c', 'import nova.virt.domain_meta'],
                       cwd='/', check=True)
        self.assertFalse(os.path.exists(os.path.join(site, 'nova')))
        # Running again finds it working and changes nothing.
        output = self.run_plugin('', script='ensure_nova_domain_meta_shim')
        self.assertNotIn('linking', output)
        # clean removes the link again.
        self.run_plugin('', script='remove_nova_domain_meta_shim_link')
        self.assertFalse(os.path.lexists(link))
        return python

    def test_finder_mode(self):
        python, _site, _source, _checkout = self.make_layout('finder')
        # The hazard: our wheel's nova/ directory hides Nova altogether.
        self.assertEqual('None', self.where_is_nova(python))
        shutil.rmtree(os.path.join(self.tmp, 'venv'))
        shutil.rmtree(os.path.join(self.tmp, 'src'))
        shutil.rmtree(os.path.join(self.tmp, 'checkout'))
        self.check_fixed('finder')

    def test_path_mode(self):
        python, _site, source, _checkout = self.make_layout('path')
        # Nova imports, the shim does not.
        self.assertEqual(os.path.join(source, 'nova', '__init__.py'),
                         self.where_is_nova(python))
        self.assertNotEqual(0, subprocess.run(
            [python, '-I', '-c', 'import nova.virt.domain_meta'],
            cwd='/', capture_output=True).returncode)
        shutil.rmtree(os.path.join(self.tmp, 'venv'))
        shutil.rmtree(os.path.join(self.tmp, 'src'))
        shutil.rmtree(os.path.join(self.tmp, 'checkout'))
        self.check_fixed('path')


class TestTestConfig(DevstackPluginTestCase):

    def test_tempest_options(self):
        self.run_plugin('stack', 'test-config',
                        ENABLED_SERVICES='n-cpu,n-api,tempest')
        group = read_ini(self.tempest_conf)['nova_domain_meta']
        self.assertEqual(['True'], group['enabled'])
        self.assertEqual(['True'], group['power_metrics'])
        self.assertEqual(['scaphandre'], group['mount_tag'])
        self.assertEqual(['/run/nova-domain-meta/shares'],
                         group['share_view_dir'])
        self.assertEqual(['virsh -r -c qemu:///system dumpxml {domain}'],
                         group['domain_xml_command'])

    def test_no_tempest(self):
        self.run_plugin('stack', 'test-config')
        self.assertFalse(os.path.exists(self.tempest_conf))


class TestUnstackAndClean(DevstackPluginTestCase):

    def write_mounts(self):
        view = '/run/nova-domain-meta/shares'
        mounts = os.path.join(self.tmp, 'mounts')
        with open(mounts, 'w') as f:
            f.write('/dev/sda1 / ext4 rw 0 0\n'
                    'nova-domain-meta %(v)s tmpfs rw 0 0\n'
                    '/dev/sda1 %(v)s/instance-00000001/scaphandre ext4 ro '
                    '0 0\n'
                    '/dev/sda1 %(v)sx/other ext4 ro 0 0\n' % {'v': view})
        self.env['_NDM_MOUNTS_FILE'] = mounts
        return view

    def test_unstack_unmounts_share_views_deepest_first(self):
        view = self.write_mounts()
        self.run_plugin('unstack')
        self.assertEqual(
            ['sudo umount %s/instance-00000001/scaphandre' % view,
             'sudo umount %s' % view],
            self.calls())

    def test_clean(self):
        self.write_mounts()
        rootwrap = os.path.join(self.conf_dir, 'rootwrap.d')
        os.makedirs(rootwrap)
        keep = os.path.join(rootwrap, 'compute.filters')
        ours = os.path.join(rootwrap, 'nova-domain-meta.filters')
        for path in (keep, ours):
            open(path, 'w').close()
        os.mkdir(self.share_dir)
        self.run_plugin('clean')
        self.assertTrue(os.path.exists(keep))
        self.assertFalse(os.path.exists(ours))
        self.assertFalse(os.path.exists(self.share_dir))
        self.assertIn('pip_uninstall nova-domain-meta', self.calls())
        self.assertEqual(2, len([c for c in self.calls() if 'umount' in c]))

    def test_clean_keeps_what_scaphandre_wrote(self):
        os.makedirs(os.path.join(self.share_dir, 'instance-00000001'))
        self.run_plugin('clean')
        self.assertTrue(os.path.isdir(
            os.path.join(self.share_dir, 'instance-00000001')))
