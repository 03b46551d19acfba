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

"""``nova-domain-meta``: Nova's view of every guest, straight from libvirt.

The operator's tool for when Nova is down: it reads the metadata Nova (and
this plugin) wrote into each domain through a read-only libvirt connection
and never talks to Nova's API, database or message queue.

It is a cliff application, like OpenStack's own clients, so output
formats (``-f table|json|yaml|csv|value``), column selection (``-c``) and
``--help`` behave as operators know them.  Commands are registered in two
ways: explicitly here (:data:`COMMANDS`), so the tool works from a source
tree or a wheel whose entry points were not (re)generated, and from the
``nova_domain_meta.cli`` entry point group, so other packages can add
commands.  An explicit registration wins over an entry point of the same
name.
"""

import gc
import logging
import sys

from cliff import app
from cliff import commandmanager

from nova_domain_meta.cmd import commands
from nova_domain_meta.cmd import connection
from nova_domain_meta import version

#: Entry point group commands are loaded from.
NAMESPACE = 'nova_domain_meta.cli'

#: Commands always available, whatever the installed entry points say.
COMMANDS = {
    'list': commands.ListDomains,
    'show': commands.ShowDomain,
    'check': commands.CheckDomains,
}

DESCRIPTION = ("Show what Nova knows about each libvirt guest on this host, "
               "read from the guests' own metadata; works while Nova is "
               "down.")


def command_manager():
    """Return a CommandManager holding every command of the tool."""
    manager = commandmanager.CommandManager(NAMESPACE)
    for name, command in COMMANDS.items():
        manager.add_command(name, command)
    return manager


class NovaDomainMetaApp(app.App):
    """The ``nova-domain-meta`` application."""

    NAME = 'nova-domain-meta'
    LOG = logging.getLogger(NAME)
    #: The console handler the last run added to the root logger.
    _console_handler = None

    def __init__(self, stdin=None, stdout=None, stderr=None,
                 connection_factory=None):
        """``connection_factory(uri)`` returns a libvirt connection.

        It defaults to :func:`nova_domain_meta.cmd.connection.open_connection`
        (read-only, clear errors); tests and other tools may pass their own.
        """
        super().__init__(description=DESCRIPTION,
                         version=version.version_string(),
                         command_manager=command_manager(),
                         stdin=stdin, stdout=stdout, stderr=stderr,
                         deferred_help=True)
        # cliff registered its own help command; ours says the same
        # without a scan of every installed distribution first.
        self.command_manager.add_command('help', commands.HelpCommand)
        self.connection_factory = (connection_factory or
                                   connection.open_connection)
        self._connection = None

    def build_option_parser(self, description, version,
                            argparse_kwargs=None):
        # Name the program in usage lines whatever script or module runs us.
        argparse_kwargs = dict(argparse_kwargs or {}, prog=self.NAME)
        parser = super().build_option_parser(description, version,
                                             argparse_kwargs)
        parser.add_argument(
            '--connect', metavar='URI', dest='uri',
            default=connection.DEFAULT_URI,
            help='libvirt connection URI (default: %(default)s, the one '
                 'nova-compute uses). The connection is always read-only.')
        return parser

    def configure_logging(self):
        # cliff adds a console handler to the root logger on every run;
        # replace the previous one instead, so applications run one after
        # another in a process (tests, other tools) print each message once,
        # on their own stderr.
        root_logger = logging.getLogger('')
        cls = type(self)
        if cls._console_handler is not None:
            root_logger.removeHandler(cls._console_handler)
            cls._console_handler = None
        before = set(root_logger.handlers)
        super().configure_logging()
        added = [h for h in root_logger.handlers if h not in before]
        cls._console_handler = added[-1] if added else None

    def connection(self):
        """Return the libvirt connection, opening it on first use."""
        if self._connection is None:
            self._connection = self.connection_factory(self.options.uri)
        return self._connection

    def clean_up(self, cmd, result, err):
        if self._connection is not None:
            try:
                self._connection.close()
            except Exception:  # nosec: closing is best effort
                pass
            self._connection = None


def main(argv=None):
    """Console script entry point; returns the exit status.

    The process ends right after: nothing it leaves behind is collected.
    """
    if argv is None:
        argv = sys.argv[1:]
    status = NovaDomainMetaApp().run(argv)
    # Python's shutdown runs the cyclic garbage collector over every
    # object still alive (cliff's, stevedore's, libvirt's modules...),
    # about a tenth of the CPU "list" spends: exempt them.
    gc.freeze()
    return status


if __name__ == '__main__':
    sys.exit(main())
