"""Shared test set-up (a configuration is a value: there is no global one to restore)."""
import pytest
import torch


@pytest.fixture(autouse=True)
def _own_model_folder(tmp_path_factory, monkeypatch):
    """Models fetched by a test go to a fresh folder, never to the user's cache."""
    monkeypatch.setenv('POSENET_MODEL_DIR', str(tmp_path_factory.mktemp('model_dir')))


def pytest_collection_modifyitems(config, items):
    """Tests marked `gpu` skip, with one line saying why, where no CUDA GPU is visible."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason='needs a CUDA GPU (none visible); '
                                   'tool/benchmark.py --gpu_check runs it on one')
    for item in items:
        if item.get_closest_marker('gpu') is not None:
            item.add_marker(skip)
