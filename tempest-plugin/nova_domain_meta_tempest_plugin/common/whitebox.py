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

"""Reading a libvirt domain's XML on the compute host running it.

Tests reach compute hosts the way whitebox testing does: over SSH with
``virsh dumpxml``, or with an operator-given command run on the tempest
host (for an all-in-one cloud, or a wrapper around containers).
"""

import re
import shlex
import subprocess

from tempest.lib.common import ssh

# Nova host names and libvirt domain names are plain words; anything else
# is refused rather than put on a command line.
_SAFE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.:-]*$')


class DomainXMLError(Exception):
    """The domain XML could not be read."""


class DomainXMLReader(object):
    """Reads domain XML as ``[nova_domain_meta]`` says."""

    def __init__(self, conf, ssh_client_class=ssh.Client,
                 run=subprocess.run):
        self.conf = conf
        self._ssh_client_class = ssh_client_class
        self._run = run

    def available(self):
        """Whether tempest.conf says how to reach compute hosts."""
        return bool(self.conf.domain_xml_command or
                    self.conf.compute_ssh_user)

    def dumpxml(self, host, domain):
        """The live XML of libvirt domain ``domain`` on ``host``."""
        for value in (host, domain):
            if not _SAFE.match(value or ''):
                raise DomainXMLError('refusing to use %r in a command'
                                     % value)
        if self.conf.domain_xml_command:
            return self._by_command(host, domain)
        return self._by_ssh(host, domain)

    def _by_command(self, host, domain):
        argv = [part.format(host=host, domain=domain)
                for part in shlex.split(self.conf.domain_xml_command)]
        proc = self._run(argv, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise DomainXMLError('%s exited with %d: %s'
                                 % (' '.join(argv), proc.returncode,
                                    proc.stderr.strip()))
        return proc.stdout

    def _by_ssh(self, host, domain):
        address = self.conf.compute_ssh_addresses.get(host, host)
        client = self._ssh_client_class(
            address, self.conf.compute_ssh_user,
            key_filename=self.conf.compute_ssh_key_path,
            port=self.conf.compute_ssh_port)
        command = '%s dumpxml %s' % (self.conf.virsh_command,
                                     shlex.quote(domain))
        return client.exec_command(command)
