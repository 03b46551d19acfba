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

"""When a guest's data leaves the host: ``share.retention.leaving``."""

from unittest import mock

from nova.compute import task_states
from nova.compute import vm_states
from nova import context as nova_context
from nova import exception
from nova import objects
from oslo_utils.fixture import uuidsentinel as uuids

from nova_domain_meta.share import retention
from tests.unit import base


class LeavingTest(base.TestCase):
    """Does a ``cleanup()`` on ``compute1`` mean the guest leaves it?"""

    def instance(self, vm_state=vm_states.ACTIVE, task_state=None,
                 host='compute1', **kwargs):
        return objects.Instance(uuid=uuids.instance, vm_state=vm_state,
                                task_state=task_state, host=host,
                                deleted=False, **kwargs)

    def leaving(self, instance):
        return retention.leaving(nova_context.get_admin_context(),
                                 instance, 'compute1')

    def test_redefinitions_on_this_host_keep_the_data(self):
        for vm_state, task_state in (
                (vm_states.ACTIVE, task_states.REBOOTING_HARD),
                (vm_states.ACTIVE, task_states.REBOOT_STARTED_HARD),
                (vm_states.STOPPED, task_states.POWERING_ON),
                (vm_states.ACTIVE, None),  # restart at host boot
                (vm_states.ACTIVE, task_states.REBUILDING),
                (vm_states.ERROR, None),
                (vm_states.RESIZED, task_states.RESIZE_MIGRATING)):
            self.assertIsNone(self.leaving(self.instance(
                vm_state, task_state)), (vm_state, task_state))

    def test_leaving_the_host(self):
        for instance, why in (
                (self.instance(task_state=task_states.DELETING), 'deleted'),
                (self.instance(vm_state=vm_states.DELETED), 'deleted'),
                (self.instance(vm_state=vm_states.SHELVED,
                               task_state=task_states.SHELVING_OFFLOADING),
                 'shelve offload'),
                (self.instance(vm_state=vm_states.SHELVED_OFFLOADED,
                               task_state=task_states.SPAWNING, host=None),
                 'shelve offload'),
                (self.instance(vm_state=vm_states.BUILDING,
                               task_state=task_states.SPAWNING),
                 'build failed here'),
                (self.instance(host='compute2'),
                 'the instance is on compute2 now'),
                (self.instance(task_state=task_states.MIGRATING),
                 'live migrated away')):
            self.assertEqual(why, self.leaving(instance))

    @mock.patch.object(objects.Migration, 'get_by_instance_and_status',
                       autospec=True)
    def test_revert_leaves_the_destination_only(self, get_migration):
        instance = self.instance(vm_states.RESIZED,
                                 task_states.RESIZE_REVERTING)
        get_migration.return_value = objects.Migration(
            source_compute='compute2', dest_compute='compute1')
        self.assertEqual('reverted to compute2', self.leaving(instance))
        get_migration.return_value = objects.Migration(
            source_compute='compute1', dest_compute='compute1')
        self.assertIsNone(self.leaving(instance))
        get_migration.side_effect = exception.MigrationNotFoundByStatus(
            instance_id=uuids.instance, status='reverting')
        self.assertIsNone(self.leaving(instance))
