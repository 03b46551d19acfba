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

# Sphinx configuration of the nova-domain-meta release notes.
#
# Built by ``tox -e releasenotes``:
#
#   sphinx-build -a -E -W -d releasenotes/build/doctrees \
#       -b html releasenotes/source releasenotes/build/html
#
# reno's ``release-notes`` directive reads the notes from git history, so a
# note shows up here only once it is committed.

# -- General configuration ------------------------------------------------

extensions = [
    'reno.sphinxext',
]

try:
    import openstackdocstheme  # noqa: F401
except ImportError:
    html_theme = 'alabaster'
else:
    extensions.append('openstackdocstheme')
    html_theme = 'openstackdocs'
    openstackdocs_repo_name = 'openstack/nova-domain-meta'
    openstackdocs_bug_project = 'nova-domain-meta'
    openstackdocs_bug_tag = 'releasenotes'
    openstackdocs_auto_name = False

source_suffix = {'.rst': 'restructuredtext'}
master_doc = 'index'

project = 'nova-domain-meta Release Notes'
copyright = 'nova-domain-meta developers'

# Release notes cover every release; they carry no version of their own.
version = ''
release = ''

exclude_patterns = []

pygments_style = 'native'

# -- Options for HTML output ----------------------------------------------

html_static_path = []

# -- Options for Internationalization output ------------------------------

locale_dirs = ['locale/']
