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

"""Flavor extra spec validators nova-api loads from our package.

Nova's API refuses extra specs nobody registered (HTTP 400, microversion
2.86 and later).  Installing this package into nova-api's environment
registers ``hw:power_metrics`` through the entry point group
``nova.api.extra_spec_validators``; nothing else needs configuring.
"""

from nova.api.validation.extra_specs import base

from nova_domain_meta.share import request


def register():
    """Return our validators; called by nova-api for the entry point."""
    return [
        base.ExtraSpecValidator(
            name=request.EXTRA_SPEC,
            description=(
                'Share this compute node\'s power measurements for the '
                'instance, read-only, into the guest (virtiofs mount tag '
                'from the compute node\'s [domain_meta] share_local_fs), '
                'for Scaphandre running in the guest. Instances asking '
                'for it land only on hosts reporting the '
                'COMPUTE_SHARE_LOCAL_FS trait. Only supported by the '
                'nova-domain-meta libvirt driver.'),
            value={
                'type': bool,
                'description': 'Whether to share power metrics.',
            },
        ),
    ]
