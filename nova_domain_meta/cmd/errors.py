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

"""What can go wrong reading domains, in words an operator can act on.

The commands print ``str()`` of these as their one-line error and exit
with status 2; other tools catch :class:`ReadError`.
"""


class ReadError(Exception):
    """An error the operator can act on; ``str()`` is the whole message."""


class ConnectError(ReadError):
    """libvirt could not be reached, or refused us."""


class DomainNotFound(ReadError):
    """No domain matches what the operator asked for."""


class AmbiguousDomain(ReadError):
    """Several domains share the display name the operator asked for."""


def libvirt_message(error):
    """The message of a ``libvirtError``, without Python's decoration."""
    return error.get_error_message() or str(error)


def libvirt_failed(error, doing):
    """Return a :class:`ReadError` for a libvirt call that failed."""
    return ReadError('libvirt failed while %s: %s' %
                     (doing, libvirt_message(error)))
