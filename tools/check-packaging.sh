#!/usr/bin/env bash
# Packaging check (tox -e packaging): build the sdist and, from it, the
# wheel; install Nova 34 and the wheel into a fresh virtual environment as
# an operator would; prove Nova loads the driver from a nova.conf value and
# finds every entry point setup.cfg declares; uninstall and prove every
# file Nova installed is still there, unchanged.
#
# Needs network access to PyPI (or a warm pip cache) and the packages that
# build libvirt-python (tools/bootstrap.sh installs them).  pip's cache is
# used as usual, so later runs reuse the wheels built the first time.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
PYTHON=${PYTHON:-python3}
export PIP_DISABLE_PIP_VERSION_CHECK=1

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

step() {
    echo "check-packaging: $*"
}

fail() {
    echo "check-packaging: FAILED: $*" >&2
    exit 1
}

# Run Python of the fresh environment in isolated mode from /, so that
# nothing of this checkout (its nova/ directory, a build's egg-info) can be
# imported or found instead of what is installed.
vpy() {
    (cd / && "$work/venv/bin/python" -I "$@")
}

step "building the sdist, and the wheel from the sdist"
"$PYTHON" -m build --outdir "$work/dist" "$REPO" > "$work/build.log" 2>&1 \
    || { cat "$work/build.log"; fail "build"; }
