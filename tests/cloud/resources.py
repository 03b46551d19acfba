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

"""What a cloud operator creates before users come: flavors, networks.

Through the APIs only (an admin keystoneauth session), as an operator
would with the openstack client.
"""

from tests.cloud import keystone
from tests.cloud import ovn

FLAVORS = {
    # name: (ram MiB, vcpus, disk GiB); disk > 0: Nova refuses image
    # boots of zero-disk flavors to non-admins.
    'ndm.tiny': (192, 1, 1),
    'ndm.small': (256, 1, 1),
}
PUBLIC_CIDR = '172.24.4.0/24'
PRIVATE_CIDR = '10.0.0.0/26'


class Cloud(object):
    """Calls to the cloud's APIs as its administrator."""

    def __init__(self):
        self.session = keystone.admin_session()

    def call(self, method, service, path, **kwargs):
        headers = kwargs.pop('headers', {})
        if service == 'compute':
            headers.setdefault('OpenStack-API-Version', 'compute 2.90')
        resp = self.session.request(
            path, method, endpoint_filter={'service_type': service,
                                           'interface': 'public'},
            headers=headers, raise_exc=True, **kwargs)
        return resp.json() if resp.content else None

    def get(self, service, path, **kwargs):
        return self.call('GET', service, path, **kwargs)

    def post(self, service, path, body, **kwargs):
        return self.call('POST', service, path, json=body, **kwargs)


def create_flavors(cloud):
    ids = {}
    for name, (ram, vcpus, disk) in sorted(FLAVORS.items()):
        flavor = cloud.post('compute', '/flavors', {'flavor': {
            'name': name, 'ram': ram, 'vcpus': vcpus, 'disk': disk}})
        ids[name] = flavor['flavor']['id']
    return ids


def create_networks(cloud):
    """An external flat network with a subnet, and a shared private one.

    The external network is what floating IPs come from; its router
    gateway is scheduled on the one chassis, which may host gateways.
    """
    public = cloud.post('network', '/v2.0/networks', {'network': {
        'name': 'public', 'router:external': True,
        'provider:network_type': 'flat',
        'provider:physical_network': ovn.PHYSNET}})['network']
    cloud.post('network', '/v2.0/subnets', {'subnet': {
        'network_id': public['id'], 'name': 'public-subnet',
        'ip_version': 4, 'cidr': PUBLIC_CIDR, 'enable_dhcp': False}})
    private = cloud.post('network', '/v2.0/networks', {'network': {
        'name': 'private', 'shared': True}})['network']
    subnet = cloud.post('network', '/v2.0/subnets', {'subnet': {
        'network_id': private['id'], 'name': 'private-subnet',
        'ip_version': 4, 'cidr': PRIVATE_CIDR}})['subnet']
    router = cloud.post('network', '/v2.0/routers', {'router': {
        'name': 'router', 'external_gateway_info': {
            'network_id': public['id']}}})['router']
    cloud.call('PUT', 'network', '/v2.0/routers/%s/add_router_interface'
               % router['id'], json={'subnet_id': subnet['id']})
    return {'public': public['id'], 'private': private['id'],
            'router': router['id']}
