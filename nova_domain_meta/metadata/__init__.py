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

"""The XML metadata this plugin writes into libvirt domains.

Two elements live under a domain's ``<metadata>``:

* ``<nova:instance>`` in Nova's namespace (:data:`NOVA_NS`), kept
  element-for-element compatible with what Nova 34 writes, so Ceilometer,
  Prometheus exporters and collectd keep reading it;
* ``<ndm:instance>`` in our own namespace (:data:`DOMAIN_META_NS`), holding
  what operators asked for and Nova does not write.

Both only ever grow: an element or attribute, once released, is never
renamed or removed while its namespace URI stays the same.
"""

# NOTE: nothing here imports Nova, so that tools which only read metadata
# (the nova-domain-meta command) start fast; a unit test checks NOVA_NS
# against Nova's own constant.

#: Nova's namespace; Nova 34 writes version 1.1.
NOVA_NS = 'http://openstack.org/xmlns/libvirt/nova/1.1'
#: The namespace of domains written by Nova releases before 1.1 existed.
NOVA_NS_1_0 = 'http://openstack.org/xmlns/libvirt/nova/1.0'
NOVA_PREFIX = 'nova'

#: Our namespace.  The trailing version changes only if we ever had to break
#: compatibility, which the schema rules forbid.
DOMAIN_META_NS = 'http://openstack.org/xmlns/libvirt/nova-domain-meta/1.0'
DOMAIN_META_PREFIX = 'ndm'
