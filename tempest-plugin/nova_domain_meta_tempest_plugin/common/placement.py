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

"""Compute node resource providers and their traits, through placement."""

TRAIT = 'COMPUTE_SHARE_LOCAL_FS'


def compute_providers(hypervisors_client, providers_client):
    """{hypervisor hostname: provider} of every enabled, up hypervisor.

    nova-compute names the resource provider of a compute node after the
    node's hypervisor hostname.
    """
    hypervisors = hypervisors_client.list_hypervisors(
        detail=True)['hypervisors']
    found = {}
    for hypervisor in hypervisors:
        if (hypervisor.get('status') != 'enabled' or
                hypervisor.get('state') != 'up'):
            continue
        name = hypervisor['hypervisor_hostname']
        providers = providers_client.list_resource_providers(
            name=name)['resource_providers']
        found[name] = providers[0] if len(providers) == 1 else None
    return found


def providers_without_trait(providers, providers_client, trait=TRAIT):
    """Hostnames whose provider is missing or lacks ``trait``."""
    missing = []
    for name, provider in sorted(providers.items()):
        if provider is None:
            missing.append(name)
            continue
        traits = providers_client.list_resource_provider_traits(
            provider['uuid'])['traits']
        if trait not in traits:
            missing.append(name)
    return missing
