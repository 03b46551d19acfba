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

"""Does an instance ask for power metrics?

A user asks through the flavor extra spec ``hw:power_metrics`` or the image
property ``hw_power_metrics``.  Nova does not model the image property, so
it is read from what Nova kept of the image in the instance's system
metadata (``image_hw_power_metrics``), the same record for instances booted
from an image and from a volume, and updated by a rebuild.

Following Nova's rule for flavor and image settings, a flavor and an image
that disagree are an error, as is a value that is not a boolean.
"""

from nova import exception
from nova.i18n import _
from oslo_utils import strutils

EXTRA_SPEC = 'hw:power_metrics'
IMAGE_PROPERTY = 'hw_power_metrics'
SYSTEM_METADATA_KEY = 'image_' + IMAGE_PROPERTY
TRAIT = 'COMPUTE_SHARE_LOCAL_FS'


class InvalidPowerMetricsRequest(exception.InvalidInput):
    # InvalidInput: Nova aborts the build with this message as the
    # instance fault instead of rescheduling.
    msg_fmt = _('Invalid power metrics request: %(reason)s')


def _boolean(value, source):
    if value is None:
        return None
    try:
        return strutils.bool_from_string(value, strict=True)
    except ValueError:
        raise InvalidPowerMetricsRequest(reason=_(
            '%(source)s is %(value)r, which is not a boolean (use true or '
            'false)') % {'source': source, 'value': value})


def decide(extra_specs, image_value):
    """Return True when the request asks for power metrics.

    :param extra_specs: the flavor's extra specs (a dict)
    :param image_value: the image's ``hw_power_metrics`` value or None
    :raises InvalidPowerMetricsRequest: a non-boolean value, or a flavor
        and an image that disagree
    """
    by_flavor = _boolean((extra_specs or {}).get(EXTRA_SPEC),
                         _('flavor extra spec %s') % EXTRA_SPEC)
    by_image = _boolean(image_value,
                        _('image property %s') % IMAGE_PROPERTY)
    if None not in (by_flavor, by_image) and by_flavor != by_image:
        raise InvalidPowerMetricsRequest(reason=_(
            'the flavor sets %(spec)s=%(flavor)s but the image sets '
            '%(prop)s=%(image)s') % {
                'spec': EXTRA_SPEC, 'flavor': by_flavor,
                'prop': IMAGE_PROPERTY, 'image': by_image})
    return bool(by_flavor or by_image)


def image_value(system_metadata):
    """The image's ``hw_power_metrics`` as Nova kept it, or None."""
    return (system_metadata or {}).get(SYSTEM_METADATA_KEY)


def requested(instance, flavor=None):
    """Return True when ``instance`` asks for power metrics.

    ``flavor`` defaults to the instance's own; raises
    :class:`InvalidPowerMetricsRequest` for a bad request.
    """
    flavor = flavor or instance.flavor
    return decide(flavor.extra_specs,
                  image_value(instance.system_metadata))
