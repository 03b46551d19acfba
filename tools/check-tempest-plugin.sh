#!/usr/bin/env bash
# Prove that tempest itself finds the nova-domain-meta tempest plugin: it is
# listed as a plugin, every test the plugin declares is listed by
# "tempest run --list-tests", nothing else of ours is, and tempest's sample
# configuration carries the [nova_domain_meta] group.  Runs in a fresh
# tempest workspace, with the tempest and plugin installed in the current
# environment (tox -e tempest-plugin).
set -euo pipefail

fail() {
    echo "check-tempest-plugin: $*" >&2
    exit 1
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# tempest keeps its workspace registry and a global configuration
# directory in ~/.tempest: give it a home of its own, so that nothing is
# left in the user's and no workspace registered earlier gets in the way.
export HOME="$work/home"
mkdir -p "$HOME"
tempest init --workspace-path "$work/workspaces.yaml" \
    --name nova-domain-meta-check "$work/workspace" > /dev/null \
    || fail "tempest init failed"
cd "$work/workspace"

tempest list-plugins > "$work/plugins.txt"
grep -q 'nova_domain_meta_tempest_plugin.plugin:NovaDomainMetaTempestPlugin' \
    "$work/plugins.txt" || fail "tempest list-plugins does not show the plugin"

tempest run --list-tests --regex '^nova_domain_meta_tempest_plugin\.' \
    | grep '^nova_domain_meta_tempest_plugin\.' > "$work/listed.txt" || true

# Every test the plugin declares carries an idempotent id.
package=$(python -c 'import os, nova_domain_meta_tempest_plugin as p; print(os.path.dirname(p.__file__))')
grep -rhoE "idempotent_id\('[0-9a-f-]{36}'\)" "$package/tests" \
    | grep -oE '[0-9a-f-]{36}' | sort > "$work/declared.txt"
grep -oE 'id-[0-9a-f-]{36}' "$work/listed.txt" | cut -c4- | sort > "$work/found.txt"
[[ -s "$work/declared.txt" ]] || fail "no test declared in $package/tests"
if ! diff -u "$work/declared.txt" "$work/found.txt"; then
    fail "tempest lists other tests than the plugin declares"
fi
if grep -q '^tests\.' "$work/listed.txt"; then
    fail "the plugin's own unit tests are among tempest's tests"
fi

oslo-config-generator --namespace tempest.config > "$work/tempest.conf.sample"
grep -q '^\[nova_domain_meta\]' "$work/tempest.conf.sample" \
    || fail "the sample tempest.conf has no [nova_domain_meta] group"
grep -q '^#domain_xml_command' "$work/tempest.conf.sample" \
    || fail "the sample tempest.conf lacks domain_xml_command"

echo "check-tempest-plugin: tempest lists the plugin and its $(wc -l < "$work/found.txt") tests:"
sed 's/^/  /' "$work/listed.txt"
