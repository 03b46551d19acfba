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

"""Run a function in a child process with a mount namespace of its own.

The privileged helpers' tests mount tmpfs, bind mounts and FUSE
filesystems for real, as root.  In a private mount namespace (``unshare
--mount --propagation private``) none of it is seen by the host or by
other tests, and all of it goes when the child exits, whatever the test
did.  A child that does not answer within ``timeout`` seconds is killed
and reported as hung: that is how a helper blocked on a FUSE mount shows.
"""

import ctypes
import os
import pickle
import select
import signal
import time
import traceback

_CLONE_NEWNS = 0x00020000
_MS_REC = 0x4000
_MS_PRIVATE = 1 << 18

_libc = ctypes.CDLL(None, use_errno=True)


class Hung(AssertionError):
    """The child did not finish in time (and was killed)."""


class ChildFailed(AssertionError):
    """The function raised in the child; the message has its traceback."""


def _private_mounts():
    if _libc.unshare(_CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), 'unshare(CLONE_NEWNS)')
    if _libc.mount(b'none', b'/', None, _MS_REC | _MS_PRIVATE, None) != 0:
        raise OSError(ctypes.get_errno(), 'mount --make-rprivate /')


def run(function, *args, timeout=60):
    """Return ``function(*args)`` run in a private mount namespace.

    The result must pickle.  An exception in the child is raised here as
    :class:`ChildFailed` with the child's traceback.
    """
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(reader)
        try:
            _private_mounts()
            payload = ('ok', function(*args))
        except BaseException:
            payload = ('error', traceback.format_exc())
        try:
            data = pickle.dumps(payload)
        except Exception:
            data = pickle.dumps(('error', traceback.format_exc()))
        with os.fdopen(writer, 'wb') as out:
            out.write(data)
        os._exit(0)
    os.close(writer)
    chunks = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([reader], [], [], left)[0]:
                os.kill(pid, signal.SIGKILL)
                raise Hung('%s did not finish within %d s' % (
                    getattr(function, '__name__', function), timeout))
            chunk = os.read(reader, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(reader)
        os.waitpid(pid, 0)
    status, value = pickle.loads(b''.join(chunks))
    if status == 'error':
        raise ChildFailed(value)
    return value
