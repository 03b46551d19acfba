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

"""The ``list``, ``show`` and ``check`` commands of ``nova-domain-meta``.

The read model next to this module does all reading and judging
(:mod:`.fetch`, :mod:`.list_columns`, :mod:`.show_fields`, :mod:`.checks`);
the commands only turn its plain values into cliff columns
(:mod:`.formatting`) and its errors into one-line messages and exit
statuses:

* 0: success (``check``: every Nova domain's metadata is fine);
* 1: ``check`` found missing, stale or invalid metadata;
* 2: nothing could be read (libvirt unreachable, permission denied,
  unknown or ambiguous domain, usage error).

Tracebacks are printed only with ``--debug``.
"""

import io
import logging

from cliff import help as cliff_help
from cliff import lister
from cliff import show

from nova_domain_meta.cmd import checks
from nova_domain_meta.cmd import errors
from nova_domain_meta.cmd import facts
from nova_domain_meta.cmd import fetch
from nova_domain_meta.cmd import formatting
from nova_domain_meta.cmd import list_columns
from nova_domain_meta.cmd import show_fields
from nova_domain_meta.cmd import versions

LOG = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_ERROR = 2

CHECK_COLUMNS = ('Name', 'UUID', 'Display Name', 'Metadata', 'Status',
                 'Problems')


class _OwnEpilog(object):
    """A command of the application's own distribution.

    cliff's ``get_epilog`` appends "This command is provided by the X
    plugin" when a command comes from another distribution than the
    application.  To find out it maps every module of every installed
    distribution (``importlib.metadata.packages_distributions``), 0.13 to
    0.2 s with Nova and its dependencies installed (more with more
    packages), and it does so on every run, because the command's parser
    is built to parse its arguments.
    Our commands ship in the application's own distribution, so the
    sentence never applies to them (when the scan ran, it printed it only
    where the application ran as ``python -m``, a module named
    ``__main__`` that no distribution owns).  Epilogs of command hooks are
    kept, joined as cliff joins them; commands that other packages add
    through the entry point group keep cliff's own behaviour.
    """

    def get_epilog(self):
        parts = [self._epilog or '']
        for hook in self._hooks:
            if hook.obj is not None:
                epilog = hook.obj.get_epilog()
                if epilog is not None:
                    parts.append(epilog)
        return '\n\n'.join(parts)


class HelpCommand(_OwnEpilog, cliff_help.HelpCommand):
    """print detailed help for another command"""

    # ``help list`` and ``list --help`` (which cliff turns into the former)
    # build the help command's parser first: without this, the scan above.


class _ReadsLibvirt(_OwnEpilog):
    """Turn reading errors into a message and exit status 2."""

    def run(self, parsed_args):
        try:
            return super().run(parsed_args)
        except errors.ReadError as e:
            LOG.error('%s', e)
            return EXIT_ERROR
        except BrokenPipeError:
            # Output piped into head(1) or less(1); cliff exits quietly.
            raise
        except Exception as e:
            # Anything else is a bug; say so in one line unless debugging.
            if self.app_args.debug:
                LOG.exception('Unexpected error')
            else:
                LOG.error('Unexpected error: %s (run with --debug for '
                          'details)', e)
            return EXIT_ERROR

    def produce_output(self, parsed_args, column_names, data):
        # cliff's formatters write piece by piece (JSON: one write per
        # token, 70,000 for a thousand domains); a terminal makes a
        # system call of each line, an unbuffered stdout
        # (PYTHONUNBUFFERED) of each piece.  Format into memory, write
        # once.
        stdout = self.app.stdout
        self.app.stdout = formatted = io.StringIO()
        try:
            result = super().produce_output(parsed_args, column_names, data)
        finally:
            self.app.stdout = stdout
        stdout.write(formatted.getvalue())
        return result

    def cell_maker(self, parsed_args):
        """Return ``cell(name, value)``: what cliff gets for each value.

        Columns (:mod:`.formatting`) for tables and the like.  JSON and
        YAML print a plain value exactly as its column would, so ``list``
        skips fourteen thousand column objects for a thousand domains;
        sorting (which orders missing values through the columns) and
        command hooks (which may expect columns) still get columns.
        """
        exact = formatting.exact(parsed_args)
        if exact and not getattr(parsed_args, 'sort_columns', None) \
                and not any(True for _hook in self._hooks):
            return lambda name, value: value
        return lambda name, value: formatting.column(name, value, exact)

    def domains(self):
        """Every readable domain; warn about those that vanished."""
        listing = fetch.read_domains(self.app.connection())
        for name in listing.vanished:
            LOG.warning('Domain %s disappeared while being read; skipped.',
                        name)
        return listing.domains


