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

"""Which ``instance_name_template`` may name the guests' directories."""

from nova_domain_meta.share import names
from tests.unit import base


class TemplateTest(base.TestCase):
    """``[DEFAULT] instance_name_template``, rendered by Nova itself."""

    def check(self, template):
        self.conf.config(instance_name_template=template)
        return names.check_template(template)

    def test_nova_default_and_uuid_are_accepted(self):
        for template in ('instance-%08x', 'instance-%(uuid)s', '%d',
                         'vm-%(id)d-%(uuid)s', 'x-%(not_a_field)s'):
            self.assertIsNone(self.check(template), template)

    def test_user_chosen_fields_are_refused(self):
        for template, field in (('%(display_name)s', 'display_name'),
                                ('vm-%(hostname)s-%(uuid)s', 'hostname'),
                                ('%(launch_index)d-%(id)x',
                                 'launch_index')):
            problem = self.check(template)
            self.assertIn('[DEFAULT] instance_name_template', problem)
            self.assertIn('makes domain names from %s' % field, problem)

    def test_one_name_for_all_is_refused(self):
        self.assertIn("gives every instance the domain name 'vm'",
                      self.check('vm'))

    def test_names_that_cannot_name_a_directory_are_refused(self):
        for template in ('inst/%08x', '..%08x', '.%d', '%0300d'):
            self.assertIn('cannot name a directory', self.check(template),
                          template)

    def test_a_template_nova_cannot_render_is_refused(self):
        self.assertIn('cannot make a domain name',
                      self.check('%d-%(uuid)s'))
