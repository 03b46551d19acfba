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

"""What the driver asks of the power-metrics share.

One object per nova-compute, configured once when the service starts
(:meth:`PowerMetricsShares.start`): a bad ``share_local_fs`` stops the
service; a host that cannot share read-only with virtiofs keeps running
without the ``COMPUTE_SHARE_LOCAL_FS`` trait and says why in its log.
"""

import os
import uuid

from lxml import etree
from nova import exception
from nova.i18n import _
from nova import objects
from oslo_log import log as logging

from nova_domain_meta.metadata import domain_meta
from nova_domain_meta.share import host as share_host
from nova_domain_meta.share import mapping
from nova_domain_meta.share import names
from nova_domain_meta.share import request
from nova_domain_meta.share import retention
from nova_domain_meta.share import vconfig

LOG = logging.getLogger(__name__)

#: The device metadata tag that lets automation in the guest find the
#: share among its devices (metadata service, config drive).
DEVICE_TAG = 'power-metrics'

#: libvirt releases before this one are known to refuse ``<readonly/>`` on
#: virtiofs ("virtiofs does not yet support read-only mode"); on later ones
#: nova-compute asks libvirt itself at start.
MIN_LIBVIRT_VIRTIOFS_READONLY_PROBE = (10, 0, 0)

SUPPORTED_VIRT_TYPES = ('kvm', 'qemu')


