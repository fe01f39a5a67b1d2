"""Visualisation: 2D drawing, 3D views, the Python result viewer and the image-name helpers."""
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
import scipy.io

from common.utils.vis import (MAX_TICKS_3D, bone_colors, cube_limits, to_plot_coords,
                              vis_2d_and_3d, vis_3d_multiple_skeleton, vis_3d_skeleton,
                              vis_keypoints)
from vis import coco_img_name, mupots_img_name, view_results
from data.result_files import coco_key, mupots_key
from vis.name_list import key_to_image_path

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SKELETON = view_results.EXPORT_SKELETON

# a standing person, 17 MuPoTS joints, root-relative camera mm (x right, y down, z away)
TEMPLATE = np.array([
    [0, -750, 0], [0, -450, 0], [-180, -430, 0], [-230, -170, 0], [-250, 60, 0],
    [180, -430, 0], [230, -170, 0], [250, 60, 0], [-100, 0, 0], [-110, 420, 0],
    [-110, 820, 0], [100, 0, 0], [110, 420, 0], [110, 820, 0], [0, 0, 0], [0, -220, 0],
    [0, -620, 0]], dtype=np.float64)


def _exit_code(main, argv):
    """Run a command-line `main(argv)`; its exit status (0 when it returns)."""
    try:
        main(argv)
    except SystemExit as e:
        return e.code
    return 0


# -- vis_keypoints ---------------------------------------------------------------------------
def _three_joints(score2=0.2):
    """Joints at (10,10), (30,30), (50,50) with scores 0.9, 0.9, score2; bones 0-1 and 1-2."""
    kps = np.array([[10, 30, 50], [10, 30, 50], [0.9, 0.9, score2]], dtype=np.float64)
    return kps, [(0, 1), (1, 2)]


def test_bone_colors_rainbow_bgr():
    colors = bone_colors(2)
    # rainbow(0) = RGB (0.5, 0, 1) -> BGR (255, 0, 128); rainbow(1/3) ~ RGB (0.16, 0.87, 0.87)
    assert colors[0] == (255, 0, 128)
    assert colors[1] == (221, 221, 42)
    assert len(bone_colors(16)) == 16 and len(set(bone_colors(16))) == 16


def test_vis_keypoints_draws_only_above_threshold():
    img = np.zeros((60, 60, 3), np.uint8)
    kps, lines = _three_joints()
    out = vis_keypoints(img, kps, lines, kp_thresh=0.4)
    colors = bone_colors(2)
    assert out.shape == img.shape and out.dtype == np.uint8
    assert not img.any(), 'the input image must not be modified'
    # joint 0 is drawn by bone 0 only; joint 1 last by bone 1 (its circle; no line to joint 2)
    assert tuple(out[10, 10]) == colors[0]
    assert tuple(out[30, 30]) == colors[1]
    # the bone between the two confident joints: its middle has bone 0's colour
    assert tuple(out[20, 20]) == colors[0]
    # joint 2 (score 0.2) and the bone towards it stay blank
    assert not out[44:57, 44:57].any()
    assert not out[38:42, 38:42].any()
    # far from the skeleton nothing is drawn
    assert not out[45:60, 0:15].any() and not out[0:15, 45:60].any()
    # only near the drawn segment (0,0)-(33,33) are there coloured pixels
    ys, xs = np.nonzero(out.any(axis=2))
    assert ys.min() >= 6 and xs.min() >= 6 and ys.max() <= 34 and xs.max() <= 34
    assert np.all(np.abs(ys - xs) <= 5)


def test_vis_keypoints_threshold_is_strict_and_configurable():
    img = np.zeros((60, 60, 3), np.uint8)
    kps, lines = _three_joints(score2=0.4)
    assert not vis_keypoints(img, kps, lines, kp_thresh=0.4)[44:57, 44:57].any()
    out = vis_keypoints(img, kps, lines, kp_thresh=0.3)
    assert tuple(out[50, 50]) == bone_colors(2)[1]
    assert tuple(out[40, 40]) == bone_colors(2)[1]
    assert not vis_keypoints(img, kps, lines, kp_thresh=0.95).any()


