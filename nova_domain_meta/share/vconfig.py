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

"""libvirt config objects for the share that Nova's classes cannot express.

Nova's ``LibvirtConfigGuestFilesys`` has no ``<readonly/>`` and its
``LibvirtConfigGuestMemoryBacking`` no memfd source (Nova's manila shares
need file-backed memory or hugepages).  These subclasses add just that, in
Nova's ``format_dom``/``parse_dom`` idiom.
"""

from lxml import etree
from nova.virt.libvirt import config as vconfig


class LibvirtConfigGuestVirtiofs(vconfig.LibvirtConfigGuestFilesys):
    """A virtiofs ``<filesystem>``, optionally ``<readonly/>``."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.source_type = 'mount'
        self.accessmode = 'passthrough'
        self.driver_type = 'virtiofs'
        self.readonly = False

    def format_dom(self):
        dev = super().format_dom()
        if self.readonly:
            dev.append(etree.Element('readonly'))
        return dev

    def parse_dom(self, xmldoc):
        super().parse_dom(xmldoc)
        self.readonly = xmldoc.find('readonly') is not None


class LibvirtConfigGuestSharedMemoryBacking(
        vconfig.LibvirtConfigGuestMemoryBacking):
    """Nova's memory backing, with an optional ``<source type='memfd'/>``."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.memfd = False

    @classmethod
    def from_nova(cls, membacking):
        """Copy what Nova chose (hugepages, locking, ...) into ours."""
        ours = cls()
        if membacking is not None:
            for name in ('hugepages', 'sharedpages', 'locked', 'filesource',
                         'sharedaccess', 'allocateimmediate', 'discard'):
                setattr(ours, name, getattr(membacking, name))
        return ours

    def format_dom(self):
        root = super().format_dom()
        if self.memfd and not self.filesource:
            root.append(etree.Element('source', type='memfd'))
        return root
