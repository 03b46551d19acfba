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

# Sphinx configuration of the nova-domain-meta documentation.
#
# Built by ``tox -e docs``:
#
#   sphinx-build -W -b html doc/source doc/build/html
#
# The configuration reference (configuration.rst) is rendered by
# oslo_config.sphinxext from the ``nova_domain_meta`` entry point in the
# ``oslo.config.opts`` group, so the package has to be installed in the
# environment that builds the documentation.

# -- General configuration ------------------------------------------------

extensions = [
    'oslo_config.sphinxext',
]

# openstackdocstheme is what every OpenStack project renders with; fall
# back to Sphinx's bundled theme where it is not installed, so a plain
# ``pip install sphinx`` is enough to read the docs locally.
try:
    import openstackdocstheme  # noqa: F401
except ImportError:
    html_theme = 'alabaster'
else:
    extensions.append('openstackdocstheme')
    html_theme = 'openstackdocs'
    openstackdocs_repo_name = 'openstack/nova-domain-meta'
    openstackdocs_bug_project = 'nova-domain-meta'
    openstackdocs_bug_tag = 'doc'
    openstackdocs_auto_name = False

source_suffix = {'.rst': 'restructuredtext'}
master_doc = 'index'

project = 'nova-domain-meta'
copyright = 'nova-domain-meta developers'

# openstackdocstheme fills these in from the installed package (pbr).
version = ''
release = ''

exclude_patterns = []

pygments_style = 'native'

# Literal blocks are shown as they are unless they name a language (the XML
# examples and the RelaxNG schemas do, and must lex cleanly under -W).
highlight_language = 'none'

# -- Options for HTML output ----------------------------------------------

html_static_path = []
html_title = 'nova-domain-meta'
