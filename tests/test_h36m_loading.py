"""Human36M loading (batched, column cache) gives exactly the entries of the straightforward
per-annotation reference (`tool/reference.py`), on generated annotation-only trees."""
import json
import os
import os.path as osp

import numpy as np
import pytest

from data.Human36M.Human36M import Human36M
from main.config import Config
from tool import reference
from tool.h36m_annotation_tree import write_tree


def assert_same_entries(got, expected):
    """Same entries in the same order: same keys in the same order, arrays of the same dtype,
    shape and bytes, other values of the same type and value."""
    assert len(got) == len(expected)
    for n, (a, b) in enumerate(zip(got, expected)):
        assert list(a) == list(b), n
        for key in a:
            x, y = a[key], b[key]
            assert type(x) is type(y), (n, key)
            if isinstance(x, np.ndarray):
                assert (x.dtype, x.shape) == (y.dtype, y.shape), (n, key)
                assert x.tobytes() == y.tobytes(), (n, key)
            else:
                assert x == y, (n, key)


@pytest.fixture(scope='module')
def tree(tmp_path_factory):
    """All 7 subjects, 2 actions x 2 subactions x 2 cameras x 130 frames; some boxes outside
    the image (skipped), some annotations without keypoints_vis or with an invisible root."""
    out = str(tmp_path_factory.mktemp('h36m_tree'))
    write_tree(out, actions=2, subactions=2, cameras=2, frames=130, seed=3)
    for subject in (1, 9):
        path = osp.join(out, 'Human36M', 'annotations', f'Human36M_subject{subject}_data.json')
        with open(path) as f:
            annot = json.load(f)
        for ann in annot['annotations'][::7]:
            ann['bbox'][0] = 5000.                            # right of the image: no box
        for ann in annot['annotations'][3::11]:
            del ann['keypoints_vis']
        for ann in annot['annotations'][5::13]:
            if 'keypoints_vis' in ann:
                ann['keypoints_vis'][0] = False
        with open(path, 'w') as f:
            json.dump(annot, f)
    return out


@pytest.fixture
def cfg(tree):
    return Config(data_dir=tree)


def cache_files(tree):
    folder = osp.join(tree, 'Human36M', 'cache')
    return sorted(os.listdir(folder)) if osp.isdir(folder) else []


@pytest.mark.parametrize('split,protocol,gt_info', [('train', 2, True), ('train', 1, True),
                                                    ('test', 2, True), ('test', 1, False),
                                                    ('test', 2, False)])
def test_entries_equal_the_reference_without_cache(cfg, tree, split, protocol, gt_info,
                                                   monkeypatch):
    cfg = cfg.replace(use_gt_info=gt_info)
    before = cache_files(tree)
    db = Human36M(split, cfg, protocol=protocol, cache=False)
    expected = reference.h36m_load(tree, split, protocol, cfg.input_shape, gt_info)
    assert len(expected) > 20
    assert_same_entries(db.data, expected)
    assert cache_files(tree) == before
    if split == 'train' and gt_info:
        # the skipped boxes and the visibility flags really occur
        assert any(e['root_vis'] == 0. for e in db.data)
        num_frames = len({(e['img_id']) for e in db.data})
        assert num_frames < len(db.get_subject()) * 2 * 2 * 2 * 26


def test_cache_first_and_second_start_and_after_a_change(cfg, tree, monkeypatch):
    cfg = cfg.replace(input_shape=(256, 192))    # settings of this test only
    expected = reference.h36m_load(tree, 'train', 2, (256, 192))
    first = Human36M('train', cfg)                              # parses, writes the cache
    assert_same_entries(first.data, expected)
    names = [n for n in cache_files(tree) if '_256x192_' in n]
    assert len(names) == 1 and names[0].startswith('train_p2_gt_256x192_')

    def no_parsing(self, subjects):
        raise AssertionError('parsed although the cache is valid')
    with monkeypatch.context() as m:
        m.setattr(Human36M, 'parse_columns', no_parsing)
        second = Human36M('train', cfg)                         # from the cache
    assert_same_entries(second.data, expected)
    second.data[0]['joint_cam'][0, 0] += 1.                      # entries own their arrays
    assert first.data[0]['joint_cam'][0, 0] == expected[0]['joint_cam'][0, 0]

    # a changed joint file: parsed again, the new values, one cache file left
    path = osp.join(tree, 'Human36M', 'annotations', 'Human36M_subject5_joint_3d.json')
    with open(path) as f:
        joints = json.load(f)
    frame = joints['2']['1']['0']
    frame[3][2] += 25.
    with open(path, 'w') as f:
        json.dump(joints, f)
    changed = reference.h36m_load(tree, 'train', 2, (256, 192))
    assert not all(np.array_equal(a['joint_cam'], b['joint_cam'])
                   for a, b in zip(changed, expected))
    assert_same_entries(Human36M('train', cfg).data, changed)
    assert len([n for n in cache_files(tree) if '_256x192_' in n]) == 1
    assert [n for n in cache_files(tree) if '_256x192_' in n] != names

    # touched only (same content, new time): parsed again, the same entries
    os.utime(path, ns=(os.stat(path).st_atime_ns, os.stat(path).st_mtime_ns + 10 ** 9))
    calls = []
    original = Human36M.parse_columns
    with monkeypatch.context() as m:
        m.setattr(Human36M, 'parse_columns',
                  lambda self, subjects: calls.append(1) or original(self, subjects))
        assert_same_entries(Human36M('train', cfg).data, changed)
        assert calls == [1]
        assert_same_entries(Human36M('train', cfg).data, changed)
        assert calls == [1]


