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

"""Our devstack plugin, run for real against the tier's cloud.

devstack cannot run here (it clones from servers this machine cannot
reach), but ``devstack/plugin.sh`` is what configures nova-domain-meta in
a devstack cloud, so the tier runs its phases as ``stack.sh`` would: bash
sources ``devstack/settings`` and ``devstack/plugin.sh <mode> <phase>``
with ``errexit``, after the few devstack functions the plugin calls are
defined (below, in our own words; the ini functions go through
:mod:`tests.cloud.ini`).  The plugin writes the plugin's part of
``/etc/nova/nova.conf`` and of ``tempest.conf``, installs the rootwrap
filter and checks, in the tier's Python, that nova-compute, nova-api and
nova-scheduler can load their parts.
"""

import os
import sys

from tests.cloud import ini
from tests.cloud import tier as tier_mod

FUNCTIONS = r'''
set -o errexit -o nounset -o pipefail
die() {
    local line=$1
    shift
    echo "devstack/plugin.sh:$line: $*" >&2
    exit 1
}
echo_summary() { echo "stack.sh: $*"; }
define_plugin() { :; }
trueorfalse() {
    local default=$1 name=$2
    case "${!name:-$default}" in
        1|[Yy]es|[Tt]rue|TRUE|[Oo]n) echo True ;;
        *) echo False ;;
    esac
}
is_service_enabled() {
    local wanted
    for wanted in "$@"; do
        [[ ",$ENABLED_SERVICES," == *",$wanted,"* ]] && return 0
    done
    return 1
}
# The tier installed the package (not editable) before the cloud started;
# devstack's setup_install would have pip-installed it here.
setup_install() {
    "$NOVA_BIN_DIR/python" -I -c "from importlib import metadata
metadata.distribution('nova-domain-meta')" \
        || die $LINENO "nova-domain-meta is not installed in $NOVA_BIN_DIR"
}
pip_uninstall() { :; }
iniset() { "$NDM_TIER_PYTHON" -I "$NDM_TIER_INI" set "$@"; }
iniget() { "$NDM_TIER_PYTHON" -I "$NDM_TIER_INI" get "$@"; }
iniset_multiline() { "$NDM_TIER_PYTHON" -I "$NDM_TIER_INI" set_multi "$@"; }
iniget_multiline() { "$NDM_TIER_PYTHON" -I "$NDM_TIER_INI" get_multi "$@"; }
'''

# Nova's default enabled_filters, which devstack puts in $NOVA_FILTERS.
NOVA_FILTERS = ('ComputeFilter,ComputeCapabilitiesFilter,'
                'ImagePropertiesFilter,ServerGroupAntiAffinityFilter,'
                'ServerGroupAffinityFilter')


def environment(tier, share_dir, share_view_dir, tempest_conf):
    env = dict(os.environ)
    env.update({
        'DEST': tier.root,
        'NOVA_DOMAIN_META_DIR': tier_mod.REPO,
        'NOVA_DOMAIN_META_SHARE_DIR': share_dir,
        'NOVA_DOMAIN_META_SHARE_VIEW_DIR': share_view_dir,
        'NOVA_BIN_DIR': tier_mod.BIN,
        'NOVA_CONF_DIR': '/etc/nova',
        'NOVA_CONF': '/etc/nova/nova.conf',
        'NOVA_CPU_CONF': '/etc/nova/nova-cpu.conf',
        'NOVA_STATE_PATH': tier.path('nova', 'state'),
        'NOVA_DIR': tier.path('nova', 'no-source-tree'),
        'NOVA_FILTERS': NOVA_FILTERS,
        'TEMPEST_CONFIG': tempest_conf,
        'ENABLED_SERVICES': 'n-api,n-cond,n-sch,n-cpu,placement-api,'
                            'g-api,q-svc,key,tempest',
        'NDM_TIER_PYTHON': sys.executable,
        # Run as a script: ``-m tests.cloud.ini`` would import the tests
        # package, hence Nova's functional framework, for every iniset.
        'NDM_TIER_INI': ini.__file__,
        'PYTHONPATH': tier_mod.REPO,
    })
    return env


def run_phase(tier, env, mode, phase=''):
    """Source settings and plugin.sh with ``mode phase``, as stack.sh."""
    script = (FUNCTIONS +
              'source "$NOVA_DOMAIN_META_DIR/devstack/settings"\n'
              'set -- %s %s\n'
              'source "$NOVA_DOMAIN_META_DIR/devstack/plugin.sh"\n'
              % (mode, phase))
    return tier.run(['bash', '-c', script],
                    'devstack plugin: %s %s' % (mode, phase), env=env,
                    cwd=tier.root)
