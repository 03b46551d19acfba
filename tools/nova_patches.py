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

"""Build, check and export the Nova patch series in ``patches/nova``.

The series is a list of ``git format-patch`` files against Nova 34.0.0 as
published on PyPI (the sdist, which carries Nova's tests, tox.ini and
release notes).  ``patches/nova/README.rst`` explains the workflow; in
short::

    python tools/nova_patches.py tree ~/nova-series   # a git tree to hack on
    python tools/nova_patches.py export ~/nova-series # back to patch files
    python tools/nova_patches.py check                # what CI runs
    python tools/nova_patches.py check --only 3       # one commit's checks

Nova's tests run in their own virtual environment (``.cache/nova-venv``):
Nova's requirements and test requirements, constrained by this
repository's upper-constraints.txt, and never this plugin, whose entry
points would otherwise leak into Nova's tests.
"""

import argparse
import dataclasses
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PATCH_DIR = os.path.join(ROOT, 'patches', 'nova')
SERIES = os.path.join(PATCH_DIR, 'series')
CACHE = os.path.join(ROOT, '.cache')
UPPER_CONSTRAINTS = os.path.join(ROOT, 'upper-constraints.txt')

NOVA_VERSION = '34.0.0'
SDIST_NAME = 'nova-%s.tar.gz' % NOVA_VERSION
SDIST_SHA256 = (
    '919eef77cda4ce0cc4746a5853b5d9341ebd0ae37bc8b1939eb77d17727c00df')
#: The tag of the unpatched import in every tree this tool makes.
BASE_TAG = NOVA_VERSION
# A fixed identity and date for the import commit, so every tree made from
# the same sdist has the same base commit id.
BASE_IDENTITY = {
    'GIT_AUTHOR_NAME': 'OpenStack', 'GIT_AUTHOR_EMAIL':
    'openstack-discuss@lists.openstack.org',
    'GIT_COMMITTER_NAME': 'OpenStack', 'GIT_COMMITTER_EMAIL':
    'openstack-discuss@lists.openstack.org',
    'GIT_AUTHOR_DATE': '2026-03-31T00:00:00Z',
    'GIT_COMMITTER_DATE': '2026-03-31T00:00:00Z',
}

#: Nova's test packages run in full after the whole series.
FINAL_UNIT_PACKAGES = (
    'nova.tests.unit.virt.libvirt',
    'nova.tests.unit.objects',
    'nova.tests.unit.api.validation',
    'nova.tests.unit.scheduler',
)

# Nova's own test environment (its tox.ini [testenv] and unit/functional
# sections), minus the locale, which need not exist on this machine.
NOVA_TEST_ENV = {
    'LANGUAGE': 'en_US',
    'LC_ALL': 'C.UTF-8',
    'OS_STDOUT_CAPTURE': '1',
    'OS_STDERR_CAPTURE': '1',
    'OS_TEST_TIMEOUT': '160',
    'PYTHONDONTWRITEBYTECODE': '1',
    'NOVA_RAISE_ON_GREENLET_LEAK': 'True',
    'OS_NOVA_DISABLE_EVENTLET_PATCHING': 'False',
    # subunit-trace: print failures and the totals, not every test.
    'TRACE_FAILONLY': '1',
}

# Packages Nova pins exactly in its own test-requirements (OpenStack keeps
# linters out of upper-constraints for this reason); our constraints pin
# them for the plugin's own pep8 job.
_NOVA_PINNED = re.compile(r'^([A-Za-z0-9_.-]+)==', re.M)

# Release note sections reno knows.
RENO_SECTIONS = {'prelude', 'features', 'issues', 'upgrade', 'deprecations',
                 'critical', 'security', 'fixes', 'other'}

SUBJECT_RE = re.compile(r'^[a-z][A-Za-z0-9_./-]*(, [a-z][A-Za-z0-9_./-]*)*'
                        r': \S')


class HarnessError(Exception):
    """A step of the harness failed; the message says which and why."""


def log(message):
    print('nova-patches: %s' % message, flush=True)


