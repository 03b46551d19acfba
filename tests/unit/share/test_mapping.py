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

"""``[domain_meta] share_local_fs``: what nova-compute accepts and refuses."""

import os
import shutil
import tempfile

from oslo_config import cfg

from nova_domain_meta.share import mapping
from tests.unit import base

CONF = cfg.CONF


class ShareMappingOptionTest(base.TestCase):
    """Values read from a nova.conf file, as nova-compute reads them."""

    def _read(self, value):
        fd, path = tempfile.mkstemp(suffix='.conf')
        self.addCleanup(os.unlink, path)
        with os.fdopen(fd, 'w') as f:
            f.write('[domain_meta]\nshare_local_fs = %s\n' % value)
        CONF([], project='nova', default_config_files=[path])
        return CONF.domain_meta.share_local_fs

    def _refused(self, value, why):
        e = self.assertRaises(cfg.ConfigFileValueError, self._read, value)
        self.assertIn('share_local_fs', str(e))
        self.assertIn(why, str(e))

    def test_default_is_off(self):
        self.assertEqual((), CONF.domain_meta.share_local_fs)

    def test_specs_form_is_accepted(self):
        self.assertEqual(
            (mapping.Share('/var/lib/libvirt/scaphandre', 'scaphandre'),),
            self._read('{ "/var/lib/libvirt/scaphandre": "scaphandre" }'))

    def test_several_shares_sorted_by_tag(self):
        shares = self._read('{"/srv/b/": "zz", "/srv/a": "aa"}')
        self.assertEqual([('/srv/a', 'aa'), ('/srv/b', 'zz')],
                         [tuple(s) for s in shares])

    def test_empty_value_is_off(self):
        self.assertEqual((), self._read(''))
        self.assertEqual((), self._read('{}'))

    def test_unparsable(self):
        self._refused('{"/srv/a": scaphandre}', 'expected a JSON object')

    def test_not_an_object(self):
        self._refused('["/srv/a"]', 'got list')

    def test_relative_directory(self):
        self._refused('{"srv/a": "t"}', 'not an absolute path')

    def test_root_directory(self):
        self._refused('{"/": "t"}', 'root directory')

    def test_empty_tag(self):
        self._refused('{"/srv/a": ""}', 'empty or non-string tag')

    def test_non_string_tag(self):
        self._refused('{"/srv/a": 3}', 'empty or non-string tag')

    def test_tag_longer_than_virtiofs_allows(self):
        self._read('{"/srv/a": "%s"}' % ('t' * 36))
        self._refused('{"/srv/a": "%s"}' % ('t' * 37), 'longer than the 36')

    def test_tag_with_odd_characters(self):
        for tag in ('a b', 'a,b', '-a', 'é'):
            self._refused('{"/srv/a": "%s"}' % tag, 'may hold only')

    def test_duplicate_tags(self):
        self._refused('{"/srv/a": "t", "/srv/b": "t"}', "tag 't' is given")

    def test_duplicate_directories(self):
        self._refused('{"/srv/a": "t", "/srv/a/": "u"}', 'listed twice')

    def test_nested_directories(self):
        self._refused('{"/srv/a": "t", "/srv/a/b": "u"}', 'lies inside')

    def test_sample_default_parses(self):
        opt = [o for o in CONF._groups['domain_meta']._opts.values()
               if o['opt'].name == 'share_local_fs'][0]['opt']
        self.assertTrue(opt.type(opt.sample_default))


class CheckDirectoriesTest(base.TestCase):
    """Checks that need the filesystem, made when nova-compute starts."""

    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)

    def _check(self, directory):
        return mapping.check_directories([mapping.Share(directory, 't')])

    def test_real_directory_is_fine(self):
        self.assertIsNone(self._check(self.tmp))

    def test_missing_directory(self):
        why = self._check(os.path.join(self.tmp, 'missing'))
        self.assertIn('[domain_meta] share_local_fs', why)
        self.assertIn('No such file or directory', why)

    def test_symlinked_directory(self):
        link = os.path.join(self.tmp, 'link')
        os.symlink(self.tmp, link)
        self.assertIn('is a symbolic link', self._check(link))

    def test_symlink_in_the_path(self):
        os.mkdir(os.path.join(self.tmp, 'real'))
        os.mkdir(os.path.join(self.tmp, 'real', 'inner'))
        os.symlink(os.path.join(self.tmp, 'real'),
                   os.path.join(self.tmp, 'link'))
        why = self._check(os.path.join(self.tmp, 'link', 'inner'))
        self.assertIn('through a symbolic link', why)

    def test_file_instead_of_directory(self):
        path = os.path.join(self.tmp, 'file')
        open(path, 'w').close()
        self.assertIn('is not a directory', self._check(path))


class CheckViewDirTest(base.TestCase):

    shares = [mapping.Share('/var/lib/libvirt/scaphandre', 't')]

    def test_separate_directories(self):
        self.assertIsNone(mapping.check_view_dir(
            self.shares, '/var/lib/nova/domain_meta/shares'))

    def test_views_inside_a_shared_directory(self):
        why = mapping.check_view_dir(
            self.shares, '/var/lib/libvirt/scaphandre/views')
        self.assertIn('[domain_meta] share_view_dir', why)

    def test_shared_directory_inside_the_views(self):
        self.assertIsNotNone(mapping.check_view_dir(self.shares,
                                                    '/var/lib/libvirt'))
        self.assertIsNotNone(mapping.check_view_dir(
            self.shares, '/var/lib/libvirt/scaphandre/'))
