"""The fixtures every Python suite under tests/ shares (tests/README.md,
"Python suites"); the plain helpers behind them are in tests/harness.py.

  build      the build under test (harness.BuildPaths: the environment
             `make check` and tests/run-all set)
  test_ca    the test CA and certificates, made once a session by
             tests/make-certs.sh (harness.CertAuthority)
  suite      the fake APIs (tests/fake_api.py) over TLS with the test CA, the
             client secret, the registry of secrets (harness.Suite)
  fake_api   this test's fake (harness.Fake), alone in it for the test
  scratch    this test's own scratch directory (0700, removed with the run)
  t          the PAM driver run (harness.Case): config, allowlist and PAM
             service files in scratch, tests/pam_driver against fake_api with
             its syslog captured (PAM_DRIVER_SYSLOG), the expectations
  private_mounts  this process moved into a private mount namespace
             (None, or why not), once a session
  dev_log    a syslog sink at /dev/log for the session (harness.DevLog)

Markers (tests/pytest.ini): root -- skipped with the reason when not root;
slow -- `-m "not slow"` leaves it out.  A run in which every test was
skipped exits 77 (automake's "skipped"), never 0.

Every failure and skip message is redacted (each registered credential,
secret and token replaced by its name), and a test that uses `t` also fails
on what its runs broke of the invariants every run must hold (Case.finish).
"""

import os
import shutil
import signal
import tempfile

import pytest

import harness


@pytest.fixture(scope="session")
def build():
    return harness.BuildPaths()


@pytest.fixture(scope="session")
def session_dir():
    """A private directory for the session (PAM_HEROKU_KEEP_TMP=1 keeps it)."""
    path = tempfile.mkdtemp(prefix="pam_heroku-tests.")
    os.chmod(path, 0o700)
    yield path
    if os.environ.get("PAM_HEROKU_KEEP_TMP"):
        print(f"\nkept {path}")
    else:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def test_ca(build, session_dir):
    return harness.CertAuthority(build, os.path.join(session_dir, "certs"))


@pytest.fixture(scope="session")
def suite(build, test_ca):
    s = harness.Suite(build)
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGHUP)}

    def stop(signum, frame):
        # make's timeout or a closed terminal end the run as Ctrl-C does:
        # pytest then tears every fixture down (the fakes by their pids, the
        # session directory with the test CA's keys, the /dev/log sink).
        raise KeyboardInterrupt(f"signal {signum}")
    for sig in previous:
        signal.signal(sig, stop)
    try:
        s.setup(test_ca.dir)
        yield s
    finally:
        s.teardown()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@pytest.fixture
def fake_api(suite):
    fake = suite.fake_pool.get()
    yield fake
    suite.fake_pool.put(fake)


@pytest.fixture
def scratch(suite):
    cases = os.path.join(suite.tmp, "cases")
    os.makedirs(cases, mode=0o700, exist_ok=True)
    return tempfile.mkdtemp(prefix="case-", dir=cases)


@pytest.fixture
def t(request, suite, fake_api, scratch):
    case = harness.Case(suite, request.node.name, fake_api, scratch)
    yield case
    case.release()
    suite.finished.append(case)


def pytest_runtest_setup(item):
    marker = item.get_closest_marker("root")
    if marker is not None and os.geteuid() != 0:
        why = f" ({marker.args[0]})" if marker.args else ""
        pytest.skip(f"needs root{why}")


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """Run a test on the suite: a harness.CaseSkip is pytest's skip, the
    run invariants are checked after the body, and no message shows a secret."""
    suite = pyfuncitem.funcargs.get("suite")
    case = pyfuncitem.funcargs.get("t")
    if case is not None:
        suite = case.suite
    if suite is None:
        return None
    args = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    try:
        pyfuncitem.obj(**args)
        if case is not None:
            case.finish()
    except harness.CaseSkip as e:
        pytest.skip(suite.redact(str(e)))
    except harness.CaseFailure as e:
        also = case.also() if case is not None else ""
        why = str(e) if str(e) in also else str(e) + also
        e.args = (suite.redact(why),)
        raise
    except Exception as e:
        e.args = tuple(suite.redact(a) if isinstance(a, str) else a for a in e.args)
        raise
    return True


# --------------------------------------------------------------------------
# /dev/log (tests/e2e): programs that log through the system's socket.

@pytest.fixture(scope="session")
def private_mounts():
    """This test process in a private mount namespace (harness.
    enter_private_mount_namespace): None when it is, else why not."""
    return harness.enter_private_mount_namespace()


@pytest.fixture(scope="session")
def dev_log(session_dir, private_mounts):
    """A harness.DevLog sink at /dev/log for the whole session (one socket
    there at a time); its `problem` says why nothing is caught, if so."""
    sink = harness.DevLog(session_dir, private_mounts is None)
    yield sink
    sink.close()


# --------------------------------------------------------------------------
# A run in which every test was skipped (not root, say) is automake's
# "skipped" (77), never a pass.

def pytest_sessionfinish(session, exitstatus):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or exitstatus != 0:
        return
    if reporter.stats.get("skipped") and not reporter.stats.get("passed"):
        session.exitstatus = 77
