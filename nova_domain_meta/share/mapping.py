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

"""``[domain_meta] share_local_fs``: which host directories, under which tag.

Why its own type: the spec writes the value as a JSON object, and an
operator who gets it wrong must learn so from nova-compute refusing to
start with a message naming the option, not from a guest that boots
without its share.  Everything that can be checked on the text alone is
checked by the oslo.config type (so ``oslo-config-validator`` catches it
too); what needs the filesystem is checked by :func:`check_directories`
when nova-compute starts.
"""

import collections
import json
import os
import re
import stat

from oslo_config import types

OPTION = '[domain_meta] share_local_fs'

#: virtio-fs carries the tag in a 36-byte field of the device's config
#: space; QEMU refuses a longer one.
MAX_TAG_BYTES = 36

#: Tags reach QEMU's command line, the guest's ``mount`` and the metadata
#: service; plain names keep all three unambiguous.
TAG_PATTERN = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]*$')

Share = collections.namedtuple('Share', ['directory', 'tag'])


class ShareMappingType(types.ConfigType):
    """A JSON object of absolute host directory -> virtiofs mount tag.

    The parsed value is a tuple of :class:`Share`, sorted by tag, so it can
    be compared and hashed; an empty value means the feature is off.
    """

    def __init__(self, type_name='share mapping'):
        super().__init__(type_name=type_name)

    def __call__(self, value):
        if isinstance(value, tuple):
            return value
        if isinstance(value, dict):
            raw = value
        else:
            text = (value or '').strip()
            if not text:
                return ()
            try:
                raw = json.loads(text)
            except ValueError as e:
                raise ValueError(
                    'expected a JSON object such as {"/var/lib/libvirt/'
                    'scaphandre": "scaphandre"}: %s' % e)
        if not isinstance(raw, dict):
            raise ValueError('expected a JSON object of directory to tag, '
                             'got %s' % type(raw).__name__)
        shares = [Share(_directory(d), _tag(d, t)) for d, t in raw.items()]
        _refuse_duplicates(shares)
        return tuple(sorted(shares, key=lambda s: s.tag))

    def __repr__(self):
        return 'ShareMapping'

    def __eq__(self, other):
        return self.__class__ == other.__class__

    def _formatter(self, value):
        if isinstance(value, tuple):
            value = {s.directory: s.tag for s in value}
        return json.dumps(value, sort_keys=True)


def _directory(path):
    if not isinstance(path, str) or not os.path.isabs(path):
        raise ValueError('directory %r is not an absolute path' % (path,))
    normal = os.path.normpath(path)
    if normal == '/':
        raise ValueError('the root directory cannot be shared')
    return normal


def _tag(directory, tag):
    if not isinstance(tag, str) or not tag:
        raise ValueError('directory %s has an empty or non-string tag'
                         % directory)
    if len(tag.encode('utf-8')) > MAX_TAG_BYTES:
        raise ValueError('tag %r of %s is longer than the %d bytes virtiofs '
                         'allows' % (tag, directory, MAX_TAG_BYTES))
    if not TAG_PATTERN.match(tag):
        raise ValueError('tag %r of %s may hold only letters, digits, ".", '
                         '"_" and "-", and must start with a letter or '
                         'digit' % (tag, directory))
    return tag


def _within(inner, outer):
    """True when path ``inner`` lies below directory ``outer``."""
    return inner.startswith(outer.rstrip('/') + '/')


def _refuse_duplicates(shares):
    seen_tags, seen_dirs = {}, set()
    for share in shares:
        if share.tag in seen_tags:
            raise ValueError('tag %r is given to both %s and %s' % (
                share.tag, seen_tags[share.tag], share.directory))
        if share.directory in seen_dirs:
            raise ValueError('directory %s is listed twice'
                             % share.directory)
        seen_tags[share.tag] = share.directory
        seen_dirs.add(share.directory)
    for one in seen_dirs:
        for other in seen_dirs:
            if one != other and _within(other, one):
                raise ValueError('directory %s lies inside %s; a guest '
                                 'could reach another guest\'s files'
                                 % (other, one))


def check_directories(shares):
    """Return why the shared directories are unusable, or None.

    Each must exist as a real directory: a symbolic link could be pointed
    elsewhere later, and the guest would follow it.  Called when
    nova-compute starts; the message names the option.
    """
    for share in shares:
        try:
            st = os.lstat(share.directory)
        except OSError as e:
            return '%s: directory %s cannot be used: %s' % (
                OPTION, share.directory, e.strerror)
        if stat.S_ISLNK(st.st_mode):
            return ('%s: directory %s is a symbolic link; name the real '
                    'directory' % (OPTION, share.directory))
        if not stat.S_ISDIR(st.st_mode):
            return '%s: %s is not a directory' % (OPTION, share.directory)
        real = os.path.realpath(share.directory)
        if real != share.directory:
            return ('%s: directory %s resolves to %s through a symbolic '
                    'link in its path; name the real directory'
                    % (OPTION, share.directory, real))
    return None


def check_view_dir(shares, view_dir):
    """Return why ``view_dir`` cannot hold the views, or None.

    Inside a shared directory the views of every guest would be served
    to each guest; a shared directory inside it would be mixed with them.
    """
    view_dir = os.path.normpath(view_dir)
    for share in shares:
        for inner, outer in ((view_dir, share.directory),
                             (share.directory, view_dir)):
            if inner == outer or _within(inner, outer):
                return ('[domain_meta] share_view_dir %s and the shared '
                        'directory %s must not contain one another'
                        % (view_dir, share.directory))
    return None
