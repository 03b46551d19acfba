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

Tables (and ``value``, ``csv``, ``shell``) are for people: a missing value
reads ``-``, lists and mappings are joined on one line or one line per
item, and every character a terminal would not print as itself is escaped
(see :func:`printable`).  JSON and YAML get the plain value as it is:
their own syntax escapes what it must, and a program reading them gets the
exact data.
"""

from cliff import columns

#: Output formats whose data stays exact; every other one is escaped.
EXACT_FORMATS = ('json', 'yaml')


def printable(text):
    """Return ``text`` with every non-printable character escaped.

    Image names and properties, project, user and display names are
    written by users, and XML carries C1 controls (U+009B opens a terminal
    escape sequence like ESC [ does), bidirectional overrides (U+202E
    shows ``gpj.exe`` as ``exe.jpg``), zero-width characters, tabs and
    newlines.  Each character ``str.isprintable()`` rejects (controls,
    format characters, separators other than the space, surrogates,
    private-use and unassigned code points) is shown as Python writes it
    in a string literal: ``\\x9b``, ``\\u202e``, ``\\n``.
    """
    if text.isprintable():
        return text
    return ''.join(c if c.isprintable()
                   else c.encode('unicode_escape').decode('ascii')
                   for c in text)


def _shown(value):
    return printable(str(value))


class _Column(columns.FormattableColumn):
    """A value shown as ``-`` when missing; JSON and YAML get it as is."""

    #: False when the output is not JSON or YAML: cliff's ``value``,
    #: ``csv`` and ``shell`` formatters print ``machine_readable()``.
    exact = True

    def human_readable(self):
        if self._value is None or self._value in ('', [], {}):
            return '-'
        return self._human()

    def machine_readable(self):
        # Lists and mappings print through repr(), which escapes what
        # isprintable() rejects; a string prints as it is.
        if not self.exact and isinstance(self._value, str):
            return printable(self._value)
        return self._value

    def _human(self):
        return _shown(self._value)

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
        return ', '.join(_shown(v) for v in self._value)


class DictColumn(_Column):
    """A mapping, ``key='value'`` pairs in tables (unset ones left out)."""

    def _human(self):
        return ', '.join("%s='%s'" % (_shown(k), _shown(v))
                         for k, v in sorted(self._value.items())
                         if v is not None) or '-'


class DictListColumn(_Column):
    """A list of mappings, one line each in tables."""

    def _human(self):
        return '\n'.join(
            ' '.join('%s=%s' % (_shown(k), _flat(v))
                     for k, v in item.items() if v not in (None, '', []))
            for item in self._value)


class LinesColumn(ListColumn):
    """A list of sentences, one line each in tables."""

    def _human(self):
        return '\n'.join(_shown(v) for v in self._value)


class RootColumn(_Column):
    """``{'type': ..., 'id': ...}``, ``image <uuid>`` in tables."""

    def _human(self):
        return '%s %s' % (_shown(self._value.get('type')),
                          _shown(self._value.get('id') or '(unknown)'))


def _flat(value):
    if isinstance(value, list):
        return ','.join(_shown(v) for v in value)
    return _shown(value)


# Columns whose type their value alone does not tell.
_COLUMN_TYPES = {
    'Root': RootColumn,
    'root': RootColumn,
    'Problems': LinesColumn,
    'problems': LinesColumn,
}


def _column_type(name, value):
    if name in _COLUMN_TYPES and value is not None:
        return _COLUMN_TYPES[name]
    if isinstance(value, list):
        if value and isinstance(value[0], dict):
            return DictListColumn
        return ListColumn
    if isinstance(value, dict):
        return DictColumn
    return TextColumn


def column(name, value, exact=True):
    """Wrap a plain value of column ``name`` in the right column type.

    ``exact`` is False unless the output format is one of
    :data:`EXACT_FORMATS`.
    """
    wrapped = _column_type(name, value)(value)
    if not exact:
        wrapped.exact = False
    return wrapped


def exact(parsed_args):
    """Whether the command's output format keeps data exact."""
    return getattr(parsed_args, 'formatter', None) in EXACT_FORMATS