def test_vis_keypoints_alpha_blending():
    img = np.full((60, 60, 3), 100, np.uint8)
    kps, lines = _three_joints()
    color = np.array(bone_colors(2)[0], dtype=np.float64)
    half = vis_keypoints(img, kps, lines, alpha=0.5)
    np.testing.assert_allclose(half[10, 10], 0.5 * 100 + 0.5 * color, atol=1)
    assert (half[50, 50] == 100).all() and (half[0, 59] == 100).all()
    np.testing.assert_array_equal(vis_keypoints(img, kps, lines, alpha=0), img)
    assert tuple(vis_keypoints(img, kps, lines, alpha=1)[10, 10]) == tuple(color.astype(int))


# -- 3D views --------------------------------------------------------------------------------
def _assert_png(path, min_size=100):
    assert osp.isfile(path) and osp.getsize(path) > 0
    img = cv2.imread(path)
    assert img is not None and img.shape[0] >= min_size and img.shape[1] >= min_size
    assert img.std() > 0, 'the figure is blank'
    return img


def _has_color(img, bgr, tol=12):
    return bool((np.abs(img.astype(int) - np.array(bgr)).max(axis=2) <= tol).any())


def test_vis_3d_skeleton_writes_png(tmp_path):
    import matplotlib.pyplot as plt
    figures_before = plt.get_fignums()
    pose = TEMPLATE + [0, 0, 3000]
    path = str(tmp_path / 'one.png')
    assert vis_3d_skeleton(pose, np.ones((17, 1)), SKELETON, filename=path) == path
    img = _assert_png(path)
    assert _has_color(img, bone_colors(len(SKELETON))[0])   # the head bone is drawn
    assert plt.get_fignums() == figures_before, 'no pyplot figure may be left open'
    assert [p for p in os.listdir(tmp_path) if p != 'one.png'] == [], 'no temporary file left'


def test_vis_3d_multiple_skeleton_axes_and_visibility(tmp_path):
    poses = np.stack((TEMPLATE + [-800, 0, 4000], TEMPLATE + [900, 100, 6000]))
    vis = np.ones((2, 17, 1))
    vis[1, 0] = 0   # person 2: Head_top hidden -> its bone (0,16) is not drawn
    fig = vis_3d_multiple_skeleton(poses, vis, SKELETON)
    ax = fig.axes[0]
    assert len(ax.lines) == 2 * len(SKELETON) - 1
    # first bone of person 1 is Head_top-Head, plotted as (X, Z, -Y)
    xs, ys, zs = ax.lines[0].get_data_3d()
    np.testing.assert_allclose(xs, [-800, -800])
    np.testing.assert_allclose(ys, [4000, 4000])
    np.testing.assert_allclose(zs, [750, 620])
    # equal scale on the three axes, all joints inside
    spans = [np.diff(lim)[0] for lim in (ax.get_xlim3d(), ax.get_ylim3d(), ax.get_zlim3d())]
    np.testing.assert_allclose(spans, spans[0])
    lo, hi = ax.get_ylim3d()
    assert lo < 4000 and hi > 6000
    path = str(tmp_path / 'multi.png')
    assert vis_3d_multiple_skeleton(poses, vis, SKELETON, filename=path, title='two') == path
    _assert_png(path)


def test_3d_view_numbers_people_and_keeps_ticks_few():
    # three people metres apart: numbered above their heads, at most MAX_TICKS_3D ticks an axis
    poses = np.stack([TEMPLATE + [x, 0, z] for x, z in ((-3000, 4000), (0, 9000), (3500, 6000))])
    fig = vis_3d_multiple_skeleton(poses, None, SKELETON, labels=['1', '2', '3'], title='a.jpg')
    ax = fig.axes[0]
    assert ax.get_title() == 'a.jpg'
    assert [t.get_text() for t in ax.texts] == ['1', '2', '3']
    fig.canvas.draw()
    for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
        lo, hi = sorted(axis.get_view_interval())
        ticks = [t for t in axis.get_majorticklocs() if lo <= t <= hi]
        assert 2 <= len(ticks) <= MAX_TICKS_3D + 1


