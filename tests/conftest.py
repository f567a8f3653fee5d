import os
import sys

sys.path.insert(0, os.path.dirname(__file__))


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def validation_results():
    """`run_checks(name)` of `tlmsim.validation`, each platform run once per session
    (``VALIDATION.md``'s test and the platforms' check tests share the runs)."""
    from tlmsim.validation import run_checks
    done = {}

    def results(name):
        if name not in done:
            done[name] = run_checks(name)
        return done[name]
    return results
