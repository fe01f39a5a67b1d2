"""Shared test set-up: every test starts from the default configuration."""
import copy

import pytest

from main.config import cfg


@pytest.fixture(autouse=True)
def _own_model_folder(tmp_path_factory, monkeypatch):
    """Models fetched by a test go to a fresh folder, never to the user's cache."""
    monkeypatch.setenv('POSENET_MODEL_DIR', str(tmp_path_factory.mktemp('model_dir')))


@pytest.fixture(autouse=True)
def _restore_cfg():
    """Undo any change a test makes to the global `cfg`."""
    saved = copy.deepcopy(vars(cfg))
    yield
    vars(cfg).clear()
    vars(cfg).update(saved)
