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

"""A scheduler host filter sending power-metrics guests to capable hosts.

Why a host filter: Nova's placement request filters are a fixed list, and
Nova turns only modelled image properties and ``trait:`` extra specs into
required traits.  ``hw:power_metrics`` and ``hw_power_metrics`` are ours,
so nova-scheduler learns of them through this filter, enabled with::

    [filter_scheduler]
    available_filters = nova.scheduler.filters.all_filters
    available_filters = nova_domain_meta.scheduler.PowerMetricsFilter
    enabled_filters = ...,PowerMetricsFilter

It decides once per request: the flavor's extra spec, else the image
property as Nova kept it in the instance's system metadata (the build
request's copy for a new server), and, when power metrics are asked for,
one placement query for the providers with ``COMPUTE_SHARE_LOCAL_FS``.
Requests that do not ask cost one database read and nothing else.
"""

from nova import context as nova_context
from nova import exception
from nova import objects
from nova.scheduler.client import report
from nova.scheduler import filters
from oslo_log import log as logging

from nova_domain_meta.share import request

LOG = logging.getLogger(__name__)

#: First placement microversion with ``required=`` on resource providers.
PLACEMENT_VERSION = '1.18'


def _image_value(ctx, instance_uuid):
    """``hw_power_metrics`` of the instance's image, or None."""
    if not instance_uuid:
        return None
    try:
        build = objects.BuildRequest.get_by_instance_uuid(ctx, instance_uuid)
        return request.image_value(build.instance.system_metadata)
    except exception.BuildRequestNotFound:
        pass
    mapping = objects.InstanceMapping.get_by_instance_uuid(ctx,
                                                           instance_uuid)
    with nova_context.target_cell(ctx, mapping.cell_mapping) as cctxt:
        instance = objects.Instance.get_by_uuid(
            cctxt, instance_uuid, expected_attrs=['system_metadata'])
    return request.image_value(instance.system_metadata)


class PowerMetricsFilter(filters.BaseHostFilter):
    """Only hosts reporting ``COMPUTE_SHARE_LOCAL_FS`` for power metrics."""

    # A rebuild stays on its host; nova-compute refuses one it cannot
    # serve with a clear fault.
    RUN_ON_REBUILD = False

    def wanted(self, ctx, spec_obj):
        extra_specs = spec_obj.flavor.extra_specs if 'flavor' in spec_obj \
            else {}
        try:
            if request.decide(extra_specs, None):
                return True
            return request.decide(
                extra_specs, _image_value(ctx, spec_obj.instance_uuid))
        except request.InvalidPowerMetricsRequest as e:
            # nova-compute aborts the build with this message as its
            # fault; failing here would only say "No valid host".
            LOG.debug('Leaving a bad power metrics request to nova-compute: '
                      '%s', e.format_message())
            return False
        except Exception as e:
            LOG.warning('Cannot read the image properties of instance %s, '
                        'assuming it does not ask for power metrics: %s',
                        spec_obj.instance_uuid, e)
            return False

    def providers_with_trait(self, ctx):
        resp = report.report_client_singleton().get(
            '/resource_providers?required=%s' % request.TRAIT,
            version=PLACEMENT_VERSION, global_request_id=ctx.global_id)
        if not resp:
            LOG.warning('Placement did not list the providers with %s '
                        '(%s): no host qualifies for power metrics',
                        request.TRAIT, getattr(resp, 'status_code', None))
            return set()
        return {rp['uuid'] for rp in resp.json()['resource_providers']}

    def filter_all(self, filter_obj_list, spec_obj):
        ctx = nova_context.get_admin_context()
        if not self.wanted(ctx, spec_obj):
            return list(filter_obj_list)
        capable = self.providers_with_trait(ctx)
        hosts = [h for h in filter_obj_list if h.uuid in capable]
        if not hosts:
            LOG.info('No host reports %s for instance %s, which asks for '
                     'power metrics', request.TRAIT, spec_obj.instance_uuid)
        return hosts

    def host_passes(self, host_state, spec_obj):
        """One host at a time; the scheduler itself uses filter_all."""
        return bool(self.filter_all([host_state], spec_obj))
