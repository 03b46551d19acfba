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

"""The processes of the tier: started, waited for and stopped by PID.

Every daemon runs in the foreground as a child of the tier, in a session
of its own (so its workers form a process group whose ID is its PID),
with its output in ``<tier>/log/<name>.log`` and ``PR_SET_PDEATHSIG`` so
that it dies with the tier even when the tier is killed.  Stopping sends
SIGTERM to that process group, then SIGKILL after a grace period.
"""

import ctypes
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

PR_SET_PDEATHSIG = 1
STOP_TIMEOUT = 20

#: Set when the tier is asked to stop (SIGTERM): every wait gives up, so
#: that teardown runs at once.
STOPPING = threading.Event()


class TierError(Exception):
    """The cloud could not be brought up or checked; says what and why."""


def _die_with_parent():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def log_tail(path, lines=30):
    try:
        with open(path, errors='replace') as f:
            return '\n'.join(f.read().splitlines()[-lines:])
    except OSError:
        return '(no log at %s)' % path


# oslo.log's default format: date, time, PID, level, logger.  A traceback
# is logged line by line at the level of the record that carries it.
_LOG_ERROR = re.compile(r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \d+ '
                        r'(ERROR|CRITICAL) ')


def log_errors(text):
    """The lines of an oslo.log log logged at level ERROR or CRITICAL.

    By level, not by word: nova-compute logs its whole configuration at
    start, ``logging_exception_prefix = ... ERROR ...`` included.
    """
    return [line for line in text.splitlines() if _LOG_ERROR.match(line)]


def run(argv, what, env=None, cwd=None, timeout=900, log=None):
    """Run a command to completion; raise TierError with its output."""
    started = time.monotonic()
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, env=env, cwd=cwd,
                              timeout=timeout, universal_newlines=True,
                              preexec_fn=_die_with_parent)
    except subprocess.TimeoutExpired as e:
        raise TierError('%s: %s did not finish within %d s:\n%s' % (
            what, ' '.join(argv), timeout, (e.output or '')[-3000:]))
    except OSError as e:
        raise TierError('%s: cannot run %s: %s' % (what, argv[0], e))
    if log:
        with open(log, 'a') as f:
            f.write('$ %s  (%.1f s, exit %d)\n%s\n' % (
                ' '.join(argv), time.monotonic() - started,
                proc.returncode, proc.stdout))
    if proc.returncode:
        raise TierError('%s: %s failed (exit %d):\n%s' % (
            what, ' '.join(argv), proc.returncode, proc.stdout[-4000:]))
    return proc.stdout


def parallel(*jobs):
    """Run commands (never daemons) in threads at once; raise the first error.

    Only for jobs that run to completion: a daemon started here would get
    its PR_SET_PDEATHSIG when the short-lived thread ends.
    """
    errors = []

    def run(job):
        try:
            job()
        except BaseException as e:
            errors.append(e)
    threads = [threading.Thread(target=run, args=(job,), daemon=True)
               for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


class Daemon(object):
    """One long-running process of the tier."""

    def __init__(self, name, argv, log_dir, env=None, cwd=None):
        self.name = name
        self.argv = argv
        self.log = os.path.join(log_dir, '%s.log' % name)
        self.env = env
        self.cwd = cwd
        self.proc = None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def start(self):
        out = open(self.log, 'a')
        try:
            self.proc = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, env=self.env, cwd=self.cwd,
                close_fds=True, start_new_session=True,
                preexec_fn=_die_with_parent)
        except OSError as e:
            raise TierError('cannot start %s (%s): %s'
                            % (self.name, self.argv[0], e))
        finally:
            out.close()
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_until(self, check, what, timeout=180, interval=0.25):
        """Poll ``check()`` until true; fail early if the process died."""
        deadline = time.monotonic() + timeout
        last_error = None
        while True:
            try:
                if check():
                    return
            except Exception as e:  # the check's own failure: keep trying
                last_error = e
            if STOPPING.is_set():
                raise TierError('%s: stopped while waiting for %s'
                                % (self.name, what))
            if not self.running():
                raise TierError('%s exited (status %s) before %s:\n%s' % (
                    self.name, self.proc.returncode if self.proc else None,
                    what, log_tail(self.log)))
            if time.monotonic() > deadline:
                raise TierError('%s: no %s within %d s (last error: %s):\n%s'
                                % (self.name, what, timeout, last_error,
                                   log_tail(self.log)))
            time.sleep(interval)

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM the process group we started, SIGKILL if it lingers."""
        stop_all([self], timeout)

    def _signal(self, sig):
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass


def stop_all(daemons, timeout=STOP_TIMEOUT):
    """SIGTERM every daemon at once; SIGKILL what is left at ``timeout``."""
    daemons = [d for d in daemons if d.proc is not None]
    for daemon in daemons:
        if daemon.proc.poll() is None:
            daemon._signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for daemon in daemons:
        try:
            daemon.proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            daemon._signal(signal.SIGKILL)
            daemon.proc.wait()
        # Workers of a master that died first.
        daemon._signal(signal.SIGKILL)


def tcp_open(port, host='127.0.0.1'):
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host, port)) == 0


def http_answers(url):
    """True once ``url`` answers HTTP at all (any status)."""
    try:
        urllib.request.urlopen(url, timeout=5).close()
    except urllib.error.HTTPError:
        return True
    return True


def processes_in_network_namespace(ns_link):
    """PIDs whose network namespace is ``ns_link``, but ours and our parent's.

    Our parent is the ``unshare`` that made the namespace (and so is in it).
    """
    found = []
    for pid in os.listdir('/proc'):
        if not pid.isdigit() or int(pid) in (os.getpid(), os.getppid()):
            continue
        try:
            if os.readlink('/proc/%s/ns/net' % pid) == ns_link:
                found.append(int(pid))
        except OSError:
            continue
    return found


def kill_leftovers(ns_link):
    """SIGKILL what still runs in the tier's private network namespace.

    Only the tier's processes can be there: the namespace was made for
    it.  Returns [(pid, command)] of what had to be killed.
    """
    killed = []
    for pid in processes_in_network_namespace(ns_link):
        try:
            with open('/proc/%d/cmdline' % pid, 'rb') as f:
                command = f.read().replace(b'\0', b' ').decode(
                    'utf-8', 'replace').strip()
            os.kill(pid, signal.SIGKILL)
            killed.append((pid, command[:120]))
        except OSError:
            continue
    return killed
