"""Write failures are one line (issue 19, item 3): `cannot write PATH: <reason> (<free> free)`,
no partial file, earlier files intact. On a small tmpfs where this machine allows mounting one
(root), and by injecting OSError(ENOSPC) into the writers everywhere."""
import builtins
import errno
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from common.utils import file_io
from common.utils.errors import PoseNetError
from common.utils.file_io import (atomic_path, format_bytes, make_writable_dir, savemat,
                                  torch_save, write_error, write_json, write_text)
from main.checkpoint import load_snapshot, save_snapshot
from main.config import ROOT_DIR


def mount_tmpfs(path, size):
    """Mount a tmpfs of `size` (e.g. '1m') on `path`; False where that is not allowed."""
    os.makedirs(path, exist_ok=True)
    try:
        proc = subprocess.run(['mount', '-t', 'tmpfs', '-o', f'size={size}', 'tmpfs', str(path)],
                              capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MB file system (tmpfs); skipped where mounting is not permitted (not root) — the
    injection tests below cover every writer there."""
    disk = tmp_path / 'disk'
    if not mount_tmpfs(disk, '1m'):
        pytest.skip('cannot mount a tmpfs here (needs root); injection tests cover the writers')
    yield disk
    subprocess.run(['umount', str(disk)], check=True, timeout=60)


def test_format_bytes():
    assert [format_bytes(n) for n in (0, 999, 1000, 1534000, 2 * 10 ** 9, 5 * 10 ** 15)] == \
        ['0 B', '999 B', '1.0 KB', '1.5 MB', '2.0 GB', '5000.0 TB']


def test_write_error_names_path_reason_and_free_space(tmp_path):
    error = write_error(str(tmp_path / 'a.json'), OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
    free = file_io.free_space(str(tmp_path))
    assert isinstance(error, PoseNetError)
    assert str(error) == f"cannot write {tmp_path / 'a.json'}: No space left on device " \
                         f"({format_bytes(free)} free)"


BIG = list(range(400000))        # about 2.7 MB of JSON


@pytest.mark.parametrize('writer', ['json', 'text', 'mat', 'torch', 'snapshot'])
def test_a_full_disk_is_one_error_and_the_earlier_file_stays(small_disk, writer):
    path = small_disk / 'out.bin'
    path.write_bytes(b'earlier result')
    big = np.arange(300000, dtype=np.float64).reshape(1000, 300)
    write = {'json': lambda: write_json(path, BIG),
             'text': lambda: write_text(path, 'x' * 3000000),
             'mat': lambda: savemat(path, {'pred': big}),
             'torch': lambda: torch_save(path, {'w': torch.zeros(500000)}),
             'snapshot': lambda: save_snapshot(path, 3, torch.nn.Linear(1000, 1000))}[writer]
    with pytest.raises(PoseNetError) as e:
        write()
    assert str(e.value).startswith(f'cannot write {path}: No space left on device (')
    assert str(e.value).endswith(' free)')
    assert path.read_bytes() == b'earlier result'
    assert sorted(os.listdir(small_disk)) == ['out.bin']        # no temporary file left


def test_training_on_a_full_disk_stops_with_one_line_and_keeps_earlier_snapshots(tmp_path):
    """train.py into a tmpfs that holds one snapshot (185 MB) but not two: exit 2, one line,
    snapshot 0 intact and loadable, no partial file."""
    from tool.synthetic_data import generate
    disk = tmp_path / 'disk'
    if not mount_tmpfs(disk, '300m'):
        pytest.skip('cannot mount a tmpfs here (needs root); injection tests cover the writers')
    try:
        data = tmp_path / 'data'
        generate(str(data), datasets=['Human36M'], seed=3, img_size=96, num_images=3,
                 num_sequences=1, num_frames=2, h36m_actions=1, h36m_cameras=1,
                 h36m_frames=(0, 5, 64))
        proc = subprocess.run(
            [sys.executable, 'main/train.py', '--no_progress', '--cfg', 'resnet_type=18',
             'pretrained_backbone=False', 'input_shape=(64, 64)', 'depth_dim=16', 'batch_size=32',
             'num_thread=0', 'trainset_2d=[]', 'end_epoch=2', f'data_dir={data}',
             f'output_dir={disk}'], cwd=ROOT_DIR, env=dict(os.environ, PYTHONPATH=ROOT_DIR),
            capture_output=True, text=True, timeout=600)
        snapshot_1 = disk / 'model_dump' / 'snapshot_1.pth.tar'
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.startswith(f'error: cannot write {snapshot_1}: No space left on '
                                      'device (')
        assert proc.stderr.count('\n') == 1 and proc.stderr.endswith(' free)\n')
        assert sorted(os.listdir(disk / 'model_dump')) == ['snapshot_0.pth.tar']
        assert load_snapshot(str(disk / 'model_dump' / 'snapshot_0.pth.tar'))['epoch'] == 0
    finally:
        subprocess.run(['umount', str(disk)], check=True, timeout=60)


# -- injection: every writer, on any machine -------------------------------------------------------
@pytest.fixture
def full_disk(monkeypatch):
    """Writes of more than 100 bytes into files whose name ends in '.tmp' fail with ENOSPC (the
    temporary files of `atomic_path`), as on a full disk."""
    real_open = builtins.open

    class Full:
        def __init__(self, f):
            self.f, self.written = f, 0

        def write(self, data):
            self.written += len(data)
            if self.written > 100:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return self.f.write(data)

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    def fake_open(file, mode='r', *args, **kwargs):
        f = real_open(file, mode, *args, **kwargs)
        return Full(f) if str(file).endswith('.tmp') and 'w' in mode else f

    monkeypatch.setattr(builtins, 'open', fake_open)


@pytest.mark.parametrize('writer', ['json', 'json_indent', 'text', 'mat', 'torch', 'image'])
def test_injected_enospc_is_one_error_and_the_earlier_file_stays(tmp_path, full_disk, writer):
    from common.utils.vis import new_figure, save_figure
    path = tmp_path / ('out.png' if writer == 'image' else 'out.bin')
    path.write_bytes(b'earlier result')
    write = {'json': lambda: write_json(path, BIG),
             'json_indent': lambda: write_json(path, {'a': BIG}, indent=1),
             'text': lambda: write_text(path, 'x' * 3000),
             'mat': lambda: savemat(path, {'pred': np.ones((100, 3))}),
             'torch': lambda: torch_save(path, {'w': torch.zeros(5000)}),
             'image': lambda: save_figure(new_figure()[0], str(path))}[writer]
    with pytest.raises(PoseNetError, match=fr'^cannot write {path}: No space left on device '
                                           r'\(.* free\)$'):
        write()
    assert path.read_bytes() == b'earlier result'
    assert sorted(os.listdir(tmp_path)) == [path.name]


def test_a_file_in_the_way_or_a_missing_parent_is_one_error(tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_text('x')
    with pytest.raises(PoseNetError, match=fr'^cannot write {blocker}/a.json: {blocker} is a '
                                           r'file, not a folder \(.* free\)$'):
        write_json(blocker / 'a.json', [1])
    with pytest.raises(PoseNetError, match=fr'^cannot write {blocker}/sub/x: {blocker} is a '
                                           'file, not a folder'):
        make_writable_dir(str(blocker / 'sub' / 'x'))
    with atomic_path(tmp_path / 'ok.json') as tmp:
        with open(tmp, 'w') as f:
            json.dump([1], f)
    assert json.loads((tmp_path / 'ok.json').read_text()) == [1]


def test_an_onnx_export_on_a_full_disk_is_one_error(tmp_path, full_disk):
    from common.nets.posenet import get_pose_net
    from main.config import Config
    from main.onnx_backend import export_onnx
    cfg = Config(resnet_type=18, input_shape=(64, 64), depth_dim=4)
    path = tmp_path / 'snapshot_0.onnx'
    path.write_bytes(b'earlier export')
    with pytest.raises(PoseNetError, match=fr'^cannot write {path}: No space left on device'):
        export_onnx(get_pose_net(cfg, False, 18).eval(), str(path), 'PoseNet',
                    cfg.model_settings(), 0, {})
    assert path.read_bytes() == b'earlier export'
    assert sorted(os.listdir(tmp_path)) == ['snapshot_0.onnx']
