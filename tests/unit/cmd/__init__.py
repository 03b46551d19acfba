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

"""Tests of the ``nova-domain-meta`` CLI against real libvirt.

Every test writes a node file for libvirt's ``test:///`` driver (an
in-process hypervisor that ships with libvirt) from the XML fixtures in
``data/`` and runs the cliff application in-process against it, exactly as
an operator would run it against ``qemu:///system``.  The fixtures are
domain XML that Nova 34 really wrote, with our driver (``ours-*``) and
without (``stock-*``); ``tools/gen_cli_fixtures.py`` regenerates them.

Domains in a node file start running.  The test driver takes a
``<test:runstate>`` child (namespace ``http://libvirt.org/schemas/domain/
test/1.0``; without the ``/1.0`` it is silently ignored) holding a
``virDomainState`` number: 5 defines the domain shut off, 3 paused.

The commands are registered explicitly by
:func:`nova_domain_meta.cmd.cli.command_manager`, so these tests do not
depend on installed entry points.
"""

import collections
import io
import json
import os
import uuid

import fixtures
from lxml import etree
import testtools

from nova_domain_meta.cmd import cli
from nova_domain_meta import metadata

DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data')
#: The repository root: subprocesses run the code of this tree.
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    DATA_DIR))))
TEST_NS = 'http://libvirt.org/schemas/domain/test/1.0'
NS = {'nova': metadata.NOVA_NS, 'nova10': metadata.NOVA_NS_1_0,
      'ndm': metadata.DOMAIN_META_NS}

# virDomainState numbers the test driver's <test:runstate> takes.
RUNNING = 1
PAUSED = 3
SHUTOFF = 5

#: Fixtures written by our driver, by stock Nova, and by hand or derived.
OURS = ('ours-image', 'ours-bfv', 'ours-odd')
STOCK = ('stock-image', 'stock-bfv', 'stock-odd')
OTHERS = ('ours-stale', 'stock-image-ns10', 'stock-nometa', 'nonnova',
          'malformed')
ALL = OURS + STOCK + OTHERS

Result = collections.namedtuple('Result', ['code', 'stdout', 'stderr'])


def fixture_xml(name):
    """Return the text of ``data/<name>.xml``."""
    with open(os.path.join(DATA_DIR, name + '.xml'), encoding='utf-8') as f:
        return f.read()


def fixture_doc(name):
    """Return the parsed root element of ``data/<name>.xml``."""
    return etree.fromstring(fixture_xml(name).encode('utf-8'))


def value(name, path):
    """Return the string XPath ``path`` yields in fixture ``name``."""
    return fixture_doc(name).xpath('string(%s)' % path, namespaces=NS)


def renamed(name, new_name):
    """Return fixture ``name`` as another domain: new name, new uuid."""
    doc = fixture_doc(name)
    old = doc.findtext('uuid')
    new = str(uuid.uuid4())
    doc.find('name').text = new_name
    return etree.tostring(doc, encoding='unicode').replace(old, new)


def node_xml(entries):
    """Return a ``test:///`` node file holding ``entries``.

    Each entry is a fixture name, raw domain XML, or a ``(either,
    runstate)`` pair; the test driver only knows ``type='test'`` domains,
    the one change made to the XML Nova wrote.
    """
    node = etree.Element('node', nsmap={'test': TEST_NS})
    for entry in entries:
        source, runstate = entry if isinstance(entry, tuple) else (entry,
                                                                   None)
        xml = source if source.lstrip().startswith('<') else \
            fixture_xml(source)
        domain = etree.fromstring(xml.encode('utf-8'))
        domain.set('type', 'test')
        if runstate is not None:
            etree.SubElement(domain, '{%s}runstate' % TEST_NS).text = \
                str(runstate)
        node.append(domain)
    return etree.tostring(node, encoding='unicode')


class CLITestCase(testtools.TestCase):
    """Run ``nova-domain-meta`` in-process against real libvirt."""

    def setUp(self):
        super().setUp()
        self.tmpdir = self.useFixture(fixtures.TempDir()).path

    def node(self, *entries):
        """Write a node file of ``entries``; return its ``test:///`` URI."""
        path = os.path.join(self.tmpdir, 'node-%s.xml' % uuid.uuid4().hex)
        with open(path, 'w', encoding='utf-8') as f:
            f.write(node_xml(entries))
        return 'test://' + path

    def run_cli(self, uri, *argv, connection_factory=None):
        """Run the application; return its exit code, stdout and stderr."""
        stdout, stderr = io.StringIO(), io.StringIO()
        app = cli.NovaDomainMetaApp(stdin=io.StringIO(), stdout=stdout,
                                    stderr=stderr,
                                    connection_factory=connection_factory)
        args = (['--connect', uri] if uri else []) + list(argv)
        try:
            code = app.run(args)
        except SystemExit as e:
            # argparse and --help leave through sys.exit(); None means 0.
            code = e.code or 0
        return Result(code, stdout.getvalue(), stderr.getvalue())

    def run_json(self, uri, *argv, code=0, **kwargs):
        """Run with ``-f json``; check the exit code, return the data."""
        result = self.run_cli(uri, *(argv + ('-f', 'json')), **kwargs)
        self.assertEqual(code, result.code, result)
        self.assertNotIn('Traceback', result.stderr)
        return json.loads(result.stdout)

    def rows_by_name(self, rows):
        return {row['Name']: row for row in rows}
