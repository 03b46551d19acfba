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

"""What ``check`` reports: missing, invalid or stale metadata.

Each Nova domain's elements are checked against the RelaxNG schemas
shipped with the package and against the versions installed here
(:mod:`.versions`); domains Nova never owned have no problems.
"""

import dataclasses

from nova_domain_meta.cmd import domain as domain_mod
from nova_domain_meta.cmd import versions
from nova_domain_meta import metadata
from nova_domain_meta.metadata import schema

# Problem kinds ``check_domain`` reports, most severe first.
PROBLEM_INVALID = 'invalid'
PROBLEM_MISSING = 'missing'
PROBLEM_STALE = 'stale'
PROBLEM_KINDS = (PROBLEM_INVALID, PROBLEM_MISSING, PROBLEM_STALE)
STATUS_OK = 'ok'
STATUS_NOT_NOVA = 'not-nova'


@dataclasses.dataclass(frozen=True)
class Problem:
    """One thing wrong with a domain's metadata."""

    kind: str
    message: str

    def __str__(self):
        return '%s: %s' % (self.kind, self.message)


def check_domain(domain, nova_version=None, ndm_version=None):
    """Return the :class:`Problem` list of one domain's metadata.

    * missing: a Nova domain without ``<nova:instance>`` or without
      ``<ndm:instance>``;
    * invalid: an element our RelaxNG schemas reject, one that cannot be
      read, or one naming another instance than the domain;
    * stale: written by a Nova older than ``nova_version`` (or in Nova's
      1.0 namespace), or by a plugin older than ``ndm_version``.

    Domains Nova never owned have no problems.
    """
    if domain.kind == domain_mod.KIND_UNREADABLE:
        return [Problem(PROBLEM_INVALID, p) for p in domain.problems]
    if not domain.is_nova:
        return []
    problems = [Problem(PROBLEM_INVALID, p) for p in domain.problems]
    problems += _check_nova(domain, nova_version)
    problems += _check_ndm(domain, ndm_version)
    order = {kind: i for i, kind in enumerate(PROBLEM_KINDS)}
    return sorted(problems, key=lambda p: order[p.kind])


def _schema_problems(element, what):
    return [Problem(PROBLEM_INVALID, '%s does not match its schema: %s' %
                    (what, error))
            for error in schema.element_errors(element)]


def _check_nova(domain, nova_version):
    element = domain.nova_element
    if element is None:
        return [Problem(PROBLEM_MISSING, 'no nova:instance element')]
    if domain.nova_namespace == metadata.NOVA_NS_1_0:
        problems = [Problem(PROBLEM_STALE,
                            'nova:instance is in namespace %s, written by a '
                            'Nova release before %s' %
                            (metadata.NOVA_NS_1_0, metadata.NOVA_NS))]
    else:
        problems = _schema_problems(element, 'nova:instance')
    package = domain.nova.package if domain.nova is not None else None
    if package and nova_version:
        try:
            if versions.older(package, nova_version):
                problems.append(Problem(
                    PROBLEM_STALE, 'written by Nova %s, older than the '
                    'installed Nova %s' % (package, nova_version)))
        except ValueError as e:
            problems.append(Problem(PROBLEM_INVALID,
                                    'nova:package version: %s' % e))
    return problems


def _check_ndm(domain, ndm_version):
    element = domain.ndm_element
    if element is None:
        return [Problem(PROBLEM_MISSING,
                        'no ndm:instance element (domain defined without '
                        'nova-domain-meta)')]
    problems = _schema_problems(element, 'ndm:instance')
    ndm = domain.ndm
    if ndm is None:
        return problems
    if ndm.uuid and domain.uuid and ndm.uuid != domain.uuid:
        problems.append(Problem(
            PROBLEM_INVALID, 'ndm:instance names instance %s, the domain is '
            '%s' % (ndm.uuid, domain.uuid)))
    if ndm.plugin_version and ndm_version:
        try:
            if versions.older(ndm.plugin_version, ndm_version):
                problems.append(Problem(
                    PROBLEM_STALE, 'written by nova-domain-meta %s, older '
                    'than the installed %s' % (ndm.plugin_version,
                                               ndm_version)))
        except ValueError as e:
            problems.append(Problem(PROBLEM_INVALID,
                                    'ndm:plugin version: %s' % e))
    return problems


def status(domain, problems):
    """One word for a domain's health: ``ok``, ``not-nova`` or a kind."""
    if problems:
        return problems[0].kind
    return STATUS_OK if domain.is_nova else STATUS_NOT_NOVA
