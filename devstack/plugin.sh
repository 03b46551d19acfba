#!/usr/bin/env bash
# plugin.sh - devstack plugin of nova-domain-meta
#
# Installs nova-domain-meta into the Python environment Nova runs from,
# makes nova-compute use it ([DEFAULT] compute_driver =
# domain_meta.LibvirtDriver), offers the power-metrics share (a read-only
# virtiofs share of $NOVA_DOMAIN_META_SHARE_DIR) and enables its scheduler
# filter.  nova-api needs nothing but the package: the hw:power_metrics
# validator is an entry point Nova loads by itself.
#
# devstack sources this file as "plugin.sh <mode> [<phase>]"; the settings
# file has been sourced before.  Variables and functions such as iniset,
# NOVA_CONF or NOVA_BIN_DIR come from devstack.
# shellcheck shell=bash disable=SC2154

NDM_DRIVER=domain_meta.LibvirtDriver
NDM_FILTER_CLASS=PowerMetricsFilter
NDM_FILTER_PATH=nova_domain_meta.scheduler.$NDM_FILTER_CLASS
NDM_ROOTWRAP_FILTERS=nova-domain-meta.filters

# Python that Nova's services run with: the interpreter of Nova's console
# scripts.  This is the environment the package has to land in, whether
# devstack uses its global virtualenv, per-project ones or none.
function _ndm_python {
    if [[ -n "${NOVA_DOMAIN_META_PYTHON:-}" ]]; then
        echo "$NOVA_DOMAIN_META_PYTHON"
        return
    fi
    if [[ -x "$NOVA_BIN_DIR/python3" ]]; then
        echo "$NOVA_BIN_DIR/python3"
        return
    fi
    local script interpreter
    for script in nova-compute nova-scheduler nova-manage; do
        [[ -f "$NOVA_BIN_DIR/$script" ]] || continue
        interpreter=$(head -n 1 "$NOVA_BIN_DIR/$script" | sed -e 's/^#![[:space:]]*//' -e 's/[[:space:]].*//')
        if [[ -x "$interpreter" && "$interpreter" != */sh ]]; then
            echo "$interpreter"
            return
        fi
    done
    echo python3
}

# Run Nova's Python in isolated mode (-I) from /: nothing from the current
# directory or the environment (an egg-info of a checkout, PYTHONPATH) may
# change what is imported or which distribution metadata is found.
function _ndm_py {
    local python
    python=$(_ndm_python)
    (cd / && "$python" -I "$@")
}

# [domain_meta] share_view_dir as nova-compute will resolve it.
function _ndm_share_view_dir {
    echo "${NOVA_DOMAIN_META_SHARE_VIEW_DIR:-/run/nova-domain-meta/shares}"
}

function _ndm_power_metrics_enabled {
    [[ "$NOVA_DOMAIN_META_ENABLE_POWER_METRICS" == "True" ]]
}