def run(cmd, cwd=None, env=None, capture=False, check=True):
    """Run ``cmd``; return its CompletedProcess (stdout+stderr if captured)."""
    result = subprocess.run(
        cmd, cwd=cwd, env=env, text=True,
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.STDOUT if capture else None)
    if check and result.returncode != 0:
        output = result.stdout if capture else ''
        raise HarnessError('%s failed (exit %d)%s' % (
            ' '.join(cmd), result.returncode,
            ':\n' + output if output else ''))
    return result


def git(tree, *args, capture=True, check=True, env=None):
    full_env = dict(os.environ, **(env or {}))
    return run(['git', '-c', 'safe.directory=*', *args], cwd=tree,
               env=full_env, capture=capture, check=check)


# The Nova sdist and the virtual environment Nova's tests run in.


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def fetch_sdist():
    """Return the path of Nova's sdist, downloading it once into .cache."""
    directory = os.path.join(CACHE, 'nova-sdist')
    path = os.path.join(directory, SDIST_NAME)
    if not os.path.exists(path):
        os.makedirs(directory, exist_ok=True)
        log('downloading %s from PyPI' % SDIST_NAME)
        run([sys.executable, '-m', 'pip', 'download', '--quiet',
             '--no-binary', ':all:', '--no-deps', '--dest', directory,
             'nova==%s' % NOVA_VERSION])
    found = sha256_of(path)
    if found != SDIST_SHA256:
        raise HarnessError('%s has sha256 %s, expected %s; delete it to '
                           'download it again' % (path, found, SDIST_SHA256))
    return path


def nova_constraints(requirement_files):
    """Write and return our constraints minus what Nova pins itself."""
    pinned = set()
    for name in requirement_files:
        with open(name) as f:
            pinned.update(n.lower() for n in _NOVA_PINNED.findall(f.read()))
    path = os.path.join(CACHE, 'nova-constraints.txt')
    with open(UPPER_CONSTRAINTS) as f, open(path, 'w') as out:
        for line in f:
            name = line.split('==')[0].strip().lower()
            if name not in pinned:
                out.write(line)
    return path


def ensure_venv(venv, tree):
    """Create or update the virtual environment for Nova's tests.

    Nova's requirements and test requirements from ``tree`` (plus
    openstack-placement, which Nova's tox.ini adds for functional tests)
    under our constraints.  Reinstalls only when those inputs change.
    """
    python = os.path.join(venv, 'bin', 'python')
    requirements = [os.path.join(tree, 'requirements.txt'),
                    os.path.join(tree, 'test-requirements.txt')]
    constraints = nova_constraints(requirements)
    stamp_inputs = b''.join(open(p, 'rb').read()
                            for p in requirements + [constraints])
    stamp = hashlib.sha256(stamp_inputs).hexdigest()
    stamp_file = os.path.join(venv, '.nova-deps-stamp')
    if not os.path.exists(python):
        log('creating %s' % venv)
        run([sys.executable, '-m', 'venv', venv])
    if _read(stamp_file) != stamp:
        log('installing Nova %s test requirements into %s' % (
            NOVA_VERSION, venv))
        run([python, '-m', 'pip', 'install', '--quiet',
             '--disable-pip-version-check', '-c', constraints,
             '-r', requirements[0], '-r', requirements[1],
             'openstack-placement'])
        with open(stamp_file, 'w') as f:
            f.write(stamp)
    return python


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return None


# The series.


def read_series():
    """Return the patch file names listed in ``series``, in order.

    Quilt's format: one file name per line; blank lines and ``#`` comments
    are ignored.  Every listed file must exist and every ``*.patch`` file
    in the directory must be listed.
    """
    names = []
    with open(SERIES) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line:
                names.append(line)
    missing = [n for n in names if not os.path.exists(
        os.path.join(PATCH_DIR, n))]
    unlisted = sorted(set(n for n in os.listdir(PATCH_DIR)
                          if n.endswith('.patch')) - set(names))
    duplicated = sorted(set(n for n in names if names.count(n) > 1))
    if missing or unlisted or duplicated:
        raise HarnessError('series file and patches/nova disagree: missing '
                           '%s, not listed %s, listed twice %s' % (
                               missing, unlisted, duplicated))
    return names


