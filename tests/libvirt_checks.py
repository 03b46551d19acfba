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

"""Checks of a domain XML against libvirt itself, shared by test tiers.

* :func:`libvirt_schema_errors` validates against libvirt's own RelaxNG
  domain schema (``/usr/share/libvirt/schemas/domain.rng``);
* :func:`define_in_test_driver` defines the XML in libvirt's built-in
  ``test:///default`` driver through libvirt-python, then reads our
  metadata back through ``virDomainGetMetadata``, the call Ceilometer uses.
"""

import functools
import os

import libvirt
from lxml import etree

LIBVIRT_DOMAIN_RNG = '/usr/share/libvirt/schemas/domain.rng'


@functools.lru_cache(maxsize=None)
def _domain_schema():
    if not os.path.exists(LIBVIRT_DOMAIN_RNG):
        raise RuntimeError(
            '%s is missing: install the libvirt0/libvirt-clients Debian '
            'packages (.ci/run does)' % LIBVIRT_DOMAIN_RNG)
    return etree.RelaxNG(file=LIBVIRT_DOMAIN_RNG)


def libvirt_schema_errors(xml):
    """Return libvirt domain schema errors for ``xml`` (empty if valid)."""
    schema = _domain_schema()
    doc = etree.fromstring(xml.encode('utf-8') if isinstance(xml, str)
                           else xml)
    if schema.validate(doc):
        return []
    return ['line %d: %s' % (e.line, e.message) for e in schema.error_log]


@functools.lru_cache(maxsize=None)
def test_connection():
    """Return a connection to libvirt's in-process ``test:///default``."""
    return libvirt.open('test:///default')


def for_test_driver(xml):
    """Return ``xml`` with the domain type the test driver accepts.

    libvirt's test driver only knows ``<domain type='test'>``; this is the
    only change made before defining Nova's XML there.
    """
    doc = etree.fromstring(xml.encode('utf-8') if isinstance(xml, str)
                           else xml)
    doc.set('type', 'test')
    return etree.tostring(doc, encoding='unicode')


def define_in_test_driver(xml, namespaces):
    """Define ``xml`` in ``test:///default`` and read metadata back.

    Returns ``{namespace: element_xml}`` as libvirt returns it for each of
    ``namespaces``, then undefines the domain again.  Raises
    ``libvirt.libvirtError`` if libvirt rejects the XML.
    """
    conn = test_connection()
    dom = conn.defineXMLFlags(for_test_driver(xml),
                              libvirt.VIR_DOMAIN_DEFINE_VALIDATE)
    try:
        found = {}
        for namespace in namespaces:
            try:
                found[namespace] = dom.metadata(
                    libvirt.VIR_DOMAIN_METADATA_ELEMENT, namespace,
                    libvirt.VIR_DOMAIN_AFFECT_CONFIG)
            except libvirt.libvirtError as e:
                if e.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN_METADATA:
                    raise
        return found
    finally:
        dom.undefine()
