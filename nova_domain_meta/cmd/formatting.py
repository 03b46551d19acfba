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

"""How the commands' plain values are shown, as cliff columns.

Tables (and ``value``, ``csv``) are for people: a missing value reads
``-``, lists and mappings are joined on one line or one line per item.
JSON and YAML get the plain value as it is.
"""

from cliff import columns


class _Column(columns.FormattableColumn):
    """A value shown as ``-`` when missing; JSON and YAML get it as is."""

    def human_readable(self):
        if self._value is None or self._value in ('', [], {}):
            return '-'
        return self._human()

    def _human(self):
        return str(self._value)

    def __lt__(self, other):
        # Sorting (--sort-column) must survive missing values.
        if not isinstance(other, columns.FormattableColumn):
            return NotImplemented
        return self.human_readable() < other.human_readable()


class TextColumn(_Column):
    """A single value."""


class ListColumn(_Column):
    """A list of values, comma separated in tables."""

    def _human(self):
        return ', '.join(str(v) for v in self._value)


class DictColumn(_Column):
    """A mapping, ``key='value'`` pairs in tables (unset ones left out)."""

    def _human(self):
        return ', '.join("%s='%s'" % (k, v)
                         for k, v in sorted(self._value.items())
                         if v is not None) or '-'


class DictListColumn(_Column):
    """A list of mappings, one line each in tables."""

    def _human(self):
        return '\n'.join(
            ' '.join('%s=%s' % (k, _flat(v)) for k, v in item.items()
                     if v not in (None, '', []))
            for item in self._value)


class LinesColumn(ListColumn):
    """A list of sentences, one line each in tables."""

    def _human(self):
        return '\n'.join(str(v) for v in self._value)


class RootColumn(_Column):
    """``{'type': ..., 'id': ...}``, ``image <uuid>`` in tables."""

    def _human(self):
        return '%s %s' % (self._value.get('type'),
                          self._value.get('id') or '(unknown)')


def _flat(value):
    if isinstance(value, list):
        return ','.join(str(v) for v in value)
    return value


# Columns whose type their value alone does not tell.
_COLUMN_TYPES = {
    'Root': RootColumn,
    'root': RootColumn,
    'Problems': LinesColumn,
    'problems': LinesColumn,
}


def column(name, value):
    """Wrap a plain value of column ``name`` in the right column type."""
    if name in _COLUMN_TYPES and value is not None:
        return _COLUMN_TYPES[name](value)
    if isinstance(value, list):
        if value and isinstance(value[0], dict):
            return DictListColumn(value)
        return ListColumn(value)
    if isinstance(value, dict):
        return DictColumn(value)
    return TextColumn(value)
