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

"""The read-only libvirt connection, and why opening one failed.

Read-only because reading is all the tool does: it cannot change a guest
by mistake, and libvirt grants it to more users than a full connection.
"""

import errno

import libvirt

from nova_domain_meta.cmd import errors

#: Where nova-compute's libvirt lives unless told otherwise.
DEFAULT_URI = 'qemu:///system'

_PERMISSION_CODES = (
    libvirt.VIR_ERR_AUTH_FAILED,
    libvirt.VIR_ERR_AUTH_CANCELLED,
    libvirt.VIR_ERR_AUTH_UNAVAILABLE,
    libvirt.VIR_ERR_OPERATION_DENIED,
)
_UNREACHABLE_ERRNOS = (errno.ENOENT, errno.ECONNREFUSED, errno.ETIMEDOUT,
                       errno.EHOSTUNREACH, errno.ENETUNREACH)


def _ignore_libvirt_error(_ctx, _error):
    """Swallow libvirt's own report; we raise a clearer one instead."""


def _quiet_libvirt():
    # By default libvirt prints every error on stderr, including the
    # expected "no such domain" of a look-up by name; the CLI prints its
    # own one-line message instead.
    libvirt.registerErrorHandler(_ignore_libvirt_error, None)


def connect_error(uri, error):
    """Return a :class:`~.errors.ConnectError` explaining a failed open."""
    code = error.get_error_code()
    os_errno = error.get_int1()
    text = errors.libvirt_message(error)
    if (code in _PERMISSION_CODES or
            (code == libvirt.VIR_ERR_SYSTEM_ERROR and
             os_errno in (errno.EACCES, errno.EPERM)) or
            'Permission denied' in text):
        return errors.ConnectError(
            'Permission denied connecting to libvirt at %s: %s. Run as root '
            'or as a user libvirt lets read domains (on Debian and Ubuntu, '
            'a member of the "libvirt" group).' % (uri, text))
    if code == libvirt.VIR_ERR_NO_CONNECT or (
            code == libvirt.VIR_ERR_SYSTEM_ERROR and
            os_errno in _UNREACHABLE_ERRNOS):
        return errors.ConnectError(
            'Cannot reach libvirt at %s: %s. Is the libvirt daemon '
            '(libvirtd, or virtqemud with modular daemons) running on this '
            'host? Use --connect URI to read another one.' % (uri, text))
    return errors.ConnectError('Cannot connect to libvirt at %s: %s' %
                               (uri, text))


def open_connection(uri=DEFAULT_URI):
    """Open a read-only libvirt connection, or raise ``ConnectError``."""
    _quiet_libvirt()
    try:
        return libvirt.openReadOnly(uri)
    except libvirt.libvirtError as e:
        raise connect_error(uri, e) from None