def select(names, spec):
    """Return the 1-based position of a patch given by number or name."""
    if spec.isdigit():
        position = int(spec)
        if not 1 <= position <= len(names):
            raise HarnessError('no patch number %s; the series has %d' % (
                spec, len(names)))
        return position
    matches = [i for i, n in enumerate(names, 1) if n.startswith(spec)]
    if len(matches) != 1:
        raise HarnessError('%r names %d patches' % (spec, len(matches)))
    return matches[0]


def make_tree(dest, sdist):
    """Unpack the sdist into a fresh git repository at ``dest``."""
    if os.path.exists(dest):
        shutil.rmtree(dest)
    os.makedirs(dest)
    prefix = 'nova-%s/' % NOVA_VERSION
    with tarfile.open(sdist) as tar:
        members = []
        for member in tar.getmembers():
            if not member.name.startswith(prefix):
                continue
            member.name = member.name[len(prefix):]
            members.append(member)
        tar.extractall(dest, members=members, filter='data')
    git(dest, 'init', '--quiet', '--initial-branch=master')
    git(dest, 'config', 'user.name', 'nova-domain-meta series')
    git(dest, 'config', 'user.email', 'nova-domain-meta@localhost')
    # Generated files the harness and tests create must not show up as
    # changes of a commit.
    with open(os.path.join(dest, '.git', 'info', 'exclude'), 'a') as f:
        f.write('.stestr/\n*.pyc\n__pycache__/\n')
    git(dest, 'add', '--all', '--force')
    git(dest, 'commit', '--quiet', '--no-verify', '-m',
        'Nova %s as published on PyPI (sdist)' % NOVA_VERSION,
        env=BASE_IDENTITY)
    git(dest, 'tag', BASE_TAG)


@dataclasses.dataclass
class PatchFile:
    """What a format-patch file says it changes."""

    name: str
    subject: str
    body: str
    # {path: post-image blob id, or None when the file is deleted}
    blobs: dict

    @classmethod
    def read(cls, name):
        with open(os.path.join(PATCH_DIR, name), encoding='utf-8') as f:
            text = f.read()
        header, _, rest = text.partition('\n\n')
        subject = re.search(r'^Subject: (?:\[PATCH[^]]*\] )?(.*(?:\n .*)*)',
                            header, re.M)
        if subject is None:
            raise HarnessError('%s: no Subject header' % name)
        body = re.split(r'\n---\n|\ndiff --git ', rest, maxsplit=1)[0]
        blobs = {}
        path = None
        for line in text.splitlines():
            match = re.match(r'^diff --git a/(\S+) b/(\S+)$', line)
            if match:
                path = match.group(2)
                continue
            match = re.match(r'^index ([0-9a-f]+)\.\.([0-9a-f]+)', line)
            if match and path:
                new = match.group(2)
                blobs[path] = None if set(new) == {'0'} else new
                path = None
        return cls(name, ' '.join(subject.group(1).split()), body, blobs)


def check_message(patch):
    """Return problems with the commit message Nova's Gerrit would flag."""
    problems = []
    if len(patch.subject) > 72:
        problems.append('subject longer than 72 characters')
    if not SUBJECT_RE.match(patch.subject):
        problems.append('subject does not start with "area: "')
    if patch.subject.endswith('.'):
        problems.append('subject ends with a period')
    lines = [line for line in patch.body.strip().splitlines()]
    prose = [line for line in lines
             if not re.match(r'^[A-Za-z-]+: ', line) and line.strip()]
    if len(prose) < 2:
        problems.append('body does not explain why (at least two lines)')
    long_lines = [line for line in lines if len(line) > 79 and
                  not re.search(r'https?://', line)]
    if long_lines:
        problems.append('body lines longer than 79 characters: %r' %
                        long_lines[:2])
    if not re.search(r'^Change-Id: I[0-9a-f]{40}$', patch.body, re.M):
        problems.append('no Change-Id line')
    return problems


