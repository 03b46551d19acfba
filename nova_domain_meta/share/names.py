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

"""Can ``[DEFAULT] instance_name_template`` name the guests' directories?

The share keeps a guest's files in ``<directory>/<libvirt domain name>``
and its view in ``<share_view_dir>/<domain name>``, so a domain name must
be one plain directory entry and must belong to one instance only.  Nova
makes the name from ``instance_name_template`` (``instance-%08x`` by
default), either from the instance's database id alone or from any of its
fields (``%(uuid)s``, ``%(display_name)s``, ...).  A name made from a
field users choose (display name, hostname, ...) is chosen by users: two
servers can be given one name, and the second's failed build would clean
up the first's share; a name made from nothing unique gives every guest
the same directory.  nova-compute refuses such a template when it starts
with shares configured.

The template is rendered by Nova's own ``Instance.name``, on stand-in
instances whose fields hold values of our choosing.
"""

from nova.objects import instance as instance_obj

from nova_domain_meta.share import privileged

OPTION = '[DEFAULT] instance_name_template'

#: Fields whose values identify one instance.
UNIQUE_FIELDS = ('id', 'uuid')

_UUIDS = ('7b1c2a5e-0000-4000-8000-000000000001',
          '7b1c2a5e-0000-4000-8000-000000000002')
#: Ids that exercise the widths of a ``%x``/``%d`` conversion.
_IDS = (1, 42, 0x7fffffff)


class _Value(int):
    """A field value usable as a number (``%d``) and as text (``%s``)."""

    def __new__(cls, number, text):
        value = super().__new__(cls, number)
        value.text = text
        return value

    def __str__(self):
        return self.text

    __repr__ = __str__


class _Sample(object):
    """What Nova's ``Instance.name`` reads of an instance.

    Every field is set: ``id`` and ``uuid`` to ``ident``, the field
    ``varied`` to a second value, every other one to a first value.
    """

    fields = instance_obj.Instance.fields
    vm_state = task_state = None

    def __init__(self, ident, uuid, varied=None):
        self.id = ident
        self.uuid = uuid
        self._varied = varied

    def obj_attr_is_set(self, key):
        return True

    def __getitem__(self, key):
        if key == 'id':
            return self.id
        if key == 'uuid':
            return self.uuid
        if key == self._varied:
            return _Value(2, '../%s/2' % key)
        return _Value(1, '%s-1' % key)


def _name(sample):
    return instance_obj.Instance.name.fget(sample)


def check_template(template):
    """Return why ``template`` (the configured one) is unsafe, or None.

    Nova reads the template from its configuration; ``template`` is only
    quoted in the message.
    """
    try:
        first = _name(_Sample(_IDS[1], _UUIDS[0]))
        other = _name(_Sample(_IDS[1] + 1, _UUIDS[1]))
        chosen = sorted(
            key for key in _Sample.fields
            if key not in UNIQUE_FIELDS + ('name',) and
            _name(_Sample(_IDS[1], _UUIDS[0], varied=key)) != first)
        names = [_name(_Sample(ident, _UUIDS[0])) for ident in _IDS]
    except Exception as e:
        return '%s %r cannot make a domain name: %s' % (OPTION, template, e)
    if chosen:
        return ('%s %r makes domain names from %s, not only from the '
                'instance\'s id or uuid: users choose some fields '
                '(display_name, hostname, ...) and others are shared by '
                'many instances, so two servers could get one name and '
                'each other\'s power-metrics directory; use e.g. '
                'instance-%%08x or instance-%%(uuid)s'
                % (OPTION, template, ', '.join(chosen)))
    if first == other:
        return ('%s %r gives every instance the domain name %r; name '
                'instances by their id or uuid'
                % (OPTION, template, first))
    for name in names:
        try:
            privileged.check_name(name)
        except privileged.UnsafePath:
            return ('%s %r makes domain names such as %r, which cannot '
                    'name a directory (a "/", a leading ".", or too long)'
                    % (OPTION, template, name))
    return None
