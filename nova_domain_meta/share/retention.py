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

"""Does this ``cleanup()`` mean the guest leaves the host?

Nova calls the driver's ``cleanup()`` (through ``destroy()``) whenever a
domain goes away: when the guest leaves the host, but also when Nova
throws the domain away to define it again right here (hard reboot,
power on after a stop, restart at host boot, rebuild, a same-host resize
revert).  A guest's metrics directory holds what Scaphandre measured for
it on this host; it must survive every redefinition and go only when the
guest is gone from the host.  Nova does not say which case it is, but the
instance's state does; when it is unclear, the data is kept (a leftover
directory is a smaller harm than lost measurements).
"""

from nova.compute import task_states
from nova.compute import vm_states
from nova import exception
from nova import objects


def leaving(context, instance, this_host):
    """Why the guest leaves ``this_host`` with this cleanup, or None.

    Covers deletion (also of an instance deleted while the host was
    down), shelve offload, a failed build or unshelve (Nova sends it
    elsewhere or to ERROR), the source of an evacuation coming back (the
    instance lives on another host now), a resize or migration reverted
    away from this destination, and a cross-cell move confirmed.  The
    source of a cold migration or resize is handled when it is confirmed
    (the driver's ``confirm_migration``).
    """
    if (instance.deleted or instance.vm_state == vm_states.DELETED or
            instance.task_state == task_states.DELETING):
        return 'deleted'
    if (instance.vm_state == vm_states.SHELVED_OFFLOADED or
            instance.task_state == task_states.SHELVING_OFFLOADING):
        return 'shelve offload'
    if instance.vm_state == vm_states.BUILDING:
        return 'build failed here'
    if instance.host and instance.host != this_host:
        return 'the instance is on %s now' % instance.host
    if instance.obj_attr_is_set('hidden') and instance.hidden:
        return 'moved to another cell'
    if instance.task_state == task_states.RESIZE_REVERTING:
        try:
            migration = objects.Migration.get_by_instance_and_status(
                context, instance.uuid, 'reverting')
        except exception.MigrationNotFoundByStatus:
            return None
        if migration.source_compute != this_host:
            return 'reverted to %s' % migration.source_compute
    if instance.task_state == task_states.MIGRATING:
        return 'live migrated away'
    return None
