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

"""Entry point for ``[DEFAULT] compute_driver = domain_meta.LibvirtDriver``.

Nova imports its compute driver as ``'nova.virt.' + compute_driver``, so an
out-of-tree driver needs a module inside the ``nova.virt`` package.  This is
that module and nothing more; the driver lives in ``nova_domain_meta``.
"""

from nova_domain_meta.driver import DomainMetaLibvirtDriver as LibvirtDriver

__all__ = ['LibvirtDriver']
