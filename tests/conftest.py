"""Shared test set-up: every test starts from the default configuration."""
import copy

import pytest

from main.config import cfg


@pytest.fixture(autouse=True)
def _restore_cfg():
    """Undo any change a test makes to the global `cfg`."""
    saved = copy.deepcopy(vars(cfg))
    yield
    vars(cfg).clear()
    vars(cfg).update(saved)