wheel=$(ls "$work"/dist/*.whl)
sdist=$(ls "$work"/dist/*.tar.gz)
step "built $(basename "$sdist") and $(basename "$wheel")"

step "checking what the wheel and the sdist contain"
"$PYTHON" - "$wheel" "$sdist" <<'EOF'
import sys
import tarfile
import zipfile

wheel, sdist = sys.argv[1:3]
problems = []
for name in zipfile.ZipFile(wheel).namelist():
    top = name.split('/')[0]
    if name == 'nova/virt/domain_meta.py':
        continue
    if top == 'nova_domain_meta' or top.endswith('.dist-info'):
        continue
    if top.endswith('.data') and name.endswith(
            '/data/etc/nova/rootwrap.d/nova-domain-meta.filters'):
        continue
    problems.append('unexpected file in the wheel: %s' % name)
names = zipfile.ZipFile(wheel).namelist()
for needed in ('nova/virt/domain_meta.py',
               'nova_domain_meta/metadata/schemas/domain-meta-1.0.rng',
               'nova_domain_meta/metadata/schemas/nova-instance-1.1.rng'):
    if needed not in names:
        problems.append('missing from the wheel: %s' % needed)
members = {m.split('/', 1)[1] for m in tarfile.open(sdist).getnames()
           if '/' in m}
for needed in ('setup.cfg', 'etc/nova/rootwrap.d/nova-domain-meta.filters',
               'devstack/plugin.sh', 'devstack/settings',
               'nova/virt/domain_meta.py'):
    if needed not in members:
        problems.append('missing from the sdist: %s' % needed)
for problem in problems:
    print(problem)
sys.exit(1 if problems else 0)
EOF

step "installing Nova (upper-constraints.txt) into a fresh environment"
"$PYTHON" -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet -c "$REPO/upper-constraints.txt" nova \
    > "$work/pip.log" 2>&1 || { cat "$work/pip.log"; fail "installing Nova"; }
vpy -c 'import nova.version as v; print("check-packaging: nova", v.version_string())'

# Every file Nova's RECORD lists, with a checksum of what is on disk now.
nova_files() {
    vpy - <<'EOF'
import hashlib
from importlib import metadata

for path in sorted(metadata.distribution('nova').files, key=str):
    located = path.locate()
    try:
        with open(located, 'rb') as f:
            digest = hashlib.sha256(f.read()).hexdigest()
    except FileNotFoundError:
        digest = 'MISSING'
    print(digest, path)
EOF
}
nova_files > "$work/nova-before.txt"
step "Nova's RECORD lists $(wc -l < "$work/nova-before.txt") files"

step "installing the wheel"
"$work/venv/bin/pip" install --quiet -c "$REPO/upper-constraints.txt" \
    "$wheel" > "$work/pip.log" 2>&1 \
    || { cat "$work/pip.log"; fail "installing the wheel"; }
"$work/venv/bin/pip" check || fail "pip check"
nova_files > "$work/nova-installed.txt"
diff -u "$work/nova-before.txt" "$work/nova-installed.txt" \
    || fail "installing the wheel changed files Nova installed"

step "loading the driver the way nova-compute does, from nova.conf"
printf '[DEFAULT]\ncompute_driver = domain_meta.LibvirtDriver\n' \
    > "$work/nova.conf"
vpy -W ignore - "$work/nova.conf" <<'EOF'
import sys

import nova.conf
from nova.virt import driver
from nova.virt.libvirt import driver as libvirt_driver
from nova.virt import virtapi

import nova.virt.domain_meta  # noqa: F401  the shim imports on its own

conf = nova.conf.CONF
conf(['--config-file', sys.argv[1]], project='nova', default_config_files=[])
# Nova's own loader: imports 'nova.virt.' + [DEFAULT] compute_driver.
loaded = driver.load_compute_driver(virtapi.VirtAPI())
assert isinstance(loaded, libvirt_driver.LibvirtDriver), type(loaded)
name = '%s.%s' % (type(loaded).__module__, type(loaded).__name__)
assert name == 'nova_domain_meta.driver.DomainMetaLibvirtDriver', name
print('check-packaging: compute_driver = %s loads %s'
      % (conf.compute_driver, name))
EOF

step "generating the sample configuration"
"$work/venv/bin/oslo-config-generator" --namespace nova_domain_meta \
    > "$work/sample.conf"
grep -q '^\[domain_meta\]' "$work/sample.conf" \
    || fail "oslo-config-generator wrote no [domain_meta] group"

step "resolving every entry point setup.cfg declares"
vpy - "$REPO/setup.cfg" "$work/venv/bin" <<'EOF'
import configparser
import os
import sys
from importlib import metadata

setup_cfg, bin_dir = sys.argv[1:3]
parser = configparser.ConfigParser()
parser.read(setup_cfg)
declared = []
for group, text in parser['entry_points'].items():
    for line in text.strip().splitlines():
        name, value = (part.strip() for part in line.split('=', 1))
        declared.append((group, name, value))

problems = []
for group, name, value in declared:
    found = {ep.name: ep for ep in metadata.entry_points(group=group)}
    ep = found.get(name)
    if ep is None or ep.value != value:
        problems.append('%s: %s is not installed as %s' % (group, name, value))
        continue
    try:
        loaded = ep.load()
    except Exception as exc:
        problems.append('%s: %s does not load: %r' % (group, name, exc))
        continue
    if group == 'console_scripts' and not os.path.exists(
            os.path.join(bin_dir, name)):
        problems.append('console script %s is not installed' % name)
    if group == 'nova.api.extra_spec_validators':
        from nova.api.validation.extra_specs import base
        validators = loaded.register()
        if not validators or not all(
                isinstance(v, base.ExtraSpecValidator) for v in validators):
            problems.append('%s: register() returns no validators' % name)
    print('check-packaging:   %s: %s = %s' % (group, name, value))
if not declared:
    problems.append('setup.cfg declares no entry points')
for problem in problems:
    print(problem)
sys.exit(1 if problems else 0)
EOF

step "checking the rootwrap filter next to Nova's"
prefix=$(vpy -c 'import sys; print(sys.prefix)')
cmp "$REPO/etc/nova/rootwrap.d/nova-domain-meta.filters" \
    "$prefix/etc/nova/rootwrap.d/nova-domain-meta.filters" \
    || fail "the rootwrap filter is not installed under $prefix/etc/nova/rootwrap.d"
vpy - "$prefix/etc/nova/rootwrap.d" <<'EOF'
import sys

from oslo_rootwrap import wrapper

names = {f.name for f in wrapper.load_filters([sys.argv[1]])}
assert 'privsep-nova_domain_meta-sys_admin' in names, names
assert 'privsep-rootwrap-sys_admin' in names, names   # Nova's own
EOF

step "uninstalling"
"$work/venv/bin/pip" uninstall --quiet -y nova-domain-meta
nova_files > "$work/nova-after.txt"
diff -u "$work/nova-before.txt" "$work/nova-after.txt" \
    || fail "uninstalling changed or removed files Nova installed"
if grep -q ' MISSING$' "$work/nova-after.txt"; then
    grep ' MISSING$' "$work/nova-after.txt"
    fail "files of Nova's RECORD are missing"
fi
vpy -c 'import nova.virt.domain_meta' 2> /dev/null \
    && fail "nova.virt.domain_meta is still importable"
[[ ! -e "$prefix/etc/nova/rootwrap.d/nova-domain-meta.filters" ]] \
    || fail "the rootwrap filter is left behind"
vpy -W ignore -c 'import nova.virt.libvirt.driver' \
    || fail "Nova's libvirt driver no longer imports"

step "OK: $(wc -l < "$work/nova-after.txt") files of Nova unchanged after install and uninstall"
