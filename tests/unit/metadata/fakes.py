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

"""Instances and driver metadata built from Nova's own objects for tests."""

import datetime

from nova.network import model as network_model
from nova import objects
from nova.tests.unit import fake_instance
from nova.virt import driver as nova_driver

from nova_domain_meta.metadata import builder

INSTANCE_UUID = '3f1c9b57-6a4e-4a38-9f0c-5d2f4f7b8c11'
IMAGE_UUID = '155d900f-4e14-4e4c-a73d-069cbf4541e6'
VOLUME_UUID = '6ca404f3-d844-4169-bb96-bc792f37de98'
PORT_UUID = '88dae9fa-0dc6-49e3-8c29-3abc41e99ac9'
NETWORK_UUID = '3cb9bc59-5699-4588-a4b1-b87f96708bc6'
CREATED = datetime.datetime(2026, 1, 2, 3, 4, 5,
                            tzinfo=datetime.timezone.utc)
LIMITS = builder.Limits()

objects.register_all()


def network_info(floating=True):
    """Return a one-port NetworkInfo with IPv4, IPv6 and a floating IP."""
    floating_ips = [network_model.IP(address='203.0.113.17', type='floating',
                                     version=4)] if floating else []
    v4 = network_model.FixedIP(address='192.168.1.30', version=4,
                               floating_ips=floating_ips)
    v6 = network_model.FixedIP(address='fd37:44e8:ad06::30', version=6)
    network = network_model.Network(
        id=NETWORK_UUID, label='private', meta={'mtu': 1450},
        subnets=[network_model.Subnet(cidr='192.168.1.0/24', ips=[v4]),
                 network_model.Subnet(cidr='fd37:44e8:ad06::/64', ips=[v6])])
    return network_model.NetworkInfo([network_model.VIF(
        id=PORT_UUID, address='fa:16:3e:4c:2c:30', network=network,
        type='ovs', vnic_type='normal', devname='tap88dae9fa-0d')])


def instance(name='web-1', image_properties=None, extra_specs=None,
             tags=(), boot_from_volume=False):
    """Return an Instance object as nova-compute would hold it."""
    sysmeta = {
        'image_base_image_ref': '' if boot_from_volume else IMAGE_UUID,
        'image_name': 'cirros',
        'image_disk_format': 'qcow2',
        'image_container_format': 'bare',
        'image_min_disk': '1',
        'image_min_ram': '0',
        'owner_user_name': 'Ada Admin',
        'owner_project_name': 'acme-prod',
    }
    for key, value in (image_properties or {}).items():
        sysmeta['image_' + key] = value
    flavor = objects.Flavor(
        name='m1.small', flavorid='2', memory_mb=2048, vcpus=1, root_gb=20,
        ephemeral_gb=0, swap=0, extra_specs=dict(extra_specs or {}))
    inst = fake_instance.fake_instance_obj(
        None, uuid=INSTANCE_UUID, display_name=name, hostname='web-1',
        image_ref='' if boot_from_volume else IMAGE_UUID,
        user_id='8b6bd3f4f7cb4a06a8ef4f6a52f1f9c2',
        project_id='6f70656e737461636b20342065766572',
        availability_zone='az1', key_name='ops-key', created_at=CREATED,
        system_metadata=sysmeta, flavor=flavor,
        expected_attrs=['system_metadata', 'flavor'])
    inst.tags = objects.TagList(objects=[
        objects.Tag(resource_id=INSTANCE_UUID, tag=t) for t in tags])
    return inst


def driver_metadata(inst, nw_info=None):
    """Return corrected InstanceDriverMetadata, as our driver builds it."""
    dmeta = nova_driver.ComputeDriver.get_instance_driver_metadata(
        inst, nw_info if nw_info is not None else network_info())
    return builder.corrected_driver_metadata(dmeta, inst,
                                             bdms=block_device_mappings(inst))


def block_device_mappings(inst):
    """Return a BDM list: image or volume root plus a data volume."""
    if inst.image_ref:
        root = objects.BlockDeviceMapping(
            source_type='image', destination_type='local', image_id=IMAGE_UUID,
            boot_index=0, device_name='/dev/vda', delete_on_termination=True,
            volume_id=None, snapshot_id=None, volume_size=None,
            disk_bus=None, device_type='disk', guest_format=None, tag=None,
            attachment_id=None, no_device=False)
    else:
        root = objects.BlockDeviceMapping(
            source_type='volume', destination_type='volume',
            volume_id=VOLUME_UUID, boot_index=0, device_name='/dev/vda',
            delete_on_termination=False, image_id=None, snapshot_id=None,
            volume_size=10, disk_bus='virtio', device_type='disk',
            guest_format=None, tag='root', attachment_id=None,
            no_device=False)
    data = objects.BlockDeviceMapping(
        source_type='volume', destination_type='volume',
        volume_id='a07f71dc-8151-4e7d-a0cc-cd24a3f11113', boot_index=None,
        device_name='/dev/vdb', delete_on_termination=False, image_id=None,
        snapshot_id=None, volume_size=5, disk_bus='virtio',
        device_type='disk', guest_format=None, tag='db',
        attachment_id='4a3cd440-b9c2-11e1-afa6-0800200c9a66',
        no_device=False)
    return objects.BlockDeviceMappingList(objects=[root, data])


DISK_MAPPING = {
    'disk': {'bus': 'virtio', 'dev': 'vda', 'type': 'disk'},
    'root': {'bus': 'virtio', 'dev': 'vda', 'type': 'disk'},
    '/dev/vdb': {'bus': 'virtio', 'dev': 'vdb', 'type': 'disk'},
    'disk.config': {'bus': 'sata', 'dev': 'sda', 'type': 'cdrom'},
}


def domain_meta(inst, nw_info=None, limits=LIMITS):
    """Return our element for ``inst`` as the driver would build it."""
    return builder.build_domain_meta(
        inst, nw_info if nw_info is not None else network_info(),
        block_device_mappings(inst), DISK_MAPPING, 'compute-7', limits)
