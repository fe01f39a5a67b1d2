"""Atomic writing: complete or absent, readable by others as the umask allows, no leftovers."""
import json
import os
import stat
import subprocess
import sys

import numpy as np
import pytest

from common.utils import file_io
from common.utils.file_io import atomic_path, remove_stale_temp_files, torch_save, write_json
from main.config import ROOT_DIR


@pytest.fixture
def umask():
    """Set the process umask for one test and restore it afterwards."""
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


@pytest.mark.parametrize('mask,mode', [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_written_files_respect_the_umask(tmp_path, umask, mask, mode):
    umask(mask)
    write_json(str(tmp_path / 'result.json'), {'a': 1})
    torch_save(str(tmp_path / 'snapshot_1.pth.tar'), {'epoch': 1})
    plain = tmp_path / 'plain.txt'
    plain.write_text('x')  # what a plain open() gives, for comparison
    for name in ('result.json', 'snapshot_1.pth.tar', 'plain.txt'):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == mode, name
    assert json.loads((tmp_path / 'result.json').read_text()) == {'a': 1}


def test_failed_write_leaves_nothing_and_keeps_old_file(tmp_path):
    target = tmp_path / 'r.json'
    target.write_text('old')
    with pytest.raises(RuntimeError):
        with atomic_path(str(target)) as tmp:
            assert os.path.basename(tmp).startswith('.r.json.') and tmp.endswith('.tmp')
            open(tmp, 'w').write('half')
            raise RuntimeError('disk full')
    assert target.read_text() == 'old'
    assert sorted(os.listdir(tmp_path)) == ['r.json']


KILLED_WRITER = """
import sys, time
from common.utils import file_io
from common.utils.file_io import atomic_path
with atomic_path(sys.argv[1]) as tmp:
    open(tmp, 'wb').write(b'0' * 100000)
    print(tmp, flush=True)
    time.sleep(600)
"""


def test_leftover_of_a_killed_writer_is_removed(tmp_path):
    target = tmp_path / 'snapshot_12.pth.tar'
    proc = subprocess.Popen([sys.executable, '-c', KILLED_WRITER, str(target)], cwd=ROOT_DIR,
                            env=dict(os.environ, PYTHONPATH=ROOT_DIR), stdout=subprocess.PIPE,
                            text=True)
    tmp = proc.stdout.readline().strip()  # the writer is inside the atomic write now
    proc.kill()
    proc.wait()
    proc.stdout.close()
    name = os.path.basename(tmp)
    assert name.startswith('.snapshot_12.pth.tar.') and name.endswith('.tmp')
    assert len(name) == len('.snapshot_12.pth.tar.') + 8 + len('.tmp')
    assert os.listdir(tmp_path) == [name] and os.path.getsize(tmp) == 100000
    assert remove_stale_temp_files(str(tmp_path), 'snapshot_*.pth.tar') == [tmp]
    assert os.listdir(tmp_path) == []


def test_remove_stale_temp_files_removes_only_our_leftovers(tmp_path):
    ours = ['.snapshot_12.pth.tar.ab12cd34.tmp', '.snapshot_3.pth.tar.x_9k2m1q.tmp']
    others = ['snapshot_12.pth.tar', '.snapshot_12.pth.tar.ab12.tmp', 'snapshot_12.pth.tar.ab12cd34.tmp',
              '.snapshot_12.pth.tar.AB12CD34.tmp', '.snapshot_12.pth.tar.ab12cd34.tmp.bak',
              '.train_logs.txt.ab12cd34.tmp', '.notes.tmp', 'x.tmp', '.snapshot_1.pth.tar.ab12cd3!.tmp']
    for name in ours + others:
        (tmp_path / name).write_bytes(b'0' * 100)
    os.mkdir(tmp_path / '.snapshot_9.pth.tar.abcdefgh.tmp')  # a folder is never touched
    removed = remove_stale_temp_files(str(tmp_path), 'snapshot_*.pth.tar')
    assert sorted(removed) == sorted(str(tmp_path / n) for n in ours)
    assert sorted(os.listdir(tmp_path)) == sorted(others + ['.snapshot_9.pth.tar.abcdefgh.tmp'])
    # every target name with the default pattern; a missing folder is nothing to do
    assert remove_stale_temp_files(str(tmp_path)) == [str(tmp_path / '.train_logs.txt.ab12cd34.tmp')]
    assert remove_stale_temp_files(str(tmp_path / 'missing')) == []


def same(a, b):
    """Parsed JSON values equal with equal types, floats bit for bit (NaN equals NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float):
        return np.float64(a).tobytes() == np.float64(b).tobytes()
    return a == b


def as_lists(obj):
    """What the old writer was given: numpy values converted with `.tolist()`."""
    if isinstance(obj, dict):
        return {k: as_lists(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [as_lists(v) for v in obj]
    return obj.tolist() if isinstance(obj, (np.ndarray, np.generic)) else obj


def numbers(rng, n):
    """float64 values of every kind: random magnitudes, integers, subnormals, extremes, -0.0."""
    x = rng.normal(size=n) * 10. ** rng.integers(-30, 30, n)
    special = np.r_[5e-324, 1.7976931348623157e308, -0.0, 1e16, 0.1,
                    rng.integers(-10 ** 6, 10 ** 6, 5)]
    x[:min(n, 10)] = rng.permutation(special)[:n]
    return x


@pytest.mark.parametrize('extra', [
    {},                                            # the fast encoder writes it
    {'nan': float('nan'), 'inf': [float('inf')]},  # json.dump writes it (NaN, Infinity)
    {'none': None, 'text': 'caf\u00e9'},           # null and non-ASCII text
    {1: 'int key', 'big': 2 ** 70},                # non-string key, integer beyond 64 bits
])
def test_write_json_parses_to_what_json_dump_of_tolist_wrote(tmp_path, extra):
    rng = np.random.default_rng(0)
    obj = {'records': [{'image_id': i, 'joint_cam': numbers(rng, 51).reshape(17, 3),
                        'bbox': numbers(rng, 4), 'score': np.float64(rng.normal()),
                        'count': np.int64(i), 'flags': np.array([True, False])}
                       for i in range(50)],
           'strided': numbers(rng, 20).reshape(4, 5)[:, ::2], 'ints': np.arange(5),
           'nested': {'a': [1, 2.5, 'x', True, False], 'b': (3, 4.25)}, **extra}
    assert (file_io._fast_json(obj) is None) == bool(extra)     # which encoder writes it
    path = str(tmp_path / 'out.json')
    write_json(path, obj)
    with open(path) as f:
        ours = json.load(f)
    expected = json.loads(json.dumps(as_lists(obj)))
    assert same(ours, expected)
    assert os.listdir(tmp_path) == ['out.json']


def test_write_json_keyword_arguments_go_to_json_dump(tmp_path):
    path = str(tmp_path / 'cfg.json')
    write_json(path, {'a': np.arange(2), 'b': 1.5}, indent=1)
    assert open(path).read() == '{\n "a": [\n  0,\n  1\n ],\n "b": 1.5\n}'
    with pytest.raises(TypeError, match='not JSON serializable'):
        write_json(path, {'a': object()})
    assert os.listdir(tmp_path) == ['cfg.json']


@pytest.mark.filterwarnings('ignore:Starting field name with a underscore')
def test_savemat_writes_scipys_bytes_and_falls_back_to_scipy(tmp_path):
    import io

    import scipy.io
    from common.utils.file_io import savemat
    rng = np.random.default_rng(2)
    variables = {name: rng.normal(size=shape) for name, shape in (
        ('a', (2, 17, 2)), ('abcd', (1, 17, 3)), ('abcde', (3, 5)), ('TS1_img_000000', (2, 17, 3)),
        ('coco_000000000139', (1, 2, 3, 4)), ('x' * 40, (1, 1)))}
    variables['strided'] = rng.normal(size=(6, 17, 3))[::2, :, 1:]
    variables['fortran'] = np.asfortranarray(rng.normal(size=(4, 3)))
    expected = io.BytesIO()
    scipy.io.savemat(expected, variables)
    path = str(tmp_path / 'direct.mat')
    savemat(path, variables)
    with open(path, 'rb') as f:
        written = f.read()
    assert written[116:] == expected.getvalue()[116:]           # past the time stamp
    assert written[:116].rstrip(b'\0').startswith(b'MATLAB 5.0 MAT-file Platform: ')
    # what the direct writer does not cover goes through scipy, with the same content
    for other in ({'ints': np.arange(6).reshape(2, 3)}, {'row': np.ones(3)},
                  {'empty': np.zeros((0, 17, 2))}, {'f32': np.ones((2, 2), np.float32)},
                  {'_hidden': np.ones((2, 2)), 'b': np.ones((2, 2))}):
        path = str(tmp_path / 'other.mat')
        savemat(path, other)
        loaded = scipy.io.loadmat(path)
        expected = io.BytesIO()
        scipy.io.savemat(expected, other)
        reference = scipy.io.loadmat(io.BytesIO(expected.getvalue()))
        assert [k for k in loaded if not k.startswith('__')] == \
            [k for k in reference if not k.startswith('__')]
        for key in reference:
            if not key.startswith('__'):
                np.testing.assert_array_equal(loaded[key], reference[key])
    assert sorted(os.listdir(tmp_path)) == ['direct.mat', 'other.mat']
