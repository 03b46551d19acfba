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

"""Options of the plugin, group ``[nova_domain_meta]`` of tempest.conf."""

from oslo_config import cfg

group = cfg.OptGroup(
    name='nova_domain_meta',
    title='nova-domain-meta',
    help='What the cloud under test offers of nova-domain-meta, and how '
         'tests reach the domain XML on compute hosts.')

opts = [
    cfg.BoolOpt(
        'enabled',
        default=False,
        help='nova-compute on the cloud under test runs '
             '[DEFAULT] compute_driver = domain_meta.LibvirtDriver. Every '
             'test of this plugin is skipped unless this is set.'),
    cfg.BoolOpt(
        'power_metrics',
        default=False,
        help='The power-metrics share is enabled: nova-api has the '
             'hw:power_metrics validator, nova-scheduler the '
             'PowerMetricsFilter, and compute hosts report the '
             'COMPUTE_SHARE_LOCAL_FS trait and have [domain_meta] '
             'share_local_fs set.'),
    cfg.StrOpt(
        'mount_tag',
        default='scaphandre',
        help='virtiofs mount tag of the power-metrics share, the value of '
             '[domain_meta] share_local_fs on the compute hosts.'),
    cfg.StrOpt(
        'guest_mount_point',
        default='/var/scaphandre',
        help='Where the guest test mounts the share.'),
    cfg.StrOpt(
        'share_view_dir',
        help='[domain_meta] share_view_dir of the compute hosts. When set, '
             'the source directory of the virtiofs filesystem in the domain '
             'XML must lie below it.'),
    cfg.ListOpt(
        'share_flavor_extra_specs',
        default=[],
        help='Extra specs given to the flavor of share tests besides '
             'hw:power_metrics=true, as key=value items, for clouds that '
             'need more for virtiofs (for example hw:mem_page_size=large).'),
    cfg.BoolOpt(
        'guest_share_checks',
        default=True,
        help='Mount the share inside a guest and check that a write fails. '
             'Needs [compute] image_ref to be an image whose kernel has '
             'virtiofs, reachable over SSH ([validation] run_validation).'),
    cfg.StrOpt(
        'guest_check_method',
        default='ssh',
        choices=[
            ('ssh', 'Mount and write over SSH; needs [validation] '
                    'run_validation.'),
            ('console', 'Read the results the image printed at boot '
                        'from the server\'s console log (compute API); '
                        'needs [compute-feature-enabled] console_output.'),
        ],
        help='How the guest test learns what the guest sees of the share. '
             'With "console", [compute] image_ref must run the plugin\'s '
             'console check at boot (nova_domain_meta_tempest_plugin.'
             'common.guest.console_check_script, for mount_tag and '
             'guest_mount_point), as the images of the cloud tier of '
             'nova-domain-meta do; for clouds whose guests tempest cannot '
             'reach over SSH.'),
    cfg.StrOpt(
        'domain_xml_command',
        help='Command run on the tempest host that prints the XML of a '
             'libvirt domain. {domain} is replaced by the libvirt domain '
             'name, {host} by the nova-compute host name. Examples: '
             '"virsh -r -c qemu:///system dumpxml {domain}" where tempest '
             'runs on the compute host; "ssh {host} sudo docker exec '
             'nova_libvirt virsh dumpxml {domain}" for containers. When '
             'unset, the compute_ssh_* options are used.'),
    cfg.StrOpt(
        'compute_ssh_user',
        help='User to SSH to compute hosts as, to run virsh there. Tests '
             'that read domain XML are skipped when neither this nor '
             'domain_xml_command is set.'),
    cfg.StrOpt(
        'compute_ssh_key_path',
        help='Private key for compute_ssh_user.'),
    cfg.PortOpt(
        'compute_ssh_port',
        default=22,
        help='SSH port of the compute hosts.'),
    cfg.DictOpt(
        'compute_ssh_addresses',
        default={},
        help='Address to SSH to, by nova-compute host name '
             '(host1:192.0.2.11,host2:192.0.2.12). Hosts not listed are '
             'reached by their name.'),
    cfg.StrOpt(
        'virsh_command',
        default='sudo virsh',
        help='How to run virsh over SSH on a compute host, for example '
             '"sudo docker exec nova_libvirt virsh".'),
]


def list_opts():
    """The plugin's options, for tempest's sample configuration."""
    return [(group.name, opts)]