def apply_patch(tree, patch):
    """``git am`` one patch; prove the result is exactly its post-image.

    ``git am`` refuses hunks whose context does not match (it never
    fuzzes); comparing every file with the blob id the patch names proves
    that the commit is byte for byte the one that was exported.
    """
    result = git(tree, 'am', '--quiet', '--whitespace=error-all',
                 '--keep-non-patch', os.path.join(PATCH_DIR, patch.name),
                 check=False)
    if result.returncode != 0:
        git(tree, 'am', '--abort', check=False)
        raise HarnessError('%s does not apply:\n%s' % (patch.name,
                                                       result.stdout))
    for path, blob in patch.blobs.items():
        found = git(tree, 'rev-parse', '--verify', '--quiet',
                    'HEAD:%s' % path, check=False).stdout.strip()
        if blob is None:
            if found:
                raise HarnessError('%s: %s should be deleted' % (
                    patch.name, path))
        elif not found.startswith(blob):
            raise HarnessError('%s: %s is %s after applying, the patch '
                               'says %s' % (patch.name, path, found, blob))


def changed_files(tree):
    out = git(tree, 'diff', '--name-only', '--diff-filter=ACMR',
              'HEAD~1', 'HEAD').stdout
    return [line for line in out.splitlines() if line]


def check_release_notes(tree, files):
    problems = []
    for path in files:
        if not (path.startswith('releasenotes/notes/') and
                path.endswith('.yaml')):
            continue
        import yaml  # In both environments: Nova and oslo need PyYAML.
        with open(os.path.join(tree, path)) as f:
            try:
                note = yaml.safe_load(f)
            except yaml.YAMLError as e:
                problems.append('%s: %s' % (path, e))
                continue
        if not isinstance(note, dict) or not note:
            problems.append('%s: not a reno note' % path)
            continue
        unknown = set(note) - RENO_SECTIONS
        if unknown:
            problems.append('%s: unknown sections %s' % (path,
                                                         sorted(unknown)))
        for section, value in note.items():
            if section == 'prelude':
                ok = isinstance(value, str)
            else:
                ok = isinstance(value, list) and all(
                    isinstance(v, str) and v.strip() for v in value)
            if not ok:
                problems.append('%s: section %s is not a list of text' % (
                    path, section))
    return problems


def flake8(python, tree, files):
    """Run flake8 with Nova's configuration on the Python files given.

    From the tree's root, so flake8 reads Nova's tox.ini ([flake8] and
    its N3xx local checks in nova/hacking); the same files Nova's
    pre-commit hacking hook checks (not doc/, releasenotes/, tools/).
    """
    targets = [f for f in files if f.endswith('.py') and
               not f.startswith(('doc/', 'releasenotes/', 'tools/'))]
    if targets:
        result = run([python, '-m', 'flake8', *targets], cwd=tree,
                     capture=True, check=False)
        if result.returncode != 0:
            raise HarnessError('flake8 (Nova configuration):\n' +
                               result.stdout)
    return targets


def module_of(path):
    return path[:-3].replace('/', '.')


def test_modules(files, kind):
    """Return the test modules among ``files`` of ``kind`` (unit/...)."""
    prefix = 'nova/tests/%s/' % kind
    return sorted(module_of(f) for f in files
                  if f.startswith(prefix) and
                  re.search(r'/test_[^/]*\.py$', f))


def common_package(modules):
    """The deepest package holding every module, as a directory path."""
    parts = [m.split('.')[:-1] for m in modules]
    common = os.path.commonprefix(parts)
    return './' + '/'.join(common)


