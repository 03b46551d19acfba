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

"""Every specification in ``specs/`` keeps Nova's specification layout.

A specification must parse with plain docutils, without errors or
warnings, and its sections must be exactly those of :data:`LAYOUT`, in
that order: one top-level section (the title), the required sections
under it, and the required subsections under Problem description,
Proposed change and Implementation.  ``specs/README.rst`` describes the
directory and is not a specification.
"""

import glob
import os

from docutils import core
from docutils import nodes
from docutils import utils
import fixtures
import testtools

SPECS_DIR = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))), 'specs')

NOT_SPECS = ('README.rst',)

#: The section tree of a specification below its title: (title,
#: subsections) pairs, in order.  A section not listed with subsections
#: must have none.
LAYOUT = (
    ('Problem description', (
        ('Use Cases', ()),
    )),
    ('Proposed change', (
        ('Alternatives', ()),
        ('Data model impact', ()),
        ('REST API impact', ()),
        ('Security impact', ()),
        ('Notifications impact', ()),
        ('Other end user impact', ()),
        ('Performance Impact', ()),
        ('Other deployer impact', ()),
        ('Developer impact', ()),
        ('Upgrade impact', ()),
    )),
    ('Implementation', (
        ('Assignee(s)', ()),
        ('Work Items', ()),
    )),
    ('Dependencies', ()),
    ('Testing', ()),
    ('Documentation Impact', ()),
    ('References', ()),
    ('History', ()),
)

# Plain docutils, strict: a warning is as fatal as an error, nothing is
# printed, and the title stays a section so the tree can be compared.
DOCUTILS_SETTINGS = {
    'report_level': utils.Reporter.WARNING_LEVEL,
    'halt_level': utils.Reporter.WARNING_LEVEL,
    'warning_stream': False,
    'doctitle_xform': False,
    'file_insertion_enabled': False,
    'raw_enabled': False,
}


def spec_files():
    """Return the paths of every specification, sorted."""
    return sorted(path for path in glob.glob(os.path.join(SPECS_DIR,
                                                          '*.rst'))
                  if os.path.basename(path) not in NOT_SPECS)


def parse(path):
    """Return the docutils document tree of the file at ``path``."""
    with open(path, encoding='utf-8') as f:
        text = f.read()
    return core.publish_doctree(text, source_path=path,
                                settings_overrides=DOCUTILS_SETTINGS)


def _child_sections(node):
    return [child for child in node.children
            if isinstance(child, nodes.section)]


def section_tree(node):
    """Return the sections below ``node`` as nested (title, children)."""
    return tuple((section.next_node(nodes.title).astext(),
                  section_tree(section))
                 for section in _child_sections(node))


def _titles(tree):
    return [title for title, _children in tree]


class TestSpecs(testtools.TestCase):
    """Structure of the specifications in ``specs/``."""

    def test_there_are_specifications(self):
        self.assertNotEqual([], spec_files(),
                            'no specification found in %s' % SPECS_DIR)

    def _check_layout(self, name, expected, actual, where):
        self.assertEqual(
            _titles(expected), _titles(actual),
            '%s: sections %s do not follow the specification layout' %
            (name, where))
        for (title, expected_children), (_title, actual_children) in zip(
                expected, actual):
            self._check_layout(name, expected_children, actual_children,
                               'under "%s"' % title)

    def test_specifications_follow_the_layout(self):
        for path in spec_files():
            name = os.path.relpath(path, os.path.dirname(SPECS_DIR))
            try:
                document = parse(path)
            except utils.SystemMessage as e:
                self.fail('%s does not parse cleanly: %s' % (name, e))
            top = section_tree(document)
            self.assertEqual(
                1, len(top),
                '%s: expected a single top-level section (the title), '
                'found %s' % (name, _titles(top)))
            title, body = top[0]
            self.assertNotEqual('', title.strip(), '%s: empty title' % name)
            self._check_layout(name, LAYOUT, body,
                               'under the title "%s"' % title)


class TestLayoutCheck(testtools.TestCase):
    """The checks above catch what they are meant to catch."""

    def _tree(self, text):
        tmp = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(tmp, 'spec.rst')
        with open(path, 'w', encoding='utf-8') as f:
            f.write(text)
        return section_tree(parse(path))

    def test_nesting_is_read_from_underlines(self):
        tree = self._tree('=====\nTitle\n=====\n\n'
                          'First\n=====\n\nSub\n---\n\ntext\n\n'
                          'Second\n======\n\ntext\n')
        self.assertEqual(
            (('Title', (('First', (('Sub', ()),)), ('Second', ()))),),
            tree)

    def test_warnings_are_fatal(self):
        # A title underline shorter than its title is only a warning in
        # docutils; specifications must not have any.
        self.assertRaises(utils.SystemMessage, self._tree,
                          'A longer title\n=====\n\ntext\n')

    def test_sphinx_roles_are_rejected(self):
        self.assertRaises(utils.SystemMessage, self._tree,
                          'Title\n=====\n\nSee :doc:`other`.\n')
