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

"""What machine a benchmark ran on, printed with every figure."""

import os
import platform


def describe():
    """Return the facts a benchmark figure depends on, as a dict."""
    model = platform.processor() or 'unknown'
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    model = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    import libvirt
    major, rest = divmod(libvirt.getVersion(), 1000000)
    minor, micro = divmod(rest, 1000)
    return {
        'nproc': os.cpu_count(),
        'usable_cpus': len(os.sched_getaffinity(0)),
        'cpu_model': model,
        'load_average': '%.2f %.2f %.2f' % os.getloadavg(),
        'python': platform.python_version(),
        'libvirt': '%d.%d.%d' % (major, minor, micro),
        'libvirt_python': getattr(libvirt, '__version__', None) or
        _dist_version('libvirt-python'),
    }


def _dist_version(name):
    from importlib import metadata
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return 'unknown'