def changed_tests(tree, path):
    """The tests of ``path`` the commit at HEAD adds or edits, as ids.

    A changed line belongs to the ``def test_...`` it sits in, through any
    function nested in it (a decorator to the method it decorates); lines
    outside test methods (helpers,
    base classes, imports) name no test: the full runs after the series
    cover what they change.  Returns ``module:method`` names; the runner
    finds every test of the module running that method.
    """
    diff = git(tree, 'diff', '-U0', 'HEAD~1', 'HEAD', '--', path).stdout
    lines = []
    for match in re.finditer(r'^@@ -\S+ \+(\d+)(?:,(\d+))? @@', diff,
                             re.M):
        start, count = int(match.group(1)), int(match.group(2) or 1)
        lines.extend(range(start, start + max(count, 1)))
    with open(os.path.join(tree, path), encoding='utf-8') as f:
        source = f.read().splitlines()
    module = module_of(path)
    ids = set()
    for number in lines:
        index = min(number, len(source)) - 1
        method = None
        while index >= 0:
            line = source[index]
            if line.lstrip().startswith('@') and method is None:
                # A decorator: the method is the next def below it.
                below = index
                while below < len(source) and not re.match(
                        r'^\s*(?:async )?def ', source[below]):
                    below += 1
                found = re.match(r'^(\s*)(?:async )?def (\w+)\(',
                                 source[below] if below < len(source)
                                 else '')
                if found and found.group(1) and \
                        found.group(2).startswith('test'):
                    method = found.group(2)
                elif not found or len(found.group(1)) <= 4:
                    method = ''
                index -= 1
                continue
            found = re.match(r'^(\s*)(?:async )?def (\w+)\(', line)
            if found and method is None:
                if found.group(2).startswith('test') and found.group(1):
                    method = found.group(2)
                elif len(found.group(1)) <= 4:
                    method = ''
                # else: a function nested in a test; go on to the test.
            if method is not None:
                if method:
                    ids.add('%s:%s' % (module, method))
                break
            if re.match(r'^[A-Za-z_]', line):
                break  # A module-level statement: no test holds the line.
            index -= 1
    return sorted(ids)


def run_tests(python, tree, ids, label):
    """Run the tests ``ids`` (module:method) by name; return Counts.

    With tools/nova_patches_runner.py, not stestr: for a handful of tests
    stestr's discovery (importing every module of the package) and its
    worker processes cost far more than the tests.
    """
    start = time.monotonic()
    env = dict(os.environ, **NOVA_TEST_ENV)
    env.pop('PYTHONWARNINGS', None)
    result = run([python, os.path.join(ROOT, 'tools',
                                       'nova_patches_runner.py'), *ids],
                 cwd=tree, env=env, capture=True, check=False)
    ran = _count(r'^Ran (\d+) tests?', result.stdout)
    skipped = _count(r'skipped=(\d+)', result.stdout)
    counts = Counts(run=ran, passed=ran - skipped, skipped=skipped,
                    seconds=time.monotonic() - start)
    if result.returncode != 0:
        counts.passed = 0
        counts.failed = ran or len(ids)
        raise HarnessError('%s: tests failed (%d ran):\n%s' % (
            label, ran, result.stdout[-8000:]))
    for line in re.findall(r'^selected nothing: .*$', result.stdout, re.M):
        log('%s: %s' % (label, line))
    return counts


@dataclasses.dataclass
class Counts:
    run: int = 0
    passed: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0

    def add(self, other):
        for field in dataclasses.fields(self):
            setattr(self, field.name, getattr(self, field.name) +
                    getattr(other, field.name))

    def __str__(self):
        return '%d run, %d passed, %d skipped, %d failed' % (
            self.run, self.passed, self.skipped, self.failed)


def _count(pattern, text):
    found = re.findall(pattern, text, re.M)
    return int(found[-1]) if found else 0