def test_cache_covers_the_bbox_root_file_and_survives_damage(cfg, tree, monkeypatch):
    cfg = cfg.replace(use_gt_info=False)
    expected = reference.h36m_load(tree, 'test', 2, cfg.input_shape, False)
    assert_same_entries(Human36M('test', cfg).data, expected)
    assert_same_entries(Human36M('test', cfg).data, expected)
    path = osp.join(tree, 'Human36M', 'bbox_root', 'bbox_root_human36m_output.json')
    with open(path) as f:
        records = json.load(f)
    records[0]['root_cam'][2] += 100.
    with open(path, 'w') as f:
        json.dump(records, f)
    changed = reference.h36m_load(tree, 'test', 2, cfg.input_shape, False)
    assert changed[0]['root_cam'][2] == expected[0]['root_cam'][2] + 100.
    assert_same_entries(Human36M('test', cfg).data, changed)
    # a damaged cache file is parsed around and replaced
    name = [n for n in cache_files(tree) if n.startswith('test_p2_rootnet_')]
    assert len(name) == 1
    with open(osp.join(tree, 'Human36M', 'cache', name[0]), 'wb') as f:
        f.write(b'not a cache')
    assert_same_entries(Human36M('test', cfg).data, changed)
    assert_same_entries(Human36M('test', cfg).data, changed)


def test_read_only_cache_folder_still_loads(cfg, tree, monkeypatch, capsys):
    import data.Human36M.Human36M as module

    def refuse(path):
        raise PermissionError(13, 'Permission denied', path)
    monkeypatch.setattr(module, 'atomic_path', refuse)
    cfg = cfg.replace(input_shape=(128, 96))
    db = Human36M('test', cfg)
    assert_same_entries(db.data, reference.h36m_load(tree, 'test', 2, (128, 96)))
    assert 'no cache of the parsed annotations' in capsys.readouterr().out
    assert not [n for n in cache_files(tree) if '_128x96_' in n]


@pytest.mark.parametrize('damage,message', [
    (lambda d, j: j['2']['1'].pop('5'), 'no joints for action 2 subaction 1 frame 5'),
    (lambda d, j: j['2']['1']['5'].pop(), 'every frame needs 17x3 joints'),
    (lambda d, j: d['annotations'][5].update(bbox=[1, 2, 3]),
     r'annotations\[5\] has bbox \[1, 2, 3\], expected 4 finite numbers'),
    (lambda d, j: d['images'][0].pop('frame_idx'), "images\\[0\\] lacks 'frame_idx'"),
])
def test_damaged_files_are_named(tmp_path, damage, message):
    from common.utils.errors import PoseNetError
    out = str(tmp_path)
    write_tree(out, subjects=(1,), actions=1, subactions=1, cameras=1, frames=10)
    prefix = osp.join(out, 'Human36M', 'annotations', 'Human36M_subject1_')
    with open(prefix + 'data.json') as f:
        annot = json.load(f)
    with open(prefix + 'joint_3d.json') as f:
        joints = json.load(f)
    damage(annot, joints)
    for kind, obj in (('data', annot), ('joint_3d', joints)):
        with open(prefix + kind + '.json', 'w') as f:
            json.dump(obj, f)
    with pytest.raises(PoseNetError, match=message) as err:
        Human36M('train', Config(data_dir=out), protocol=1)
    assert 'Human36M_subject1_' in str(err.value)
