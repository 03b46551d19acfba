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

"""Reading and writing the ini files OpenStack services read.

oslo.config files may repeat an option (``available_filters``), which
:mod:`configparser` refuses, so the tier keeps its own small model:
``{section: [(option, value), ...]}`` in file order.

Also a command line (``python tests/cloud/ini.py set FILE SECTION OPTION
VALUE...``) with the four operations devstack's ini functions offer; the
devstack plugin runs against it (:mod:`tests.cloud.devstack`).
"""

import os
import sys


def read(path):
    """``{section: [(option, value), ...]}`` of an ini file."""
    sections = {}
    current = None
    if not os.path.exists(path):
        return sections
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in '#;':
                continue
            if line.startswith('[') and line.endswith(']'):
                current = sections.setdefault(line[1:-1], [])
            elif '=' in line and current is not None:
                key, value = line.split('=', 1)
                current.append((key.strip(), value.strip()))
    return sections


def values(sections, section, option):
    """Every value ``option`` has in ``section``, in file order."""
    return [v for k, v in sections.get(section, []) if k == option]


def value(sections, section, option, default=None):
    found = values(sections, section, option)
    return found[-1] if found else default


def write(path, sections):
    """Write ``{section: {option: value or [values]}}`` or the list form."""
    lines = []
    for section, options in sections.items():
        items = options.items() if isinstance(options, dict) else options
        lines.append('[%s]' % section)
        for key, val in items:
            for one in (val if isinstance(val, (list, tuple)) else [val]):
                if isinstance(one, bool):
                    one = 'True' if one else 'False'
                lines.append('%s = %s' % (key, one))
        lines.append('')
    os.makedirs(os.path.dirname(path), exist_ok=True)
    # Whole or not at all: services starting meanwhile read this file.
    partial = '%s.ndm-tier-%d' % (path, os.getpid())
    with open(partial, 'w') as f:
        f.write('\n'.join(lines))
    os.replace(partial, path)


def update(path, section, option, new_values):
    """Replace every value of ``option`` in ``section`` by ``new_values``.

    The first new value takes the place of the first old one; a missing
    section is added at the end.
    """
    sections = read(path)
    items = sections.setdefault(section, [])
    positions = [i for i, (k, _v) in enumerate(items) if k == option]
    where = positions[0] if positions else len(items)
    kept = [kv for kv in items if kv[0] != option]
    where -= sum(1 for p in positions if p < where)
    kept[where:where] = [(option, v) for v in new_values]
    sections[section] = kept
    write(path, sections)


def main(argv):
    """devstack's iniset/iniget/iniset_multiline/iniget_multiline."""
    op, path, section, option = argv[:4]
    rest = argv[4:]
    if op == 'get':
        print(value(read(path), section, option, ''))
    elif op == 'get_multi':
        print(' '.join(values(read(path), section, option)))
    elif op == 'set':
        update(path, section, option, rest[:1])
    elif op == 'set_multi':
        update(path, section, option, rest)
    else:
        raise SystemExit('unknown operation %s' % op)


if __name__ == '__main__':
    main(sys.argv[1:])