def stestr(python, tree, test_path, filters, concurrency, label):
    """Run tests with stestr in parallel; return Counts, raise on failure."""
    start = time.monotonic()
    env = dict(os.environ, **NOVA_TEST_ENV)
    env.pop('PYTHONWARNINGS', None)
    cmd = [python, '-m', 'stestr', '--test-path', test_path, '--top-dir',
           './', 'run', '--concurrency', str(concurrency), *filters]
    result = run(cmd, cwd=tree, env=env, capture=True, check=False)
    counts = Counts(
        run=_count(r'^Ran: (\d+) tests', result.stdout),
        passed=_count(r'^ - Passed: (\d+)', result.stdout),
        skipped=_count(r'^ - Skipped: (\d+)', result.stdout),
        failed=(_count(r'^ - Failed: (\d+)', result.stdout) +
                _count(r'^ - Unexpected Success: (\d+)', result.stdout)),
        seconds=time.monotonic() - start)
    counts.passed += _count(r'^ - Expected Fail: (\d+)', result.stdout)
    if result.returncode != 0 or counts.failed or not counts.run:
        tail = '\n'.join(result.stdout.splitlines()[-400:])
        raise HarnessError('%s: tests failed (%s):\n%s' % (label, counts,
                                                           tail))
    return counts


def in_final_run(module):
    return module.startswith(tuple(p + '.' for p in FINAL_UNIT_PACKAGES))


def check_one(python, tree, patch, position, total, concurrency):
    """Apply one patch and run its checks; return (Counts, modules).

    The tests run are the ones the commit adds or edits (targeted); the
    full runs come once, after the whole series (``final_run``): Nova's
    four unit packages and every functional module the series touches.
    ``modules`` is {'unit': [...], 'functional': [...]}: what the commit
    touches.
    """
    start = time.monotonic()
    problems = check_message(patch)
    if problems:
        raise HarnessError('%s: commit message: %s' % (patch.name,
                                                       '; '.join(problems)))
    apply_patch(tree, patch)
    files = changed_files(tree)
    problems = check_release_notes(tree, files)
    if problems:
        raise HarnessError('%s: %s' % (patch.name, '; '.join(problems)))
    linted = flake8(python, tree, files)
    counts = Counts()
    modules = {kind: test_modules(files, kind)
               for kind in ('unit', 'functional')}
    tested = []
    ids = []
    for kind, names in modules.items():
        for module in names:
            found = changed_tests(tree, module.replace('.', '/') + '.py')
            ids.extend(found)
            tested.append('%s (%d)' % (module.rsplit('.', 1)[1],
                                       len(found)))
    if ids:
        counts.add(run_tests(python, tree, ids,
                             '%s: tests it adds or edits' % patch.name))
    log('[%d/%d] %s: applied exactly; message ok; flake8 ok on %d files; '
        '%s; %.0f s' % (
            position, total, patch.name, len(linted),
            'tests it adds or edits in %s: %s' % (', '.join(tested), counts)
            if tested else 'no test modules touched',
            time.monotonic() - start))
    return counts, modules


def final_run(python, tree, touched, concurrency):
    """Nova's four unit packages and the series' functional tests.

    Unit modules the series touches outside those packages (the compute
    manager's, the compute API's, ...) are not run in full: 2,000 more
    tests would take the job past its 30 minutes on 2 cores.  The tests
    each commit adds or edits there ran with that commit.
    """
    total = Counts()

    def present(modules):
        return [m for m in sorted(modules) if os.path.exists(
            os.path.join(tree, m.replace('.', '/') + '.py'))]

    unit = stestr(python, tree, './nova/tests/unit',
                  ['^%s\\.' % re.escape(p) for p in FINAL_UNIT_PACKAGES],
                  concurrency, 'unit tests after the series')
    outside = present(m for m in touched['unit'] if not in_final_run(m))
    log('after the series: %s: %s in %.0f s (touched outside them, '
        'targeted only: %s)' % (
            ', '.join(FINAL_UNIT_PACKAGES), unit, unit.seconds,
            ', '.join(m.rsplit('.', 1)[1] for m in outside) or 'none'))
    total.add(unit)
    functional = present(touched['functional'])
    if functional:
        func = stestr(python, tree, './nova/tests/functional',
                      ['^%s\\.' % re.escape(m) for m in functional],
                      concurrency, 'functional tests of the series')
        log('after the series: functional tests the series adds or '
            'touches (%s): %s in %.0f s' % (
                ', '.join(m.rsplit('.', 1)[1] for m in functional), func,
                func.seconds))
        total.add(func)
    return total