# Make "import nova.virt.domain_meta" work in Nova's Python.
#
# The wheel puts nova/virt/domain_meta.py into site-packages, next to
# Nova's own files when Nova is a regular installation.  devstack installs
# Nova from /opt/stack/nova in development mode ("pip install -e", its
# setup_develop) instead, and then that file breaks things:
#
# * site-packages/nova holds nothing but nova/virt/domain_meta.py and has no
#   __init__.py, so Python sees a namespace package there.  When the
#   editable install works through setuptools' import finder, which Python
#   consults only after its path search, that namespace package *is* what
#   "import nova" returns and every Nova service fails to import its own
#   modules.
# * When the editable install puts the source tree on sys.path instead,
#   Nova's regular package wins, but Python then looks for
#   nova.virt.domain_meta only in the source tree and does not find it.
#
# Either way the fix is the same: take the directories our wheel made out of
# site-packages and link the shim from this repository into the source
# tree's nova/virt.  The link follows updates of the checkout; "clean"
# removes it.  Nothing is done when the shim already imports.
function ensure_nova_domain_meta_shim {
    local python
    python=$(_ndm_python)
    if _ndm_shim_imports; then
        return 0
    fi

    local source_tree installed
    source_tree=$(_ndm_nova_source_tree)
    if [[ ! -d "$source_tree/nova/virt" ]]; then
        die $LINENO "nova.virt.domain_meta does not import with $python and no Nova source tree was found"
    fi
    installed=$(_ndm_py -c "import os; from importlib import metadata; print(os.path.abspath(metadata.distribution('nova-domain-meta').locate_file('nova/virt/domain_meta.py')))") \
        || die $LINENO "nova-domain-meta is not installed for $python"
    # Only ever remove our file from a nova/virt directory that is not a
    # regular package (Nova's or a checkout's).
    if [[ "$installed" != /*/nova/virt/domain_meta.py || -e "$(dirname "$installed")/__init__.py" ]]; then
        die $LINENO "unexpected location of the installed shim: $installed"
    fi

    echo "Nova runs from its source tree $source_tree: linking the nova-domain-meta shim there"
    _ndm_as_owner "$(dirname "$installed")" rm -f "$installed" \
        "$(dirname "$installed")"/__pycache__/domain_meta.*.pyc
    # rmdir stops at the first directory that holds anything else.
    _ndm_as_owner "$(dirname "$installed")" rmdir \
        "$(dirname "$installed")/__pycache__" "$(dirname "$installed")" \
        "$(dirname "$(dirname "$installed")")" 2>/dev/null || true
    _ndm_as_owner "$source_tree/nova/virt" ln -sfn \
        "$NOVA_DOMAIN_META_DIR/nova/virt/domain_meta.py" \
        "$source_tree/nova/virt/domain_meta.py"

    _ndm_shim_imports \
        || die $LINENO "nova.virt.domain_meta still does not import with $python"
}

# Nova is a regular package (not the namespace package our nova/ directory
# in site-packages can turn it into) and the shim imports.
function _ndm_shim_imports {
    _ndm_py -c 'import nova, nova.virt.domain_meta; assert nova.__file__' 2>/dev/null
}

# The project directory of an editable Nova, from the direct_url.json pip
# records (PEP 610), else $NOVA_DIR.
function _ndm_nova_source_tree {
    local tree
    tree=$(_ndm_py - <<'EOF' 2>/dev/null
import json
from importlib import metadata
from urllib import parse

info = json.loads(metadata.distribution('nova').read_text('direct_url.json')
                  or '{}')
url = parse.urlparse(info.get('url', ''))
if info.get('dir_info', {}).get('editable') and url.scheme == 'file':
    print(parse.unquote(url.path))
EOF
)
    echo "${tree:-$NOVA_DIR}"
}

# Run a command as the current user if it may write to the directory given
# first, else through sudo.
function _ndm_as_owner {
    local dir=$1
    shift
    if [[ -w "$dir" ]]; then
        "$@"
    else
        sudo "$@"
    fi
}

# Remove the link ensure_nova_domain_meta_shim may have made; a regular file
# there is not ours.
function remove_nova_domain_meta_shim_link {
    local link
    link=$(_ndm_nova_source_tree)/nova/virt/domain_meta.py
    if [[ -L "$link" ]]; then
        _ndm_as_owner "$(dirname "$link")" rm -f "$link"
    fi
}

function install_nova_domain_meta {
    # A regular install, never "pip install -e": an editable install cannot
    # put nova/virt/domain_meta.py into Nova's package.  setup_install
    # installs into the environment devstack installed Nova into, with
    # OpenStack's upper constraints.
    local venv=""
    if [[ "${USE_VENV:-False}" == "True" ]]; then
        venv=${PROJECT_VENV["nova"]:-}
    fi
    PIP_VIRTUAL_ENV=$venv setup_install "$NOVA_DOMAIN_META_DIR"
    ensure_nova_domain_meta_shim
}

# Nova's rootwrap lets nova-compute start our privsep daemon
# (nova_domain_meta.privsep.sys_admin_pctxt) with this filter.  devstack's
# configure_rootwrap has already recreated $NOVA_CONF_DIR/rootwrap.d by now.
function install_nova_domain_meta_rootwrap {
    sudo install -d -o root -g root -m 755 "$NOVA_CONF_DIR/rootwrap.d"
    sudo install -o root -g root -m 644 \
        "$NOVA_DOMAIN_META_DIR/etc/nova/rootwrap.d/$NDM_ROOTWRAP_FILTERS" \
        "$NOVA_CONF_DIR/rootwrap.d/$NDM_ROOTWRAP_FILTERS"
}

# The directory Scaphandre's host exporter writes into and guests see
# through the share.  nova-compute refuses a symbolic link there, so do we.
function prepare_nova_domain_meta_share_dir {
    local dir=$NOVA_DOMAIN_META_SHARE_DIR
    if [[ "$dir" != /* ]]; then
        die $LINENO "NOVA_DOMAIN_META_SHARE_DIR must be an absolute path, not '$dir'"
    fi
    if [[ -L "$dir" ]]; then
        die $LINENO "NOVA_DOMAIN_META_SHARE_DIR $dir is a symbolic link; [domain_meta] share_local_fs needs a real directory"
    fi
    if [[ -e "$dir" && ! -d "$dir" ]]; then
        die $LINENO "NOVA_DOMAIN_META_SHARE_DIR $dir exists and is not a directory"
    fi
    sudo install -d -o root -g root -m 755 "$dir"
}

# Options of nova-compute.  They are written to $NOVA_CONF because devstack
# builds $NOVA_CPU_CONF when it starts nova-compute, after this phase, by
# copying $NOVA_CONF and merging the [[post-config|$NOVA_CPU_CONF]] sections
# of local.conf into the copy (lib/nova, start_nova_compute): a value set in
# $NOVA_CPU_CONF now would be lost.  The other services ignore these options.
# verify_nova_domain_meta_compute_conf checks the result once nova-compute
# runs.
function configure_nova_domain_meta_compute {
    iniset "$NOVA_CONF" DEFAULT compute_driver "$NDM_DRIVER"
    if _ndm_power_metrics_enabled; then
        iniset "$NOVA_CONF" domain_meta share_local_fs \
            "{\"$NOVA_DOMAIN_META_SHARE_DIR\": \"$NOVA_DOMAIN_META_MOUNT_TAG\"}"
        if [[ -n "$NOVA_DOMAIN_META_SHARE_VIEW_DIR" ]]; then
            iniset "$NOVA_CONF" domain_meta share_view_dir "$NOVA_DOMAIN_META_SHARE_VIEW_DIR"
        fi
    fi
}

# nova-scheduler: make the filter loadable and enable it.  available_filters
# is a multi-valued option; Nova's own filters stay available through
# nova.scheduler.filters.all_filters.
function configure_nova_domain_meta_scheduler {
    local available enabled
    available=$(iniget_multiline "$NOVA_CONF" filter_scheduler available_filters)
    if [[ -z "$available" ]]; then
        available=nova.scheduler.filters.all_filters
    fi
    if [[ " $available " != *" $NDM_FILTER_PATH "* ]]; then
        # Word splitting is wanted: one value per filter module.
        # shellcheck disable=SC2086
        iniset_multiline "$NOVA_CONF" filter_scheduler available_filters \
            $available "$NDM_FILTER_PATH"
    fi

    enabled=$(iniget "$NOVA_CONF" filter_scheduler enabled_filters)
    enabled=${enabled// /}
    if [[ -z "$enabled" ]]; then
        enabled=$NOVA_FILTERS
    fi
    if [[ ",$enabled," != *",$NDM_FILTER_CLASS,"* ]]; then
        enabled=${enabled:+$enabled,}$NDM_FILTER_CLASS
    fi
    iniset "$NOVA_CONF" filter_scheduler enabled_filters "$enabled"
}

# Checks in Nova's Python, before any service starts: each service that
# needs a part of the plugin can import it.
function verify_nova_domain_meta_install {
    local python
    python=$(_ndm_python)
    if is_service_enabled n-cpu; then
        _ndm_py -c "from oslo_utils import importutils; importutils.import_class('nova.virt.$NDM_DRIVER')" \
            || die $LINENO "nova-compute could not load compute_driver = $NDM_DRIVER"
    fi
    if ! _ndm_power_metrics_enabled; then
        return 0
    fi
    if is_service_enabled n-api; then
        # Nova's own validator registry, loaded from the
        # nova.api.extra_spec_validators entry points as nova-api does.
        _ndm_py -c "from nova.api.validation.extra_specs import validators; validators.validate('hw:power_metrics', 'true')" \
            || die $LINENO "nova-api would reject hw:power_metrics: the validator entry point of nova-domain-meta is not visible to $python"
    fi
    if is_service_enabled n-sch; then
        _ndm_py -c "from oslo_utils import importutils; importutils.import_class('$NDM_FILTER_PATH')" \
            || die $LINENO "nova-scheduler could not import $NDM_FILTER_PATH"
    fi
}

# After nova-compute started: it was given our driver and options.  A
# [[post-config|$NOVA_CPU_CONF]] section of local.conf can override them.
function verify_nova_domain_meta_compute_conf {
    local driver tag
    driver=$(iniget "$NOVA_CPU_CONF" DEFAULT compute_driver)
    if [[ "$driver" != "$NDM_DRIVER" ]]; then
        die $LINENO "$NOVA_CPU_CONF has compute_driver = '$driver', not $NDM_DRIVER; is it set in local.conf?"
    fi
    if _ndm_power_metrics_enabled; then
        tag=$(iniget "$NOVA_CPU_CONF" domain_meta share_local_fs)
        if [[ "$tag" != *"\"$NOVA_DOMAIN_META_MOUNT_TAG\""* ]]; then
            die $LINENO "$NOVA_CPU_CONF lacks the share of $NOVA_DOMAIN_META_SHARE_DIR in [domain_meta] share_local_fs"
        fi
    fi
}

# Options of our tempest plugin (group [nova_domain_meta]).  The domain XML
# is read on this host with a read-only libvirt connection; devstack puts
# $STACK_USER in the libvirt group.
function configure_nova_domain_meta_tempest {
    iniset "$TEMPEST_CONFIG" nova_domain_meta enabled True
    iniset "$TEMPEST_CONFIG" nova_domain_meta power_metrics "$NOVA_DOMAIN_META_ENABLE_POWER_METRICS"
    iniset "$TEMPEST_CONFIG" nova_domain_meta mount_tag "$NOVA_DOMAIN_META_MOUNT_TAG"
    iniset "$TEMPEST_CONFIG" nova_domain_meta share_view_dir "$(_ndm_share_view_dir)"
    iniset "$TEMPEST_CONFIG" nova_domain_meta domain_xml_command \
        "virsh -r -c qemu:///system dumpxml {domain}"
}

# nova-compute keeps a tmpfs at share_view_dir holding a read-only view of
# the shared directory per guest.  Unmount the views and the tmpfs, so
# nothing of them outlives the stack (clean.sh removes $DATA_DIR
# recursively, which must never walk into a view).
function unmount_nova_domain_meta_share_views {
    local view mounts target
    view=$(_ndm_share_view_dir)
    mounts=${_NDM_MOUNTS_FILE:-/proc/self/mounts}
    [[ -r "$mounts" ]] || return 0
    # Deepest first, the tmpfs itself last; the names below share_view_dir
    # are libvirt domain names, so no escaped characters in these paths.
    awk -v view="$view" '$2 == view || index($2, view "/") == 1 { print $2 }' "$mounts" \
        | sort -r | while read -r target; do
            sudo umount "$target" || sudo umount -l "$target" || true
        done
}

function clean_nova_domain_meta {
    unmount_nova_domain_meta_share_views
    remove_nova_domain_meta_shim_link
    sudo rm -f "$NOVA_CONF_DIR/rootwrap.d/$NDM_ROOTWRAP_FILTERS"
    pip_uninstall nova-domain-meta || true
    # Keep whatever Scaphandre wrote; remove the directory only if empty.
    if [[ -d "$NOVA_DOMAIN_META_SHARE_DIR" && ! -L "$NOVA_DOMAIN_META_SHARE_DIR" ]]; then
        sudo rmdir "$NOVA_DOMAIN_META_SHARE_DIR" 2>/dev/null || true
    fi
}

if is_service_enabled n-cpu n-api n-sch; then
    if [[ "$1" == "stack" && "$2" == "install" ]]; then
        echo_summary "Installing nova-domain-meta into Nova's environment"
        install_nova_domain_meta
        if is_service_enabled n-cpu; then
            install_nova_domain_meta_rootwrap
            if _ndm_power_metrics_enabled; then
                prepare_nova_domain_meta_share_dir
            fi
        fi
        verify_nova_domain_meta_install

    elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
        echo_summary "Configuring Nova for nova-domain-meta"
        if is_service_enabled n-cpu; then
            configure_nova_domain_meta_compute
        fi
        if is_service_enabled n-sch && _ndm_power_metrics_enabled; then
            configure_nova_domain_meta_scheduler
        fi

    elif [[ "$1" == "stack" && "$2" == "extra" ]]; then
        if is_service_enabled n-cpu; then
            echo_summary "Checking nova-compute's configuration for nova-domain-meta"
            verify_nova_domain_meta_compute_conf
        fi

    elif [[ "$1" == "stack" && "$2" == "test-config" ]]; then
        if is_service_enabled tempest && [[ "$NOVA_DOMAIN_META_CONFIGURE_TEMPEST" == "True" ]]; then
            echo_summary "Configuring tempest for nova-domain-meta"
            configure_nova_domain_meta_tempest
        fi
    fi

    if [[ "$1" == "unstack" ]]; then
        if is_service_enabled n-cpu; then
            unmount_nova_domain_meta_share_views
        fi
    fi

    if [[ "$1" == "clean" ]]; then
        clean_nova_domain_meta
    fi
fi
