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

"""The ``nova-domain-meta`` command and the read model behind it.

The read model (no cliff, no Nova; other tools may import it):

* :mod:`.connection`: the read-only libvirt connection;
* :mod:`.fetch`: every domain and its XML, several calls in flight;
* :mod:`.domain`: one domain's XML parsed, and which metadata it carries;
* :mod:`.facts`: what the metadata says, one helper per fact;
* :mod:`.list_columns`, :mod:`.show_fields`: what ``list`` and ``show``
  show, as plain values;
* :mod:`.checks`, :mod:`.versions`: what ``check`` reports;
* :mod:`.errors`: what can go wrong, in the operator's words.

The command line: :mod:`.cli` (the cliff application), :mod:`.commands`
and :mod:`.formatting` (how values look in tables and JSON).
"""

import warnings

# ``show`` and ``check`` import Nova (for its version and the running
# package), and Nova's libvirt package imports eventlet, which warns on
# import that it is deprecated.  The warning is addressed to services
# choosing a concurrency model; in a read-only tool it is noise, so hide
# that one.  (``list`` imports no Nova at all.)
warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')
