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

"""Make user-supplied values safe to place in domain XML.

Display names, image properties, flavor extra specs and tags come from
users and image owners.  XML 1.0 cannot carry some characters at all
(control characters, lone surrogates, U+FFFE/U+FFFF) and lxml refuses to
serialise them, which would fail the boot.  Huge values would bloat every
``virsh dumpxml``.  Every value is therefore cleaned and bounded here before
it reaches an XML object.
"""

import re

#: What replaces a character XML 1.0 cannot represent.
REPLACEMENT = '\ufffd'

# The complement of XML 1.0's Char production.
_INVALID_XML_CHARS = re.compile(
    '[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]')


class Cleaned(str):
    """A string that was made XML-safe; remembers whether it was changed."""

    replaced = False
    truncated = False

    @property
    def altered(self):
        return self.replaced or self.truncated


def clean(value, max_length):
    """Return ``value`` as an XML-safe string of at most ``max_length``.

    ``None`` stays ``None``.  Characters XML cannot hold become U+FFFD so an
    operator can see that something was there.  A value that needs no
    change is returned as it is (a plain string); only a changed one is a
    :class:`Cleaned` saying what happened.
    """
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    if len(text) <= max_length and _xml_safe(text):
        # Nearly every value: no copy, no bookkeeping.
        return text
    safe, replaced = _INVALID_XML_CHARS.subn(REPLACEMENT, text)
    truncated = len(safe) > max_length
    if truncated:
        safe = safe[:max_length]
    result = Cleaned(safe)
    result.replaced = bool(replaced)
    result.truncated = truncated
    return result


def _xml_safe(text):
    """Return True when XML 1.0 can hold every character of ``text``.

    NOTE: ``str.isprintable`` is false for every character XML cannot hold
    (controls, surrogates, U+FFFE/U+FFFF are not printable), and it costs
    half of the regular expression's search; only text that is not all
    printable (tabs, newlines, no-break spaces...) needs the search.
    """
    return text.isprintable() or _INVALID_XML_CHARS.search(text) is None


def _all_clean(texts, max_length):
    """Return True when every one of ``texts`` is a string clean() keeps.

    Checks them all at once: a flavor's extra specs or an image's
    properties are dozens of short, plain strings.
    """
    try:
        joined = ''.join(texts)
    except TypeError:
        # A value that is None: cleaned one at a time.
        return False
    return ((len(joined) <= max_length or
             max(map(len, texts)) <= max_length) and _xml_safe(joined))


def clean_mapping(mapping, max_length, max_items):
    """Return ``(items, truncated)`` for a dict of user-supplied strings.

    ``items`` is a list of ``(key, value)`` pairs, sorted by key so the XML
    is stable from one generation to the next, holding at most
    ``max_items`` entries; ``truncated`` says whether entries were dropped.
    Keys are cleaned like values.
    """
    # Values are converted as clean() would, so that a flavor's or an
    # image's plain strings and booleans take the fast path together.
    pairs = sorted(((k if isinstance(k, str) else str(k),
                     v if v is None or isinstance(v, str) else str(v))
                    for k, v in (mapping or {}).items()),
                   key=_first)
    truncated = len(pairs) > max_items
    pairs = pairs[:max_items]
    if _all_clean([text for pair in pairs for text in pair], max_length):
        return pairs, truncated
    return ([(clean(k, max_length), clean(v, max_length))
             for k, v in pairs], truncated)


def _first(pair):
    return pair[0]


def clean_list(values, max_length, max_items):
    """Return ``(items, truncated)`` for a list of user-supplied strings."""
    values = sorted(str(v) for v in (values or []))
    truncated = len(values) > max_items
    values = values[:max_items]
    if _all_clean(values, max_length):
        return values, truncated
    return [clean(v, max_length) for v in values], truncated


def any_altered(*values):
    """Return True when any of the cleaned values was changed."""
    return any(getattr(v, 'altered', False) for v in values)