def test_3d_view_takes_given_limits_for_every_frame():
    # one cube for a video: two frames with people in different places get the same axes
    frames = [TEMPLATE[None] + [-800, 0, 4000], TEMPLATE[None] + [1500, 0, 8000]]
    limits = cube_limits(np.concatenate([to_plot_coords(f).reshape(-1, 3) for f in frames]))
    axes = []
    for poses in frames:
        ax = vis_3d_multiple_skeleton(poses, None, SKELETON, limits=limits).axes[0]
        axes.append((ax.get_xlim3d(), ax.get_ylim3d(), ax.get_zlim3d()))
    assert axes[0] == axes[1]
    centre, half = limits
    np.testing.assert_allclose(axes[0][1], (centre[1] - half, centre[1] + half))
    assert axes[0][1][0] < 4000 and axes[0][1][1] > 8000       # both frames' depths inside


def test_show_without_display_warns_and_still_saves(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt
    from common.utils import vis
    plt.switch_backend('agg')
    monkeypatch.setattr(vis, '_INTERACTIVE_CANDIDATES', ())
    path = str(tmp_path / 'shown.png')
    with pytest.warns(UserWarning, match='no interactive display'):
        assert vis_3d_skeleton(TEMPLATE + [0, 0, 3000], None, SKELETON, filename=path,
                               show=True) == path
    _assert_png(path)


def test_show_with_display_opens_and_closes_the_window(tmp_path, monkeypatch):
    from matplotlib.figure import Figure
    from common.utils import vis
    calls = []

    class FakePyplot:   # stands for pyplot with an interactive backend
        def figure(self, figsize, dpi):
            fig = Figure(figsize=figsize, dpi=dpi)
            calls.append(('figure', fig))
            return fig

        def show(self):
            calls.append(('show', None))

        def close(self, fig):
            calls.append(('close', fig))

    monkeypatch.setattr(vis, '_interactive_pyplot', FakePyplot)
    path = str(tmp_path / 'shown.png')
    assert vis_3d_multiple_skeleton((TEMPLATE + [0, 0, 3000])[None], None, SKELETON,
                                    filename=path, show=True) == path
    assert [c[0] for c in calls] == ['figure', 'show', 'close'] and calls[0][1] is calls[2][1]
    _assert_png(path)


def test_vis_2d_and_3d_figure(tmp_path):
    img = np.full((240, 320, 3), 90, np.uint8)
    pose_3d = (TEMPLATE + [0, 0, 5000])[None]
    pose_2d = pose_3d[..., :2] / 5000 * 300 + [160, 120]
    path = str(tmp_path / 'both.jpg')
    vis_2d_and_3d(img, pose_2d, pose_3d, SKELETON, filename=path, figsize=(8, 4))
    assert cv2.imread(path).shape == (400, 800, 3)


# -- generated MuPoTS export -----------------------------------------------------------------
def _project(cam, f=500.0, c=(160.0, 120.0)):
    return cam[..., :2] / cam[..., 2:3] * f + np.asarray(c)


def _make_mupots_export(root):
    """Two images (TS1 frame 0 with 2 people, TS2 frame 3 with 1) and their exported `.mat`s."""
    img_dir = root / 'MultiPersonTestSet'
    result_dir = root / 'result'
    result_dir.mkdir()
    people = {'TS1_img_000000': [TEMPLATE + [-700, 0, 4500], TEMPLATE + [800, 50, 6000]],
              'TS2_img_000003': [TEMPLATE + [0, 0, 3500]]}
    preds_2d, preds_3d = {}, {}
    for key, poses in people.items():
        folder, stem = key.split('_', 1)
        (img_dir / folder).mkdir(parents=True, exist_ok=True)
        img = np.zeros((240, 320, 3), np.uint8)
        img[:, :, 1] = np.linspace(40, 200, 320, dtype=np.uint8)[None]
        assert cv2.imwrite(str(img_dir / folder / (stem + '.jpg')), img)
        preds_3d[key] = np.stack(poses)
        preds_2d[key] = _project(preds_3d[key])
    scipy.io.savemat(str(result_dir / 'preds_2d_kpt_mupots.mat'), preds_2d)
    scipy.io.savemat(str(result_dir / 'preds_3d_kpt_mupots.mat'), preds_3d)
    return str(result_dir), str(img_dir)


def test_viewer_writes_pngs_for_mupots_export(tmp_path, capsys):
    result_dir, img_dir = _make_mupots_export(tmp_path)
    out_dir = tmp_path / 'out'
    rc = _exit_code(view_results.main, ['--dataset', 'mupots', '--result_dir', result_dir,
                            '--img_dir', img_dir, '--out_dir', str(out_dir)])
    assert rc == 0
    assert sorted(os.listdir(out_dir)) == ['TS1_img_000000.png', 'TS2_img_000003.png']
    for name in os.listdir(out_dir):
        img = _assert_png(str(out_dir / name))
        # the figure holds the drawn photo: some bone colour is present
        assert _has_color(img, bone_colors(len(SKELETON))[0], tol=20)
    assert 'wrote 2 figure(s)' in capsys.readouterr().out

    out_one = tmp_path / 'out_one'
    assert _exit_code(view_results.main, ['--result_dir', result_dir, '--img_dir', img_dir,
                              '--out_dir', str(out_one), '--max_images', '1']) == 0
    assert os.listdir(out_one) == ['TS1_img_000000.png']


def test_viewer_loads_export_in_file_order(tmp_path):
    result_dir, _ = _make_mupots_export(tmp_path)
    preds = view_results.read_pred_mat(osp.join(result_dir, 'preds_3d_kpt_mupots.mat'), 3)
    assert list(preds) == ['TS1_img_000000', 'TS2_img_000003']
    assert preds['TS1_img_000000'].shape == (2, 17, 3)
    np.testing.assert_allclose(preds['TS2_img_000003'][0, 14], [0, 0, 3500])


@pytest.mark.parametrize('missing', ['result', 'image'])
def test_viewer_missing_file_is_one_error_line(tmp_path, capsys, missing):
    result_dir, img_dir = _make_mupots_export(tmp_path)
    if missing == 'result':
        os.remove(osp.join(result_dir, 'preds_3d_kpt_mupots.mat'))
        expected = 'preds_3d_kpt_mupots.mat'
    else:
        os.remove(osp.join(img_dir, 'TS2', 'img_000003.jpg'))
        expected = osp.join('TS2', 'img_000003.jpg')
    rc = _exit_code(view_results.main, ['--result_dir', result_dir, '--img_dir', img_dir,
                            '--out_dir', str(tmp_path / 'out')])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count('\n') == 1 and err.startswith('error: ') and expected in err
    assert not (tmp_path / 'out').exists(), 'nothing is written before the error'


def test_viewer_script_runs_from_its_folder(tmp_path):
    """`cd vis && python view_results.py ...`: a missing result is one line and exit status 2."""
    proc = subprocess.run([sys.executable, 'view_results.py', '--result_dir', str(tmp_path)],
                          cwd=osp.join(REPO, 'vis'), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().count('\n') == 0
    assert proc.stderr.startswith('error: result file ')
    assert 'preds_2d_kpt_mupots.mat' in proc.stderr


# -- image-name helpers ----------------------------------------------------------------------
def _write_ann(path, file_names):
    images = [{'id': i + 1, 'file_name': name, 'width': 320, 'height': 240}
              for i, name in enumerate(file_names)]
    path.write_text(json.dumps({'images': images, 'annotations': [], 'categories': []}))
    return str(path)


def test_mupots_img_name_lines_follow_annotation_order(tmp_path):
    names = ['TS2/img_000005.jpg', 'TS1/img_000000.jpg', 'TS1/img_000001.jpg',
             'TS20/img_000123.jpg']
    ann = _write_ann(tmp_path / 'MuPoTS-3D.json', names)
    out = tmp_path / 'names.txt'
    assert _exit_code(mupots_img_name.main, ['--ann', ann, '--out', str(out)]) == 0
    assert out.read_text() == '2 5\n1 0\n1 1\n20 123\n'
    # each line gives back (as the MATLAB scripts build it) the exporter's key and the image
    for line, name in zip(out.read_text().splitlines(), names):
        ts, frame = map(int, line.split())
        assert 'TS%d_img_%06d' % (ts, frame) == mupots_key(osp.join('root', name))
    assert key_to_image_path('mupots', 'TS20_img_000123', 'root') == \
        osp.join('root', 'TS20', 'img_000123.jpg')


def test_coco_img_name_lines_follow_annotation_order(tmp_path):
    ann = _write_ann(tmp_path / 'person_keypoints_val2017.json',
                     ['000000000785.jpg', '000000000139.jpg', 'val2017/000000000872.jpg'])
    out = tmp_path / 'sub' / 'coco_names.txt'
    assert _exit_code(coco_img_name.main, ['--ann', ann, '--out', str(out)]) == 0
    assert out.read_text() == 'coco_000000000785\ncoco_000000000139\ncoco_000000000872\n'
    assert coco_key('000000000139.jpg') == 'coco_000000000139'
    assert key_to_image_path('coco', 'coco_000000000139', 'v') == osp.join('v', '000000000139.jpg')


def test_name_helpers_default_paths():
    from main.config import Config
    cfg = Config()
    assert coco_img_name.default_ann() == osp.join(
        cfg.data_dir, 'MSCOCO', 'annotations', 'person_keypoints_val2017.json')
    assert mupots_img_name.default_ann() == osp.join(cfg.data_dir, 'MuPoTS', 'data',
                                                     'MuPoTS-3D.json')
    assert coco_img_name.DEFAULT_OUT == osp.join(REPO, 'vis', 'coco_img_name.txt')
    assert mupots_img_name.DEFAULT_OUT == osp.join(REPO, 'vis', 'mupots_img_name.txt')


def test_name_helpers_errors(tmp_path, capsys):
    out = tmp_path / 'names.txt'
    missing = str(tmp_path / 'nope.json')
    assert _exit_code(mupots_img_name.main, ['--ann', missing, '--out', str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: annotation file ') and 'nope.json' in err
    bad = _write_ann(tmp_path / 'bad.json', ['000000000139.jpg'])
    assert _exit_code(mupots_img_name.main, ['--ann', bad, '--out', str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f'error: annotation file {bad}: ') and "'000000000139.jpg'" in err
    (tmp_path / 'broken.json').write_text('{"images": [')
    broken = str(tmp_path / 'broken.json')
    assert _exit_code(coco_img_name.main, ['--ann', broken, '--out', str(out)]) == 2
    assert 'broken.json' in capsys.readouterr().err
    assert not out.exists()


# -- MATLAB scripts (checked with GNU Octave where it is installed; skipped otherwise) ---------
@pytest.mark.skipif(shutil.which('octave-cli') is None or shutil.which('gnuplot') is None,
                    reason='GNU Octave with gnuplot is not installed')
@pytest.mark.parametrize('kind', ['multi', 'single'])
def test_matlab_scripts_draw_mupots_export(tmp_path, kind):
    result_dir, img_dir = _make_mupots_export(tmp_path)
    names = tmp_path / 'names.txt'
    names.write_text('1 0\n7 1\n2 3\n')   # 7 1 has no result: skipped
    out_dir = tmp_path / 'figs'
    call = f"draw_3Dpose_mupots('{result_dir}', '{img_dir}', '{names}', '{out_dir}')"
    subprocess.run(['octave-cli', '--no-gui', '--eval', f"warning('off', 'all'); {call}"],
                   cwd=osp.join(REPO, 'vis', kind), capture_output=True, timeout=300)
    expected = {'multi': ['TS1_img_000000.png', 'TS2_img_000003.png'],
                'single': ['TS1_img_000000_person1.png', 'TS1_img_000000_person2.png',
                           'TS2_img_000003_person1.png']}[kind]
    assert sorted(os.listdir(out_dir)) == expected
    for name in expected:
        _assert_png(str(out_dir / name))
