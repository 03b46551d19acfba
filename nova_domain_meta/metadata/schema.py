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

"""Validate metadata elements against the RelaxNG schemas we ship.

The schemas are part of the package (``metadata/schemas/*.rng``) and of the
documentation; tests check every element we produce against them, and the
``check`` tooling uses them on what libvirt holds.
"""

import functools
import os

from lxml import etree

from nova_domain_meta import metadata

SCHEMA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          'schemas')

#: Schema file for each namespace we can validate.
SCHEMA_FILES = {
    metadata.NOVA_NS: 'nova-instance-1.1.rng',
    metadata.DOMAIN_META_NS: 'domain-meta-1.0.rng',
}


@functools.lru_cache(maxsize=None)
def relaxng(namespace):
    """Return the compiled RelaxNG schema for ``namespace``."""
    return etree.RelaxNG(file=os.path.join(SCHEMA_DIR,
                                           SCHEMA_FILES[namespace]))


def element_errors(element):
    """Return a list of schema errors for one metadata element.

    ``element`` is an lxml element or an XML string; an element from a
    namespace we have no schema for is reported as such.
    """
    if isinstance(element, (str, bytes)):
        try:
            element = etree.fromstring(element)
        except etree.XMLSyntaxError as e:
            return ['not well-formed XML: %s' % e]
    namespace = etree.QName(element).namespace
    if namespace not in SCHEMA_FILES:
        return ['no schema for namespace %r' % namespace]
    schema = relaxng(namespace)
    if schema.validate(element):
        return []
    return ['line %d: %s' % (e.line, e.message) for e in schema.error_log]


def domain_metadata_errors(domain_xml):
    """Return ``{namespace: [errors]}`` for the metadata of a domain XML.

    Only namespaces we have a schema for are checked; a missing element is
    reported under its namespace.
    """
    root = etree.fromstring(domain_xml) if isinstance(
        domain_xml, (str, bytes)) else domain_xml
    errors = {}
    for namespace in SCHEMA_FILES:
        found = root.findall('./metadata/{%s}instance' % namespace)
        if not found:
            errors[namespace] = ['element missing']
        elif len(found) > 1:
            errors[namespace] = ['%d elements, expected one' % len(found)]
        else:
            problems = element_errors(found[0])
            if problems:
                errors[namespace] = problems
    return errors