def parity(python, tree, workdir):
    """Run the parity test (tests/parity): series vs plugin.

    The scenarios run twice: on Nova with the series, in Nova's own venv
    with the tree first on sys.path and stock libvirt.LibvirtDriver; and
    on unpatched Nova 34 in this (tox) environment, where the plugin is
    installed, with domain_meta.LibvirtDriver. test_parity then compares
    what both wrote.
    """
    start = time.monotonic()
    out = os.path.join(workdir, 'parity')
    os.makedirs(out, exist_ok=True)
    base_env = dict(os.environ, **NOVA_TEST_ENV)
    base_env.pop('PYTHONWARNINGS', None)
    # One test boots every scenario in turn: Nova's per-test hang guard
    # (160 s) is meant for one scenario, not five on a shared machine.
    base_env['OS_TEST_TIMEOUT'] = '900'
    runs = (
        # By file name, with the tree on sys.path, so that its nova package
        # is imported and nothing of this checkout (the plugin's egg-info
        # and entry points) is found; pbr is told the version the tree is.
        ('patched', python, 'libvirt.LibvirtDriver', tree,
         dict(base_env, PYTHONPATH=tree, PBR_VERSION=NOVA_VERSION),
         [os.path.join(ROOT, 'tests', 'parity', 'scenarios.py')]),
        ('plugin', sys.executable, 'domain_meta.LibvirtDriver', ROOT,
         dict(base_env), ['-m', 'tests.parity.scenarios']),
    )
    for name, interpreter, driver, cwd, env, program in runs:
        output = os.path.join(out, name + '.json')
        if os.path.exists(output):
            os.unlink(output)
        result = run([interpreter, *program, '--driver', driver,
                      '--output', output],
                     cwd=cwd, env=env, capture=True, check=False)
        if result.returncode != 0 or not os.path.exists(output):
            raise HarnessError('parity scenarios on %s Nova (%s) failed:\n%s'
                               % (name, driver, result.stdout[-8000:]))
    result = run([sys.executable, '-m', 'stestr', '--test-path',
                  './tests/parity', '--top-dir', './', 'run',
                  '--concurrency', '1'], cwd=ROOT,
                 env=dict(base_env, PARITY_WORKDIR=out), capture=True,
                 check=False)
    counts = Counts(run=_count(r'^Ran: (\d+) tests', result.stdout),
                    passed=_count(r'^ - Passed: (\d+)', result.stdout),
                    failed=_count(r'^ - Failed: (\d+)', result.stdout),
                    seconds=time.monotonic() - start)
    if result.returncode != 0 or counts.failed or not counts.run:
        raise HarnessError('parity test failed (%s):\n%s' % (
            counts, result.stdout[-8000:]))
    log('parity with the plugin: %d scenarios on both, %s in %.0f s' % (
        len(json.load(open(os.path.join(out, 'patched.json')))), counts,
        counts.seconds))
    return counts


# Commands.


def cmd_tree(args):
    names = read_series()
    upto = select(names, args.upto) if args.upto else len(names)
    make_tree(args.dest, fetch_sdist())
    for name in names[:upto]:
        apply_patch(args.dest, PatchFile.read(name))
    log('%s: Nova %s with %d of %d patches applied (base tag %s)' % (
        args.dest, NOVA_VERSION, upto, len(names), BASE_TAG))
    if args.venv:
        python = ensure_venv(os.path.abspath(args.venv), args.dest)
        log('run Nova\'s tests there with %s -m stestr' % python)


