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

"""The power-metrics share package: sharing host directories into guests.

Seed 004 (virtiofs-scaphandre): a compute node shares, read-only, one
subdirectory per guest of each directory named in ``[domain_meta]
share_local_fs``, so Scaphandre in the guest can read what its host-side
exporter measured for that guest.  One module per concern:

``mapping``
    the option's value: parsing and checks at nova-compute start;
``request``
    whether an instance asks for power metrics (flavor or image);
``vconfig``
    the libvirt config objects Nova's own classes cannot express;
``host``
    per-guest directories and read-only views on this host;
``service``
    what the driver calls: capability, guest config, lifecycle.
"""