class PowerMetricsShares(object):
    """The share of this compute node, as the driver sees it."""

    def __init__(self, nova_host):
        self._host = nova_host
        self.host_shares = None
        self.readonly_by_libvirt = False
        self.unavailable = _('[domain_meta] share_local_fs is not set')
        self.view_dir = None
        self.this_host = None

    # Service start.

    def start(self, conf, this_host):
        """Read and check the options; decide whether this host can share.

        :raises nova.exception.InvalidConfiguration: the option names a
            directory that cannot be used, or ``instance_name_template``
            cannot name the guests' directories.
        """
        self.this_host = this_host
        self.view_dir = os.path.normpath(conf.domain_meta.share_view_dir)
        shares = conf.domain_meta.share_local_fs
        if not shares:
            return
        problem = (mapping.check_directories(shares) or
                   mapping.check_view_dir(shares, self.view_dir) or
                   names.check_template(conf.instance_name_template))
        if problem:
            raise exception.InvalidConfiguration(problem)
        problem = self._virtiofs_problem(conf.libvirt.virt_type)
        if problem is None:
            self.readonly_by_libvirt = self._libvirt_makes_readonly()
            candidate = share_host.HostShares(shares, self.view_dir,
                                              self._host._uri)
            view_problem, notes = candidate.probe()
            for note in notes:
                LOG.warning('Power-metrics shares: %s', note)
            if view_problem is not None:
                if self.readonly_by_libvirt:
                    candidate.bind_views = False
                else:
                    problem = view_problem
        if problem is not None:
            self.unavailable = problem
            LOG.warning('Power-metrics shares are off on this host, and it '
                        'does not report %(trait)s: %(why)s',
                        {'trait': request.TRAIT, 'why': problem})
            return
        self.host_shares = candidate
        self.unavailable = None
        LOG.info('Sharing %(shares)s read-only with guests asking for '
                 'power metrics (read-only by %(how)s)',
                 {'shares': ', '.join('%s as %r' % s for s in shares),
                  'how': ' and '.join(self.readonly_mechanisms())})

    def readonly_mechanisms(self):
        how = []
        if self.host_shares is not None and self.host_shares.bind_views:
            how.append('bind mount')
        if self.readonly_by_libvirt:
            how.append('libvirt')
        return how

    @property
    def available(self):
        return self.host_shares is not None

    def _virtiofs_problem(self, virt_type):
        if virt_type not in SUPPORTED_VIRT_TYPES:
            return _('virtiofs needs [libvirt] virt_type kvm or qemu, not '
                     '%s') % virt_type
        try:
            arch = self._host.get_capabilities().host.cpu.arch
            caps = etree.fromstring(
                self._host.get_connection().getDomainCapabilities(
                    None, arch, None, virt_type, 0))
        except Exception as e:
            return _('cannot read libvirt domain capabilities: %s') % e
        for path, value, what in (
                ('devices/filesystem', 'virtiofs', 'virtiofs filesystems'),
                ('memoryBacking', 'memfd', 'memfd memory backing')):
            element = caps.find(path)
            if element is None:
                # Older libvirt does not describe it; every version Nova
                # supports (libvirt 8.0, QEMU 6.2) can do it.
                continue
            values = {v.text for v in element.iter('value')}
            if element.get('supported') != 'yes' or value not in values:
                return _('this libvirt/QEMU does not offer %s') % what
        return None

    def _libvirt_makes_readonly(self):
        """Does libvirt accept ``<readonly/>`` on virtiofs?  Ask it.

        Defines (and at once undefines) a domain that is never started.
        """
        if not self._host.has_min_version(
                lv_ver=MIN_LIBVIRT_VIRTIOFS_READONLY_PROBE):
            return False
        name = 'nova-domain-meta-probe-%s' % uuid.uuid4()
        fs = vconfig.LibvirtConfigGuestVirtiofs()
        fs.source_dir = '/'
        fs.target_dir = 'probe'
        fs.readonly = True
        membacking = vconfig.LibvirtConfigGuestSharedMemoryBacking()
        membacking.memfd = membacking.sharedaccess = True
        xml = ('<domain type="qemu"><name>%s</name><memory>65536</memory>'
               '%s<os><type>hvm</type></os><devices>%s</devices></domain>'
               % (name, membacking.to_xml(), fs.to_xml()))
        try:
            domain = self._host.get_connection().defineXML(xml)
        except Exception as e:
            LOG.debug('libvirt refuses read-only virtiofs: %s', e)
            return False
        try:
            domain.undefine()
        except Exception as e:
            LOG.warning('Could not remove the probe domain %s: %s', name, e)
        return True

    # Placement.

    def update_traits(self, provider_tree, nodename):
        """Report the trait exactly when this host can share."""
        if self.available:
            provider_tree.add_traits(nodename, request.TRAIT)
        else:
            provider_tree.remove_traits(nodename, request.TRAIT)

    # Guests.

    def wanted(self, instance):
        """True when ``instance`` asks for power metrics.

        :raises InvalidPowerMetricsRequest: a bad flavor or image value
        """
        return request.requested(instance)

    def check_can_spawn(self, instance):
        """Refuse a build this host cannot serve, before any work.

        A bad request, or a domain name that cannot name a directory,
        aborts the build with a fault naming the value (an InvalidInput:
        no other host would do better); a host without the share sends
        the build elsewhere (Nova reschedules), which only happens when
        the scheduler is not set up to filter on the trait.
        """
        if not self.wanted(instance):
            return
        if not self.available:
            raise exception.ComputeResourcesUnavailable(reason=_(
                'the instance asks for power metrics but this host cannot '
                'share them: %s') % self.unavailable)
        share_host.safe_name(instance.name)

    def configure_guest(self, guest, instance):
        """Add the virtiofs devices and shared memory the guest needs.

        Returns the shares given to the guest, for :meth:`records`.
        """
        shares = self._shares_of(instance, warn=True)
        for share in shares:
            fs = vconfig.LibvirtConfigGuestVirtiofs()
            fs.source_dir = self.host_shares.source(share, instance.name)
            fs.target_dir = share.tag
            fs.readonly = self.readonly_by_libvirt
            guest.add_device(fs)
        if shares:
            guest.membacking = self._shared_memory(guest.membacking)
        return shares

    def _shares_of(self, instance, warn=False):
        """The shares ``instance`` gets here: [] when it gets none.

        ``warn`` logs why a guest that asks gets none: a request that went
        bad after the build (the build refused it; the guest stays
        bootable), or a host that cannot share.
        """
        try:
            wanted = self.wanted(instance)
        except request.InvalidPowerMetricsRequest as e:
            if warn:
                LOG.warning('Not sharing power metrics: %s',
                            e.format_message(), instance=instance)
            return []
        if not wanted:
            return []
        if not self.available:
            if warn:
                LOG.warning('The instance asks for power metrics but this '
                            'host cannot share them (%s); the guest starts '
                            'without its share', self.unavailable,
                            instance=instance)
            return []
        return list(self.host_shares.shares)

    def records(self, instance, shares=None):
        """``<ndm:share>`` records of what the guest is given.

        ``shares`` is what :meth:`configure_guest` returned for the same
        domain XML; without it the instance's request is read again.
        """
        if shares is None:
            shares = self._shares_of(instance)
        if not shares:
            return []
        how = ' '.join(m.replace(' ', '-')
                       for m in self.readonly_mechanisms())
        return [domain_meta.DomainMetaShare(
            tag=share.tag,
            directory=self.host_shares.guest_directory(share, instance.name),
            source=self.host_shares.source(share, instance.name),
            read_only_by=how) for share in shares]

    @staticmethod
    def _shared_memory(membacking):
        """virtiofs needs guest memory QEMU can share with virtiofsd.

        File-backed memory (``[libvirt] file_backed_memory``) is already
        shared; hugepages only need shared access; anything else gets an
        anonymous memfd, so the host needs no hugepages or memory files.
        """
        if membacking is not None and membacking.filesource:
            return membacking
        if membacking is not None and membacking.hugepages:
            membacking.sharedaccess = True
            return membacking
        ours = vconfig.LibvirtConfigGuestSharedMemoryBacking.from_nova(
            membacking)
        ours.memfd = True
        ours.sharedaccess = True
        return ours

    def is_ours(self, device):
        """True for a ``<filesystem>`` this object added to a guest."""
        if (not self.available or
                getattr(device, 'driver_type', None) != 'virtiofs'):
            return False
        for share in self.host_shares.shares:
            if device.target_dir == share.tag:
                return True
        return False

    def device_metadata(self, device):
        """Nova device metadata telling the guest the share's mount tag."""
        return objects.ShareMetadata(share_id=None, tag=device.target_dir,
                                     tags=[DEVICE_TAG])

    def shared_in(self, xml):
        """True when the domain ``xml`` has one of our shares."""
        if not self.available or not xml:
            return False
        root = etree.fromstring(xml)
        tags = {s.tag for s in self.host_shares.shares}
        for fs in root.iterfind('devices/filesystem'):
            driver, target = fs.find('driver'), fs.find('target')
            if (driver is not None and driver.get('type') == 'virtiofs' and
                    target is not None and target.get('dir') in tags):
                return True
        return False

    # The guest's directories and views through its domain's life.

    def before_create(self, instance, xml):
        """Prepare, or refuse, the shares of a domain about to start.

        Called for every domain Nova starts, with the XML it will define,
        whether or not this host offers the share now: any virtiofs source
        below ``share_view_dir`` must be a read-only mount at this moment,
        here and where the libvirt daemon looks, or the guest does not
        start.

        :raises share_host.UnsafeShare: the guest must not start.
        """
        sources = self._view_sources(xml)
        if self.available and self.shared_in(xml):
            self._refuse_name_clash(instance)
            self.host_shares.prepare(instance.name)
        elif self.available:
            # E.g. resized to a flavor without power metrics: the data
            # stays until the resize is confirmed.
            self._release(instance, remove_data=False)
        problems = share_host.readonly_problems(sources, self._host._uri)
        if problems:
            raise share_host.ShareNotReadOnly(reason='; '.join(problems))

    def _view_sources(self, xml):
        """virtiofs sources of domain ``xml`` below ``share_view_dir``."""
        if not self.view_dir or not xml:
            return []
        found = []
        for fs in etree.fromstring(xml).iterfind('devices/filesystem'):
            driver, source = fs.find('driver'), fs.find('source')
            if (driver is None or driver.get('type') != 'virtiofs' or
                    source is None or not source.get('dir')):
                continue
            path = source.get('dir')
            for candidate, root in ((os.path.normpath(path), self.view_dir),
                                    (os.path.realpath(path),
                                     os.path.realpath(self.view_dir))):
                if candidate.startswith(root.rstrip('/') + '/'):
                    found.append(path)
                    break
        return found

    def after_cleanup(self, context, instance):
        """The domain is gone: release its views; its data if it leaves.

        Nova calls ``cleanup()`` also when it defines the domain again on
        this host (hard reboot, power on, rebuild, ...): the guest's
        directory is removed only when :func:`retention.leaving` says the
        guest leaves.  Nothing is done (no privileged call) for a guest
        that never had the share here.  Never raises.
        """
        try:
            why = retention.leaving(context, instance, self.this_host)
        except Exception as e:
            LOG.warning('Cannot tell whether the guest leaves this host, '
                        'keeping its power-metrics directory: %s', e,
                        instance=instance)
            why = None
        self._release(instance, remove_data=why)

    def confirmed(self, migration, instance):
        """A resize or migration was confirmed; this is its source."""
        if migration.source_compute != migration.dest_compute:
            self._release(instance, remove_data='migrated to %s'
                          % migration.dest_compute)
        elif not self._wants(instance, instance.flavor):
            # Resized here to a flavor without power metrics.
            self._release(instance, remove_data='resized without power '
                          'metrics')

    def _release(self, instance, remove_data):
        """Unmount the guest's views; remove its data if ``remove_data``.

        ``remove_data`` is the reason the guest leaves (logged) or falsy.
        """
        if self.host_shares is None:
            return
        name = instance.name
        try:
            share_host.safe_name(name)
        except share_host.UnsafeShare:
            return  # nothing can have been made for it
        try:
            if not self._had_share(instance):
                return
            if self._used_by_another_domain(instance):
                return
            self.host_shares.release_views(name)
            if remove_data and self.host_shares.has_data(name):
                self.host_shares.remove_data(name)
                LOG.info('Removed the power-metrics directory of the guest '
                         '(%s)', remove_data, instance=instance)
        except Exception as e:
            LOG.warning('Could not remove the power-metrics share: %s', e,
                        instance=instance)

    def _wants(self, instance, flavor):
        try:
            return flavor is not None and request.requested(instance, flavor)
        except request.InvalidPowerMetricsRequest:
            return False

    def _had_share(self, instance):
        """Did this host (or may it) share a directory with the guest?"""
        if self.host_shares.has_views(instance.name):
            return True
        flavors = [instance.flavor] + [
            getattr(instance, key) for key in ('old_flavor', 'new_flavor')
            if instance.obj_attr_is_set(key)]
        return any(self._wants(instance, f) for f in flavors)

    def _domain_uuid(self, name):
        """UUID of the libvirt domain called ``name``, or None."""
        try:
            domains = self._host.list_instance_domains(only_running=False)
        except Exception as e:
            LOG.warning('Cannot list libvirt domains: %s', e)
            return None
        for domain in domains:
            if domain.name() == name:
                return domain.UUIDString()
        return None

    def _used_by_another_domain(self, instance):
        other = self._domain_uuid(instance.name)
        if other is not None and other != instance.uuid:
            LOG.warning('Not touching the power-metrics share of %(name)s: '
                        'the libvirt domain of that name is another '
                        'instance\'s (%(other)s)',
                        {'name': instance.name, 'other': other},
                        instance=instance)
            return True
        return False

    def _refuse_name_clash(self, instance):
        other = self._domain_uuid(instance.name)
        if other is not None and other != instance.uuid:
            raise share_host.UnsafeShare(reason=_(
                'the libvirt domain %(name)s belongs to another instance '
                '(%(other)s); its directory is not this guest\'s') % {
                    'name': instance.name, 'other': other})

    def refuse_live_migration(self, instance):
        """Live migration of a guest with virtiofs fails in libvirt."""
        try:
            wanted = self.wanted(instance)
        except request.InvalidPowerMetricsRequest:
            wanted = False
        if wanted:
            raise exception.MigrationPreCheckError(reason=_(
                'the instance has a power-metrics share (virtiofs), and '
                'libvirt cannot live migrate a guest with virtiofs; cold '
                'migrate or resize it instead'))
