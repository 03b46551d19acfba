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

"""Running the plugin's tempest tests against recorded responses.

``data/recorded.json`` holds what Nova 34's API and placement answered
(tools/gen_tempest_fixtures.py).  A test builds tempest's real service
clients on a transport that answers each request from a chosen set of
recorded exchanges, hands them to an instance of a tempest test class, and
calls the test method: the method's own logic, tempest's URL building,
response schema validation and error mapping all run; only the network is
replaced.  Fixtures and cleanups the tempest test registers belong to the
unit test.
"""

import json
import os

import fixtures
from tempest import config
from tempest.tests import fake_config
from tempest.tests.lib import fake_auth_provider
from tempest.tests.lib import fake_http
import testtools

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data')


def read_data(name):
    with open(os.path.join(DATA, name), encoding='utf-8') as f:
        return f.read()


def recorded():
    """The recorded exchanges, by label."""
    return json.loads(read_data('recorded.json'))['exchanges']


class UnexpectedRequest(AssertionError):
    """A request no chosen recording answers."""


class RecordedTransport(object):
    """Answers requests with recorded responses, matched by method and path.

    Paths compare without their leading slash: tempest's compute clients
    request 'flavors/...', placement's '/resource_providers...'.
    """

    def __init__(self, exchanges):
        self.responses = {}
        for exchange in exchanges:
            key = (exchange['method'], exchange['path'].lstrip('/'))
            self.responses[key] = exchange
        self.requests = []

    def raw_request(self, url, method, headers=None, body=None,
                    chunked=False, log_req_body=None):
        path = url.lstrip('/')
        self.requests.append((method, path, body))
        try:
            exchange = self.responses[(method, path)]
        except KeyError:
            raise UnexpectedRequest('%s %s' % (method, path))
        response_headers = {'content-type': 'application/json'}
        response_headers.update(exchange.get('headers') or {})
        response = fake_http.fake_http_response(
            response_headers, status=exchange['status'])
        text = ('' if exchange['body'] is None
                else json.dumps(exchange['body']))
        return response, text.encode('utf-8')

    def client(self, client_class, service):
        """A tempest service client of ``client_class`` on this transport."""
        instance = client_class(fake_auth_provider.FakeAuthProvider(),
                                service, 'regionOne')
        instance.raw_request = self.raw_request
        return instance


class TestCase(testtools.TestCase):
    """tempest.conf as tempest's unit tests fake it, plugin group included."""

    def setUp(self):
        super().setUp()
        self.conf_fixture = self.useFixture(fake_config.ConfigFixture())
        # As tempest's unit tests do: tempest.config.CONF, created on first
        # use, reads the options registered above instead of a file.
        self.useFixture(fixtures.MonkeyPatch(
            'tempest.config.TempestConfigPrivate', fake_config.FakePrivate))
        self.conf = config.CONF
        self.flags(enabled=True, power_metrics=True)

    def flags(self, group='nova_domain_meta', **values):
        self.conf_fixture.config(group=group, **values)

    def tempest_test(self, test_class, method, **attributes):
        """An instance of a tempest test, attributes set, ready to call."""
        test = test_class(method)
        test.useFixture = self.useFixture
        test.addCleanup = self.addCleanup
        for name, value in attributes.items():
            setattr(test, name, value)
        return test
