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

"""Fixtures for Nova functional tests with our driver loaded.

Nova's fake libvirt throws away what the driver sends it: ``XMLDesc``
re-renders a template and ``setMetadata`` does nothing.
:class:`DomainRecorder` keeps every domain XML the driver defines and every
metadata write, checks each XML against libvirt's schema, our schemas and
the real ``test:///default`` driver as it arrives, and makes the fake
remember the metadata so later reads see it.
"""

import collections

import fixtures
from lxml import etree
from nova.tests.fixtures import libvirt as fakelibvirt

from nova_domain_meta import metadata
from nova_domain_meta.metadata import schema
from tests import libvirt_checks

METADATA_NAMESPACES = (metadata.NOVA_NS, metadata.DOMAIN_META_NS)

MetadataWrite = collections.namedtuple(
    'MetadataWrite', ['domain', 'uri', 'xml', 'flags'])


class DomainRecorder(fixtures.Fixture):
    """Record and check what the driver sends to fake libvirt."""

    def _setUp(self):
        #: Every XML passed to defineXML/createXML, in order.
        self.defined = []
        #: Every setMetadata call, in order.
        self.metadata_writes = []
        #: Problems found while checking defined XML, by domain name.
        self.problems = []
        recorder = self

        orig_define = fakelibvirt.Connection.defineXML
        orig_create = fakelibvirt.Connection.createXML

        def defineXML(conn, xml):
            recorder._record_domain(xml)
            return orig_define(conn, xml)

        def createXML(conn, xml, flags):
            recorder._record_domain(xml)
            return orig_create(conn, xml, flags)

        def setMetadata(dom, metadata_type, xml, key, uri, flags=0):
            recorder.metadata_writes.append(
                MetadataWrite(dom.name(), uri, xml, flags))

        self.useFixture(fixtures.MonkeyPatch(
            'nova.tests.fixtures.libvirt.Connection.defineXML', defineXML))
        self.useFixture(fixtures.MonkeyPatch(
            'nova.tests.fixtures.libvirt.Connection.createXML', createXML))
        self.useFixture(fixtures.MonkeyPatch(
            'nova.tests.fixtures.libvirt.Domain.setMetadata', setMetadata))

    def _record_domain(self, xml):
        self.defined.append(xml)
        name = etree.fromstring(xml).findtext('name')
        for error in libvirt_checks.libvirt_schema_errors(xml):
            self.problems.append('%s: libvirt domain schema: %s' %
                                 (name, error))
        for ns, errors in schema.domain_metadata_errors(xml).items():
            for error in errors:
                self.problems.append('%s: %s: %s' % (name, ns, error))
        try:
            found = libvirt_checks.define_in_test_driver(
                xml, METADATA_NAMESPACES)
        except Exception as e:
            self.problems.append('%s: test:///default rejected it: %s' %
                                 (name, e))
        else:
            for ns in METADATA_NAMESPACES:
                if ns not in found:
                    self.problems.append(
                        '%s: test:///default lost metadata %s' % (name, ns))

    def domains(self, name):
        """Return every XML defined for the libvirt domain ``name``."""
        return [xml for xml in self.defined
                if etree.fromstring(xml).findtext('name') == name]

    def latest(self, name):
        """Return the parsed XML most recently defined for ``name``."""
        found = self.domains(name)
        if not found:
            raise AssertionError('domain %s was never defined; defined: %s' %
                                 (name, [etree.fromstring(x).findtext('name')
                                         for x in self.defined]))
        return etree.fromstring(found[-1])


class KeystoneNamesFixture(fixtures.Fixture):
    """Give API requests user and project *names*, as keystone would.

    Nova's API fixture builds request contexts from ids only, so the
    ``owner_user_name``/``owner_project_name`` Nova records at boot would
    be empty.  keystonemiddleware passes the names along; so do we.
    """

    def __init__(self, user_names, project_names):
        super().__init__()
        self.user_names = user_names
        self.project_names = project_names

    def _setUp(self):
        from nova.api import auth
        from nova import context

        names = self

        def create_context(env, **kwargs):
            user_id = env['HTTP_X_AUTH_USER']
            project_id = env['HTTP_X_AUTH_PROJECT_ID']
            return context.RequestContext(
                user_id, project_id, is_admin=user_id == 'admin',
                roles=env['HTTP_X_ROLES'].split(','),
                user_name=names.user_names.get(user_id),
                project_name=names.project_names.get(project_id), **kwargs)

        self.useFixture(fixtures.MonkeyPatch(
            'nova.api.auth.NovaKeystoneContext._create_context',
            create_context))
        del auth
