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

"""The Nova and nova-domain-meta installed here, and comparing versions.

``check`` calls metadata stale when an older Nova or plugin wrote it than
the one installed alongside the tool, which is what would write it now.
Nova, oslo.config and packaging are imported on first use: ``list``
needs none of them, and Python start-up is part of every run of the CLI.
"""

from nova_domain_meta import version as plugin_version


def running_nova_version():
    """Return the version of the Nova installed alongside, with package.

    The CLI runs in nova-compute's environment, so this is the Nova that
    would write new metadata.  Nova reads its distribution suffix from a
    ``release`` file found through oslo.config's search path, which needs
    the global configuration initialised.  When nothing did (the CLI does
    not read nova.conf), it is initialised with no file just long enough
    for Nova to look, then cleared, so a process that parses Nova's
    configuration afterwards (a test runner, a service) still can.
    """
    from nova import version as nova_version
    from oslo_config import cfg

    try:
        return nova_version.version_string_with_package()
    except cfg.NotInitializedError:
        pass
    cfg.CONF(args=[], project='nova', default_config_files=[],
             default_config_dirs=[])
    try:
        return nova_version.version_string_with_package()
    finally:
        cfg.CONF.clear()


def running_plugin_version():
    """Return the version of the nova-domain-meta installed alongside."""
    return plugin_version.version_string()


def parse_version(text):
    """Return the comparable version of ``text``, ignoring its suffix.

    Nova writes ``<version>-<distribution package>`` (``34.0.0``,
    ``34.0.0-0ubuntu1~cloud0``, ``34.0.0-1.el9``); only the part before the
    first ``-`` says which Nova wrote the metadata.  Raises ``ValueError``.
    """
    from packaging import version as pkg_version

    base = (text or '').strip().split('-', 1)[0]
    try:
        return pkg_version.Version(base)
    except pkg_version.InvalidVersion:
        raise ValueError('%r is not a version' % text) from None


def older(written, running):
    """Whether version ``written`` is older than ``running``.

    Returns None when ``running`` does not parse (nothing to compare with);
    raises ``ValueError`` when ``written`` does not.
    """
    try:
        current = parse_version(running)
    except ValueError:
        return None
    return parse_version(written) < current