def cmd_export(args):
    """Write base..HEAD of a working tree as the patch files and series."""
    tree = os.path.abspath(args.source)
    base = args.base or BASE_TAG
    commits = git(tree, 'rev-list', '--reverse', '%s..HEAD' % base
                  ).stdout.split()
    if not commits:
        raise HarnessError('no commits between %s and HEAD in %s' % (
            base, tree))
    for name in os.listdir(PATCH_DIR):
        if name.endswith('.patch'):
            os.unlink(os.path.join(PATCH_DIR, name))
    # Stable files: no commit ids or version signature, full blob ids for
    # the exact-result check, the same numbering as the series file.
    git(tree, 'format-patch', '--quiet', '--zero-commit', '--no-signature',
        '--full-index', '--no-stat', '-N', '--output-directory', PATCH_DIR,
        '%s..HEAD' % base)
    names = sorted(n for n in os.listdir(PATCH_DIR) if n.endswith('.patch'))
    header = []
    with open(SERIES) as f:
        for line in f:
            if line.startswith('#'):
                header.append(line)
            else:
                break
    with open(SERIES, 'w') as f:
        f.writelines(header)
        for name in names:
            f.write(name + '\n')
    log('exported %d patches to %s' % (len(names), PATCH_DIR))


def cmd_venv(args):
    directory = os.path.join(CACHE, 'nova-venv-tree')
    make_tree(directory, fetch_sdist())
    print(ensure_venv(os.path.abspath(args.venv), directory))


def cmd_check(args):
    start = time.monotonic()
    names = read_series()
    workdir = os.path.abspath(args.workdir)
    tree = os.path.join(workdir, 'nova')
    os.makedirs(workdir, exist_ok=True)
    make_tree(tree, fetch_sdist())
    python = ensure_venv(os.path.abspath(args.venv), tree)
    first = select(names, args.only) if args.only else 1
    last = first if args.only else len(names)
    for name in names[:first - 1]:
        apply_patch(tree, PatchFile.read(name))
    per_commit = Counts()
    touched = {'unit': set(), 'functional': set()}
    for position in range(first, last + 1):
        patch = PatchFile.read(names[position - 1])
        counts, modules = check_one(
            python, tree, patch, position, len(names), args.concurrency)
        per_commit.add(counts)
        for kind, found in modules.items():
            touched[kind].update(found)
    if args.only or args.no_final:
        log('checked %d commit(s); %s per-commit tests; %.0f s' % (
            last - first + 1, per_commit, time.monotonic() - start))
        return
    final = final_run(python, tree, touched, args.concurrency)
    parity_counts = None
    if not args.no_parity:
        parity_counts = parity(python, tree, workdir)
    log('SUMMARY: %d commits applied exactly and checked (message, flake8, '
        'release notes, %s in the tests each adds or edits); Nova tests '
        'after the series: %s; parity: %s; wall time %.0f s' % (
            len(names), per_commit, final,
            'skipped' if parity_counts is None else
            '%d tests passed' % parity_counts.passed,
            time.monotonic() - start))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)
    default_venv = os.path.join(CACHE, 'nova-venv')

    p = sub.add_parser('check', help='apply and check the series (CI)')
    p.add_argument('--workdir', default=os.path.join(CACHE, 'nova-check'))
    p.add_argument('--venv', default=default_venv,
                   help='virtual environment for Nova\'s tests')
    p.add_argument('--only', help='check only this patch (number or name '
                   'prefix), on top of the ones before it')
    p.add_argument('--no-final', action='store_true',
                   help='skip the test run after the whole series')
    p.add_argument('--no-parity', action='store_true',
                   help='skip the parity test against the plugin')
    p.add_argument('--concurrency', type=int, default=os.cpu_count() or 2)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser('tree', help='make a Nova git tree with the series')
    p.add_argument('dest')
    p.add_argument('--upto', help='apply patches up to this one')
    p.add_argument('--venv', nargs='?', const=default_venv,
                   help='also prepare the virtual environment for Nova\'s '
                   'tests (default %(const)s)')
    p.set_defaults(func=cmd_tree)

    p = sub.add_parser('export', help='write a tree\'s commits as patches')
    p.add_argument('source', help='a tree made by "tree"')
    p.add_argument('--base', help='commit the series starts after '
                   '(default: tag %s)' % BASE_TAG)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser('venv', help='prepare the venv for Nova\'s tests')
    p.add_argument('--venv', default=default_venv)
    p.set_defaults(func=cmd_venv)

    args = parser.parse_args(argv)
    try:
        args.func(args)
    except HarnessError as e:
        log('FAILED: %s' % e)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