class ListDomains(_ReadsLibvirt, lister.Lister):
    """List every libvirt domain with what Nova knows about it.

    One row per domain, read from the metadata in its XML: the instance
    UUID and display name, flavor, project, user, fixed and floating IPs,
    root disk (image or volume) and power-metrics share.  Domains Nova
    never owned are listed with Metadata "non-nova" unless --nova-only.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--project', metavar='<project>',
            help='Only domains of this project (name or ID).')
        parser.add_argument(
            '--user', metavar='<user>',
            help='Only domains of this user (name or ID).')
        parser.add_argument(
            '--flavor', metavar='<flavor>',
            help='Only domains of this flavor (name or ID).')
        parser.add_argument(
            '--ip', metavar='<address>',
            help='Only domains with this fixed or floating address, or an '
                 'address in this network (CIDR, e.g. 10.0.0.0/24).')
        parser.add_argument(
            '--name', metavar='<pattern>',
            help='Only domains whose display name or libvirt name matches '
                 'this shell pattern (e.g. "web-*").')
        parser.add_argument(
            '--nova-only', action='store_true',
            help='Hide domains Nova does not own.')
        return parser

    def columns_needed(self, parsed_args):
        """The columns whose values the output can show.

        With ``-c``, cliff prints only the columns asked for, but sorts
        (``--sort-column``) before it selects and hands command hooks
        every column.  So unless a hook is installed, only the columns
        named by ``-c`` or ``--sort-column`` (matched as cliff matches
        them) are read: ``-c Name -c State`` does not parse any metadata
        element.  The rows keep every column, None where not read, and
        cliff leaves those out.
        """
        if not parsed_args.columns or any(True for _hook in self._hooks):
            return list_columns.LIST_COLUMNS
        named = {self._normalize_column_name(c)
                 for c in parsed_args.columns + parsed_args.sort_columns}
        return tuple(c for c in list_columns.LIST_COLUMNS
                     if self._normalize_column_name(c) in named)

    def take_action(self, parsed_args):
        needed = self.columns_needed(parsed_args)
        cell = self.cell_maker(parsed_args)
        rows = []
        for domain in self.domains():
            if not list_columns.matches(
                    domain, project=parsed_args.project,
                    user=parsed_args.user, flavor_ref=parsed_args.flavor,
                    ip=parsed_args.ip, name=parsed_args.name,
                    nova_only=parsed_args.nova_only):
                continue
            row = list_columns.list_row(domain, needed)
            rows.append(tuple(cell(c, row[c]) if c in row else None
                              for c in list_columns.LIST_COLUMNS))
        return list_columns.LIST_COLUMNS, rows


class ShowDomain(_ReadsLibvirt, show.ShowOne):
    """Show everything the metadata of one domain says.

    The domain is named by its libvirt name (instance-0000002a), its UUID
    (the Nova instance UUID) or its Nova display name.  Shown: owner,
    flavor with extra specs, image with every property, root disk, ports
    with addresses, MAC, network and VIF type, block devices, tags, the
    versions that wrote the metadata, and what "check" would report.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            'domain', metavar='<domain>',
            help='libvirt name, UUID or Nova display name of the domain.')
        return parser

    def take_action(self, parsed_args):
        domain = fetch.find_domain(self.app.connection(), parsed_args.domain)
        problems = checks.check_domain(
            domain, versions.running_nova_version(),
            versions.running_plugin_version())
        fields = show_fields.show_fields(domain, problems)
        exact = formatting.exact(parsed_args)
        return tuple(fields), tuple(formatting.column(name, value, exact)
                                    for name, value in fields.items())


class CheckDomains(_ReadsLibvirt, lister.Lister):
    """Check every domain's metadata; exit 1 if any is not right.

    A Nova domain is reported when its nova:instance or ndm:instance
    element is missing, does not match the schema shipped with
    nova-domain-meta, or is stale: written by a Nova older than the one
    installed here (or in Nova's old 1.0 namespace), or by an older
    nova-domain-meta.  Domains Nova does not own are not checked.  Exit
    status: 0 all fine, 1 problems found, 2 could not check.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--all', action='store_true', dest='show_all',
            help='List every domain, also those without problems and '
                 'those Nova does not own.')
        parser.add_argument(
            '--nova-version', metavar='<version>',
            help='Treat metadata written by a Nova older than this as '
                 'stale (default: the version of the Nova installed '
                 'alongside, with its distribution suffix).')
        parser.add_argument(
            '--plugin-version', metavar='<version>',
            help='Treat metadata written by a nova-domain-meta older than '
                 'this as stale (default: the installed version).')
        return parser

    def take_action(self, parsed_args):
        nova_version = (parsed_args.nova_version or
                        versions.running_nova_version())
        plugin_version = (parsed_args.plugin_version or
                          versions.running_plugin_version())
        self.problems_found = False
        exact = formatting.exact(parsed_args)
        rows = []
        for domain in self.domains():
            problems = checks.check_domain(domain, nova_version,
                                           plugin_version)
            self.problems_found = self.problems_found or bool(problems)
            if not problems and not parsed_args.show_all:
                continue
            row = (domain.name, domain.uuid, facts.display_name(domain),
                   domain.kind, checks.status(domain, problems),
                   [str(p) for p in problems])
            rows.append(tuple(formatting.column(name, value, exact)
                              for name, value in zip(CHECK_COLUMNS, row)))
        return CHECK_COLUMNS, rows

    def run(self, parsed_args):
        self.problems_found = False
        result = super().run(parsed_args)
        if result == EXIT_OK and self.problems_found:
            return EXIT_PROBLEMS
        return result
