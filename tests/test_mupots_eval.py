"""MuPoTS-3D Python evaluator: matching, bone rescaling, 3DPCK/AUC, files, command line.

Kit files are hand-made here with scipy.io.savemat (cell arrays of structs, an empty person
slot, a person marked invalid), so every expected number is known exactly.
"""
import csv
import os
import os.path as osp
import shutil
import subprocess
import sys

import numpy as np
import pytest
import scipy.io

from common.utils.errors import PoseNetError
from data.MuPoTS import mupots_eval as ev
from data.MuPoTS import mupots_kit as ev_kit
from data.MuPoTS import mupots_matching as ev_match
from data.MuPoTS import mupots_metrics as ev_metrics
from data.MuPoTS import mupots_predictions as ev_preds

F = (1500., 1500.)
C = (1024., 1024.)
GT_AUC = 100. * 30 / 31          # error 0 is correct at every threshold but 0

# a standing person, camera mm, joints in MuPoTS order (root = index 14, pelvis)
BASE_POSE = np.array([
    [0, -850, 0], [0, -550, 0], [-180, -530, 0], [-220, -280, 20], [-230, -40, 60],
    [180, -530, 0], [220, -280, 20], [230, -40, 60], [-110, 0, 0], [-120, 420, 10],
    [-120, 830, 30], [110, 0, 0], [120, 420, 10], [120, 830, 30], [0, 0, 0],
    [0, -270, 10], [0, -700, 20]], dtype=np.float64)


def project(cam):
    return cam[:, :2] / cam[:, 2:3] * np.array(F) + np.array(C)


def make_person(x_mm, z_mm=5000., scale=1.0):
    """Universal-skeleton 3D pose `(17, 3)` mm placed at (x, 0, z), and its projection."""
    univ = BASE_POSE * scale + np.array([x_mm, 0., z_mm])
    return univ, project(univ)


def write_kit(gt_dir, sequences):
    """Write `TS<n>/annot.mat` and `occlusion.mat`.

    `sequences`: {n: frames}; a frame is a list of slots; a slot is None (empty cell) or a dict
    `{'univ': (17,3), 'p2d': (17,2), 'valid': 0/1, 'occluded': 1-based joint list}`.
    """
    for num, frames in sequences.items():
        slots = max(len(f) for f in frames)
        annots = np.empty((len(frames), slots), dtype=object)
        occl = np.empty((len(frames), slots), dtype=object)
        for i, frame in enumerate(frames):
            for k in range(slots):
                slot = frame[k] if k < len(frame) else None
                if slot is None:
                    annots[i, k] = np.zeros((0, 0))
                    occl[i, k] = np.zeros((0, 0))
                    continue
                labels = np.zeros((1, 17))
                labels[0, np.asarray(slot.get('occluded', []), int) - 1] = 1
                annots[i, k] = {'annot2': slot['p2d'].T,
                                # annot3 differs from univ_annot3: the evaluator must use univ
                                'annot3': (slot['univ'] + [300., 0., 0.]).T,
                                'univ_annot3': slot['univ'].T,
                                'isValidFrame': np.array([[slot.get('valid', 1)]], float)}
                occl[i, k] = labels
        folder = osp.join(gt_dir, f'TS{num}')
        os.makedirs(folder, exist_ok=True)
        scipy.io.savemat(osp.join(folder, 'annot.mat'), {'annotations': annots})
        scipy.io.savemat(osp.join(folder, 'occlusion.mat'), {'occlusion_labels': occl})


def write_preds(pred_dir, preds):
    """`preds`: {key: [(p3d (17,3), p2d (17,2)), ...]} -> the two section-7 .mat files."""
    d2 = {k: np.array([p[1] for p in v]).reshape(-1, 17, 2) for k, v in preds.items()}
    d3 = {k: np.array([p[0] for p in v]).reshape(-1, 17, 3) for k, v in preds.items()}
    p2, p3 = osp.join(pred_dir, ev_preds.PRED_2D_NAME), osp.join(pred_dir, ev_preds.PRED_3D_NAME)
    scipy.io.savemat(p2, d2)
    scipy.io.savemat(p3, d3)
    return p2, p3


@pytest.fixture
def scene(tmp_path):
    """TS1: 2 frames x people A, B (all valid); TS2: person C in 2 frames, person D invalid in
    frame 0 and valid in frame 1, plus an empty slot. 7 evaluated person-instances in all."""
    A, B = make_person(-1000), make_person(1000, 6000)
    Cp, D = make_person(0, 4000, 1.1), make_person(1500, 5000, 0.9)

    def slot(person, **kw):
        return dict(univ=person[0], p2d=person[1], **kw)

    seqs = {1: [[slot(A, occluded=[1, 5, 11, 16]), slot(B)],
                [slot(A), slot(B, occluded=[4])]],
            2: [[slot(Cp), slot(D, valid=0), None],
                [slot(Cp), slot(D), None]]}
    gt_dir = str(tmp_path / 'MultiPersonTestSet')
    write_kit(gt_dir, seqs)
    preds = {'TS1_img_000000': [A, B], 'TS1_img_000001': [A, B],
             'TS2_img_000000': [Cp], 'TS2_img_000001': [Cp, D]}
    return {'gt_dir': gt_dir, 'preds': preds, 'people': dict(A=A, B=B, C=Cp, D=D),
            'pred_dir': str(tmp_path)}


def run(scene, preds=None, mode='all', relative=True, out_dir=None):
    p2, p3 = write_preds(scene['pred_dir'], scene['preds'] if preds is None else preds)
    return ev.evaluate_mupots(p2, p3, scene['gt_dir'], mode, relative, out_dir=out_dir,
                              verbose=False)


# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize('mode', ['all', 'matched'])
@pytest.mark.parametrize('relative', [True, False])
def test_ground_truth_predictions_are_perfect(scene, mode, relative):
    m = run(scene, mode=mode, relative=relative)
    assert m['pck'] == 100. and m['pck_pooled'] == 100.
    assert m['auc'] == pytest.approx(GT_AUC, abs=1e-9)
    assert m['auc_pooled'] == pytest.approx(GT_AUC, abs=1e-9)
    assert m['sequences']['TS1']['all']['num_people'] == 4
    assert m['sequences']['TS2']['all']['num_people'] == 3       # D invalid once, empty slot
    assert m['pooled']['all']['num_joints'] == 7 * 14
    for group in ('head', 'neck', 'shoulders', 'ankles', 'total'):
        assert m['mean']['all']['pck'][group] == 100.


def test_moving_one_person_200mm_drops_exactly_that_person(scene):
    A, B = scene['people']['A'], scene['people']['B']
    moved = (A[0] + np.array([0., 200., 0.]), A[1])       # 3D moved, 2D unchanged
    preds = dict(scene['preds'], TS1_img_000000=[moved, B])
    m = run(scene, preds, relative=False)
    ts1 = m['sequences']['TS1']
    assert ts1['all']['pck']['total'] == 75.
    assert ts1['all']['auc']['total'] == pytest.approx(0.75 * GT_AUC, abs=1e-9)
    assert m['sequences']['TS2']['all']['pck']['total'] == 100.
    assert m['pck'] == 87.5
    assert m['pck_pooled'] == pytest.approx(600. / 7, abs=1e-9)
    for group in ('head', 'elbows', 'knees'):
        assert ts1['all']['pck'][group] == 75.
    # A frame 0 has joints 1, 5, 11 occluded (16 is not evaluated); B frame 1 has joint 4
    assert ts1['visible']['num_joints'] == 4 * 14 - 4
    assert ts1['visible']['pck']['total'] == pytest.approx(100. * 41 / 52, abs=1e-9)
    assert ts1['occluded']['num_joints'] == 4
    assert ts1['occluded']['pck']['total'] == 25.
    assert ts1['occluded']['pck']['head'] == 0. and ts1['occluded']['pck']['elbows'] == 100.
    assert np.isnan(ts1['occluded']['pck']['neck'])                  # no occluded neck
    assert np.isnan(m['sequences']['TS2']['occluded']['pck']['total'])
    assert m['mean']['occluded']['pck']['total'] == 25.            # TS2 has no occluded joint
    # a rigid move of the whole person leaves the root-relative pose unchanged
    assert run(scene, preds, relative=True)['pck'] == 100.


def test_missing_prediction_changes_all_but_not_matched(scene):
    A = scene['people']['A']
    preds = dict(scene['preds'], TS1_img_000001=[A])       # B is not predicted in frame 1
    all_mode = run(scene, preds, mode='all')
    assert all_mode['sequences']['TS1']['all']['pck']['total'] == 75.
    assert all_mode['sequences']['TS1']['all']['num_people'] == 4
    assert all_mode['pck_pooled'] == pytest.approx(600. / 7, abs=1e-9)
    matched = run(scene, preds, mode='matched')
    assert matched['sequences']['TS1']['all']['pck']['total'] == 100.
    assert matched['sequences']['TS1']['all']['num_people'] == 3
    assert matched['pck'] == 100.


def test_frame_without_any_prediction_key(scene):
    preds = {k: v for k, v in scene['preds'].items() if k != 'TS2_img_000000'}
    m = run(scene, preds, mode='all')
    assert m['sequences']['TS2']['all']['pck']['total'] == pytest.approx(200. / 3, abs=1e-9)
    assert run(scene, preds, mode='matched')['sequences']['TS2']['all']['num_people'] == 2


def test_swapped_people_are_matched_to_the_right_identities(scene):
    A, B = scene['people']['A'], scene['people']['B']
    gt_2d = np.stack([A[1], B[1]])
    assert ev_match.match_people(gt_2d, np.stack([B[1], A[1]])).tolist() == [1, 0]
    assert ev_match.match_people(gt_2d, np.stack([A[1], B[1]])).tolist() == [0, 1]
    preds = dict(scene['preds'], TS1_img_000000=[B, A], TS1_img_000001=[B, A])
    m = run(scene, preds, relative=False)
    assert m['pck'] == 100.


def test_matching_rules():
    gt = np.round(make_person(0)[1] * 4) / 4      # exact binary fractions: x + 40 - x == 40
    gt_2d = gt[None]
    # 39.9 px is close, 40 px is not (strict)
    near = gt + 39.9
    far = gt.copy()
    far[:, 0] += 40.
    assert ev_match.match_scores(gt_2d, np.stack([near, far])).tolist() == [[13, 0]]
    assert ev_match.match_people(gt_2d, far[None]).tolist() == [-1]
    # a joint at exactly (0, 0) is invisible; only joints 2..14 count
    partial = gt.copy()
    partial[1:6] = 0.
    partial[0] += 500.               # head-top far away: not used for matching anyway
    assert ev_match.match_scores(gt_2d, partial[None]).tolist() == [[8]]
    # ties go to the lowest index; a taken prediction is not reused
    assert ev_match.match_people(gt_2d, np.stack([far, gt, gt])).tolist() == [1]
    assert ev_match.match_people(np.stack([gt, gt]), np.stack([gt, gt])).tolist() == [0, 1]
    # best score wins over order
    assert ev_match.match_people(gt_2d, np.stack([partial, gt])).tolist() == [1]
    assert ev_match.match_people(gt_2d, np.zeros((0, 17, 2))).tolist() == [-1]


def test_bone_rescaling_of_a_scaled_copy_returns_ground_truth():
    gt, _ = make_person(300, 4500)
    root = gt[14]
    pred = root + (gt - root) * 1.37 + np.array([50., -20., 10.])   # other size and place
    out = ev_match.rescale_bones(pred, gt)
    np.testing.assert_allclose(out - out[14], gt - root, atol=1e-9)
    np.testing.assert_allclose(out[14], pred[14])                   # the root stays
    np.testing.assert_allclose(ev_match.rescale_bones(root + (gt - root) * 0.6, gt), gt, atol=1e-9)
    # batched and relative use give the same answer
    both = ev_match.rescale_bones(np.stack([pred, pred]), np.stack([gt, gt]))
    np.testing.assert_allclose(both[1], out)
    # bone directions come from the prediction: a bent arm stays bent, lengths come from gt
    bent = gt.copy()
    bent[4] = bent[3] + np.array([0., 0., 123.])                    # R wrist straight ahead
    res = ev_match.rescale_bones(bent, gt)
    gt_len = np.linalg.norm(gt[4] - gt[3])
    np.testing.assert_allclose(res[4] - res[3], [0., 0., gt_len], atol=1e-9)


def test_bone_rescaling_walks_parents_first():
    order = ev_match.BONE_ORDER_1BASED
    assert sorted(order + (ev_match.ROOT_1BASED,)) == list(range(1, 18))
    seen = {ev_match.ROOT_1BASED}
    for joint in order:
        assert ev_match.PARENTS_1BASED[joint - 1] in seen
        seen.add(joint)


def test_auc_of_a_constant_error():
    errors = np.full((3, 17), 52.)
    mask = np.ones((3, 17), bool)
    m = ev_metrics.group_metrics(errors, mask)
    assert m['pck']['total'] == 100.
    assert m['auc']['total'] == pytest.approx(100. * 20 / 31, abs=1e-9)   # 55..150 mm
    m = ev_metrics.group_metrics(np.full((1, 17), 150.), np.ones((1, 17), bool))
    assert m['pck']['total'] == 0.                                        # strictly below
    assert m['auc']['total'] == 0.
    errors = np.full((2, 17), 10.)
    errors[0, :14] = np.inf
    m = ev_metrics.group_metrics(errors, mask[:2])
    assert m['pck']['head'] == 50.
    assert m['auc']['total'] == pytest.approx(50. * 28 / 31)     # correct at 15..150 mm
    assert m['num_joints'] == 28 and m['num_people'] == 2


def test_group_totals_weighted_by_joint_count():
    errors = np.zeros((1, 17))
    errors[0, 0] = 500.                       # head wrong: 1 of 14 joints
    m = ev_metrics.group_metrics(errors, np.ones((1, 17), bool))
    assert m['pck']['head'] == 0. and m['pck']['shoulders'] == 100.
    assert m['pck']['total'] == pytest.approx(100. * 13 / 14)


def test_csv_files_written(scene, tmp_path):
    A, B = scene['people']['A'], scene['people']['B']
    moved = (A[0] + 200., A[1])
    out = tmp_path / 'csv'
    m = run(scene, dict(scene['preds'], TS1_img_000000=[moved, B]), relative=False,
            out_dir=str(out))
    names = sorted(osp.basename(p) for p in m['files'])
    assert names == ['mupots_all_absolute_multiperson_3dhp_evaluation_sequencewise.csv',
                     'mupots_all_absolute_multiperson_3dhp_evaluation_sequencewise_occluded.csv',
                     'mupots_all_absolute_multiperson_3dhp_evaluation_sequencewise_visible.csv']
    with open(m['files'][0]) as f:
        rows = list(csv.DictReader(f))
    assert [r['sequence'] for r in rows] == ['TS1', 'TS2', 'mean', 'pooled']
    assert float(rows[0]['pck_total']) == 75. and rows[0]['people'] == '4'
    assert float(rows[2]['pck_total']) == 87.5
    assert float(rows[3]['pck_total']) == pytest.approx(85.7143, abs=1e-4)
    assert float(rows[1]['auc_total']) == pytest.approx(GT_AUC, abs=1e-4)
    assert not list(out.glob('.*.tmp'))


def test_table_printed(scene, capsys):
    p2, p3 = write_preds(scene['pred_dir'], scene['preds'])
    ev.evaluate_mupots(p2, p3, scene['gt_dir'], 'matched', False)
    text = capsys.readouterr().out
    assert 'absolute 3D, only matched people' in text
    assert 'TS2' in text and 'pooled' in text and '100.00' in text


def test_find_kit_ground_truth(tmp_path):
    gt_dir, present = ev_kit.find_kit_ground_truth(str(tmp_path))
    assert gt_dir == osp.join(str(tmp_path), 'MuPoTS', 'data', 'MultiPersonTestSet')
    assert present is False
    assert ev.evaluate_if_present({}, {}, str(tmp_path), str(tmp_path), verbose=False) is None
    A = make_person(0)
    write_kit(gt_dir, {3: [[dict(univ=A[0], p2d=A[1])]]})
    assert ev_kit.find_kit_ground_truth(str(tmp_path)) == (gt_dir, True)
    res = ev.evaluate_if_present(*_dicts({'TS3_img_000000': [A]}), str(tmp_path), str(tmp_path),
                                 verbose=False)
    assert sorted(res) == ['all_absolute', 'all_relative', 'matched_absolute',
                           'matched_relative']
    assert all(r['pck'] == 100. for r in res.values())
    assert len(list(tmp_path.glob('mupots_*_sequencewise*.csv'))) == 12


def test_errors_name_the_file(scene, tmp_path):
    p2, p3 = write_preds(scene['pred_dir'], scene['preds'])
    with pytest.raises(PoseNetError, match='not found: .*nothing.mat'):
        ev.evaluate_mupots(str(tmp_path / 'nothing.mat'), p3, scene['gt_dir'])
    with pytest.raises(PoseNetError, match='no TS<n>/annot.mat'):
        ev.evaluate_mupots(p2, p3, str(tmp_path))
    with pytest.raises(PoseNetError, match="'all' .* or 'matched'"):
        ev.evaluate_mupots(p2, p3, scene['gt_dir'], eval_mode='some')
    A = scene['people']['A']
    p2, p3 = write_preds(scene['pred_dir'], {'TS9_img_000000': [A]})
    with pytest.raises(PoseNetError, match='names a frame of the ground truth'):
        ev.evaluate_mupots(p2, p3, scene['gt_dir'])
    os.remove(osp.join(scene['gt_dir'], 'TS2', 'occlusion.mat'))
    with pytest.raises(PoseNetError, match='occlusion file not found'):
        ev.evaluate_mupots(p2, p3, scene['gt_dir'])


def test_command_line(scene, tmp_path, capsys):
    write_preds(scene['pred_dir'], scene['preds'])
    m = ev.main(['--pred_dir', scene['pred_dir'], '--gt_dir', scene['gt_dir'],
                 '--mode', 'matched', '--absolute'])
    assert m['pck'] == 100. and m['mode'] == 'matched' and not m['is_relative']
    assert 'only matched' in capsys.readouterr().out
    assert osp.isfile(osp.join(scene['pred_dir'], 'mupots_matched_absolute_multiperson_3dhp_'
                                                  'evaluation_sequencewise.csv'))
    script = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'data', 'MuPoTS',
                      'mupots_eval.py')
    proc = subprocess.run([sys.executable, script, '--pred_dir', str(tmp_path / 'missing'),
                           '--gt_dir', scene['gt_dir']], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.count('\n') == 1 and 'Traceback' not in proc.stderr
    assert proc.stderr.startswith('error: MuPoTS 2D prediction file not found')


def run_matlab_script(scene, out_dir):
    """mpii_mupots_multiperson_eval('all', 1, ...) in GNU Octave on the scene's written
    predictions, CSV files into `out_dir`; returns the finished process."""
    mfile_dir = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'data', 'MuPoTS')
    call = (f"addpath('{mfile_dir}'); r = mpii_mupots_multiperson_eval('all', 1, "
            f"'{scene['gt_dir']}', '{scene['pred_dir']}', '{out_dir}');")
    return subprocess.run(['octave-cli', '--no-gui', '-q', '--eval', call],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(shutil.which('octave-cli') is None, reason='GNU Octave is not installed')
def test_matlab_script_gives_the_same_numbers(scene, tmp_path):
    """Run mpii_mupots_multiperson_eval.m in GNU Octave on noisy predictions (a swapped order,
    a missing person, an all-zero 2D person) and compare its CSV with the Python evaluator's."""
    rng = np.random.default_rng(0)
    P = scene['people']

    def noisy(person):
        return person[0] + rng.normal(0, 60, (17, 3)), person[1] + rng.normal(0, 10, (17, 2))
    preds = {'TS1_img_000000': [noisy(P['B']), noisy(P['A'])],
             'TS1_img_000001': [noisy(P['A'])], 'TS2_img_000000': [noisy(P['C'])],
             'TS2_img_000001': [noisy(P['D']), (P['C'][0], np.zeros((17, 2))), noisy(P['C'])]}
    py = run(scene, preds, mode='all', relative=True, out_dir=str(tmp_path / 'py'))
    proc = run_matlab_script(scene, str(tmp_path / 'm'))
    name = osp.basename(py['files'][0])
    assert osp.isfile(tmp_path / 'm' / name), proc.stdout + proc.stderr
    with open(py['files'][0]) as f:
        expected = list(csv.reader(f))
    with open(tmp_path / 'm' / name) as f:
        got = list(csv.reader(f))
    assert got[0] == expected[0] and [r[0] for r in got] == [r[0] for r in expected]
    np.testing.assert_allclose([[float(v) for v in r[1:]] for r in got[1:]],
                               [[float(v) for v in r[1:]] for r in expected[1:]], atol=1e-4)
    assert 0 < py['pck'] < 100


@pytest.mark.skipif(shutil.which('octave-cli') is None, reason='GNU Octave is not installed')
def test_matlab_script_follows_the_kit_corner_cases_like_python(scene, tmp_path):
    """A zero-length predicted bone (NaN below it) and the visible / occluded tables: the
    MATLAB script and the Python evaluator agree on all three CSV files."""
    rng = np.random.default_rng(1)
    P = scene['people']
    collapsed = P['A'][0] + rng.normal(0, 30, (17, 3))
    collapsed[8] = collapsed[14]                        # right hip on the pelvis: zero bone
    preds = {'TS1_img_000000': [(collapsed, P['A'][1]), (P['B'][0] + 150., P['B'][1])],
             'TS1_img_000001': [P['A'], P['B']], 'TS2_img_000000': [P['C']],
             'TS2_img_000001': [P['D'], P['C']]}
    py = run(scene, preds, mode='all', relative=True, out_dir=str(tmp_path / 'py'))
    proc = run_matlab_script(scene, str(tmp_path / 'm'))
    assert len(py['files']) == 3
    for path in py['files']:
        name = osp.basename(path)
        assert osp.isfile(tmp_path / 'm' / name), proc.stdout + proc.stderr
        expected = list(csv.reader(open(path)))
        got = list(csv.reader(open(tmp_path / 'm' / name)))
        assert got[0] == expected[0]
        np.testing.assert_allclose([[float(v) for v in r[1:]] for r in got[1:]],
                                   [[float(v) for v in r[1:]] for r in expected[1:]], atol=1e-4,
                                   err_msg=name)
    assert py['pck'] < 100


def test_generated_kit_through_loader_and_evaluate(tmp_path):
    """Generated MuPoTS tree: ground truth turned into network outputs, exported by
    `MuPoTS.evaluate`, scored against the generator's annot.mat / occlusion.mat."""
    from data.MuPoTS.MuPoTS import MuPoTS        # a missing module fails, not skips
    from main.config import Config
    from tool.synthetic_data import generate
    truth = generate(str(tmp_path), datasets=['MuPoTS'], seed=1, num_sequences=2,
                     num_frames=3)['MuPoTS']
    cfg = Config(data_dir=str(tmp_path))
    db = MuPoTS('test', cfg)
    preds = np.zeros((len(db.data), db.joint_num, 3))
    h_out, w_out = cfg.output_shape
    for n, e in enumerate(db.data):                   # inverse of the heatmap -> image mapping
        x, y, z = np.asarray(e['joint_img'], np.float64).T
        bx, by, bw, bh = e['bbox']
        preds[n, :17] = np.stack([(x - bx) / bw * w_out, (y - by) / bh * h_out,
                                  (z / (cfg.bbox_3d_shape[0] / 2) + 1) / 2 * cfg.depth_dim], 1)
    gt_dir, present = ev_kit.find_kit_ground_truth(str(tmp_path))
    assert present
    # the kit lies under data_dir: evaluate scores the exported predictions from memory
    res = db.evaluate(preds, str(tmp_path / 'result'))['3dpck']
    from_files = ev.evaluate_mupots(str(tmp_path / 'result' / ev_preds.PRED_2D_NAME),
                                    str(tmp_path / 'result' / ev_preds.PRED_3D_NAME), gt_dir,
                                    verbose=False)
    assert from_files['sequences'] == res['all_relative']['sequences']
    valid = sum(int(np.sum(img['is_valid'])) for img in truth['images'].values())
    occluded = sum(int(np.sum(np.asarray(img['occluded'])[np.asarray(img['is_valid'], bool)]
                              [:, :14])) for img in truth['images'].values())
    for key, m in res.items():
        assert m['pck'] == 100. and m['pck_pooled'] == 100., key
        assert m['auc'] == pytest.approx(GT_AUC, abs=1e-9), key     # errors < 5 mm
        assert m['pooled']['all']['num_people'] == valid
        assert m['pooled']['occluded']['num_joints'] == occluded
    # the same tree with one sequence's predictions shifted by 200 mm (absolute 3D) in a copy
    mats = scipy.io.loadmat(str(tmp_path / 'result' / ev_preds.PRED_3D_NAME))
    moved = {k: v + (200. if k.startswith('TS1_') else 0.) for k, v in mats.items()
             if not k.startswith('__')}
    scipy.io.savemat(str(tmp_path / 'moved3d.mat'), moved)
    m = ev.evaluate_mupots(str(tmp_path / 'result' / ev_preds.PRED_2D_NAME),
                           str(tmp_path / 'moved3d.mat'), gt_dir, 'all', False, verbose=False)
    assert m['sequences']['TS1']['all']['pck']['total'] == 0.
    assert m['sequences']['TS2']['all']['pck']['total'] == 100. and m['pck'] == 50.


# -- the official kit's corner cases -----------------------------------------------------------
def test_ground_truth_joint_at_origin_still_counts_in_matching():
    """The kit gives every ground-truth joint visibility 1; only predictions at (0, 0) are
    invisible."""
    gt = np.zeros((1, 17, 2))                                 # 2D annotation all at (0, 0)
    near = np.full((1, 17, 2), 3.)                            # 3 px away, not at (0, 0)
    assert ev_match.match_scores(gt, near).tolist() == [[13]]       # joints 2..14
    assert ev_match.match_people(gt, near).tolist() == [0]
    # a predicted joint at exactly (0, 0) stays invisible, even on a ground truth at (0, 0)
    assert ev_match.match_scores(gt, np.zeros((1, 17, 2))).tolist() == [[0]]
    assert ev_match.match_people(gt, np.zeros((1, 17, 2))).tolist() == [-1]
    half = near.copy()
    half[0, 1:8] = 0.                                          # joints 2..8 invisible
    assert ev_match.match_scores(gt, half).tolist() == [[6]]
    # explicit visibility still overrides the default
    gt_vis = np.ones((1, 17), bool)
    gt_vis[0, 1:4] = False
    assert ev_match.match_scores(gt, near, gt_vis=gt_vis).tolist() == [[10]]


def test_ground_truth_at_origin_matched_in_a_kit(tmp_path):
    """A kit person whose annot2 is all zeros is matched by a prediction near (0, 0)."""
    A = make_person(0)
    gt_dir = str(tmp_path / 'gt')
    write_kit(gt_dir, {1: [[dict(univ=A[0], p2d=np.zeros((17, 2)))]]})
    p2, p3 = write_preds(str(tmp_path), {'TS1_img_000000': [(A[0], np.full((17, 2), 5.))]})
    m = ev.evaluate_mupots(p2, p3, gt_dir, 'matched', True, verbose=False)
    assert m['pck'] == 100. and m['pooled']['all']['num_people'] == 1
    p2, p3 = write_preds(str(tmp_path), {'TS1_img_000000': [(A[0], np.zeros((17, 2)))]})
    assert ev.evaluate_mupots(p2, p3, gt_dir, 'all', True, verbose=False)['pck'] == 0.


def test_zero_length_predicted_bone_gives_nan_below_it():
    gt, _ = make_person(0)
    pred = gt.copy()
    pred[3] = pred[2]                   # R elbow (4) on R shoulder (3): bone 3 -> 4 is zero
    out = ev_match.rescale_bones(pred, gt)
    nan_rows = np.flatnonzero(np.isnan(out).any(axis=1)).tolist()
    assert nan_rows == [3, 4]           # elbow and the wrist below it (0-based 3, 4)
    assert np.isnan(out[[3, 4]]).all()
    keep = [i for i in range(17) if i not in (3, 4)]
    np.testing.assert_allclose(out[keep], gt[keep], atol=1e-9)
    # a zero ground-truth bone with a non-zero predicted one is 0 / length = 0, not NaN
    flat_gt = gt.copy()
    flat_gt[4] = flat_gt[3]
    res = ev_match.rescale_bones(gt, flat_gt)
    np.testing.assert_allclose(res[4], res[3])
    errors = ev_match.person_errors(pred[None], gt[None], np.array([True]), is_relative=True)
    assert np.flatnonzero(np.isnan(errors[0])).tolist() == [3, 4]
    m = ev_metrics.group_metrics(errors, np.ones((1, 17), bool))
    assert m['pck']['total'] == pytest.approx(100. * 12 / 14)   # NaN < 150 is false
    assert m['pck']['elbows'] == 50. and m['pck']['wrists'] == 50.
    m = ev_metrics.group_metrics(errors, np.ones((1, 17), bool), inclusive=True)
    assert m['pck']['total'] == pytest.approx(100. * 12 / 14)   # NaN counts wrong here too


def test_zero_bone_in_a_kit_is_wrong_in_every_table(scene):
    """B's right hip predicted on the pelvis: hip, knee and ankle are NaN, so wrong (keeping the
    hip on the pelvis instead would leave all three within 150 mm: hip 110 mm off)."""
    A, B = scene['people']['A'], scene['people']['B']
    collapsed = B[0].copy()
    collapsed[8] = collapsed[14]                              # B, frame 0: R hip on the pelvis
    preds = dict(scene['preds'], TS1_img_000000=[A, (collapsed, B[1])])
    ts1 = run(scene, preds, relative=True)['sequences']['TS1']
    assert ts1['all']['pck']['total'] == pytest.approx(100. * 53 / 56, abs=1e-9)
    assert ts1['all']['auc']['total'] == pytest.approx(GT_AUC * 53 / 56, abs=1e-9)
    for group in ('hips', 'knees', 'ankles'):
        assert ts1['all']['pck'][group] == pytest.approx(100. * 7 / 8)
    assert ts1['all']['pck']['shoulders'] == 100.
    assert ts1['visible']['pck']['total'] == pytest.approx(100. * 49 / 52, abs=1e-9)
    assert ts1['occluded']['pck']['total'] == 100.


def test_exactly_150mm_is_wrong_in_the_main_table_and_right_in_visible_occluded():
    errors = np.full((1, 17), 150.)
    mask = np.ones((1, 17), bool)
    assert ev_metrics.group_metrics(errors, mask)['pck']['total'] == 0.
    inc = ev_metrics.group_metrics(errors, mask, inclusive=True)
    assert inc['pck']['total'] == 100.
    assert inc['auc']['total'] == 0.            # the AUC keeps error < t (kit has none here)
    assert ev_metrics.pck_and_auc([150., 150.000001, np.nan, np.inf], inclusive=True) == (25., 0.)
    assert ev_metrics.pck_and_auc([149.999, 150.], inclusive=False)[0] == 50.


def test_exactly_150mm_in_a_kit(scene):
    """Person A of TS1 frame 0 moved 150 mm in 3D (integers: every error is exactly 150)."""
    A, B = scene['people']['A'], scene['people']['B']
    moved = (A[0] + np.array([150., 0., 0.]), A[1])
    errors = ev_match.person_errors(moved[0][None], A[0][None], np.array([True]), is_relative=False)
    assert np.all(errors == 150.)
    m = run(scene, dict(scene['preds'], TS1_img_000000=[moved, B]), relative=False)
    ts1 = m['sequences']['TS1']
    assert ts1['all']['pck']['total'] == 75.                  # 150 < 150 is false
    assert ts1['all']['auc']['total'] == pytest.approx(0.75 * GT_AUC, abs=1e-9)
    assert ts1['visible']['pck']['total'] == 100.             # 150 > 150 is false
    assert ts1['visible']['auc']['total'] == pytest.approx(GT_AUC * 41 / 52, abs=1e-9)
    assert ts1['occluded']['pck']['total'] == 100.
    assert ts1['occluded']['auc']['total'] == pytest.approx(GT_AUC / 4, abs=1e-9)
    assert m['pooled']['visible']['pck']['total'] == 100.
    assert m['mean']['occluded']['pck']['total'] == 100.
    # 150 mm in the main table of the pooled people: 14 of 98 joints wrong
    assert m['pck_pooled'] == pytest.approx(100. * 84 / 98, abs=1e-9)


def test_frames_matched_at_once_equal_frame_by_frame():
    A, B = make_person(-1000)[1], make_person(1000, 6000)[1]
    far = A + 500.
    # frame 0: gt A, B; preds B, A.  frame 1: gt A; preds far, A, A (tie -> lowest index)
    # frame 2: gt B, B; pred B (one prediction serves only the first)
    gt = np.stack([A, B, A, B, B])
    gt_frame = [0, 0, 1, 2, 2]
    pred = np.stack([B, A, far, A, A, B])
    pred_frame = [0, 0, 1, 1, 1, 2]
    assert ev_match.match_frames(gt, gt_frame, pred, pred_frame).tolist() == [1, 0, 3, 5, -1]
    # frames without predictions or without ground truth
    assert ev_match.match_frames(gt[:2], [0, 0], pred[5:], [1]).tolist() == [-1, -1]
    assert ev_match.match_frames(gt[2:3], [3], pred[:2], [0, 0]).tolist() == [-1]
    assert ev_match.match_frames(gt[:0], [], pred, pred_frame).tolist() == []
    with pytest.raises(ValueError, match='non-decreasing'):
        ev_match.match_frames(gt, [0, 1, 0, 2, 2], pred, pred_frame)


# -- prediction checks -------------------------------------------------------------------------
def _save(path, **variables):
    scipy.io.savemat(str(path), variables)
    return str(path)


def test_loadmat_keeps_a_single_persons_leading_axis(tmp_path):
    """What scipy gives back for one person: (1, 17, 2) stays (1, 17, 2), so that is the only
    single-person shape accepted."""
    one = np.arange(34.).reshape(1, 17, 2)
    path = _save(tmp_path / 'one.mat', TS1_img_000000=one)
    assert scipy.io.loadmat(path)['TS1_img_000000'].shape == (1, 17, 2)
    got = ev_preds.read_pred_mat(path, 2)
    assert list(got) == ['TS1_img_000000'] and got['TS1_img_000000'].shape == (1, 17, 2)
    np.testing.assert_array_equal(got['TS1_img_000000'], one)
    bare = _save(tmp_path / 'bare.mat', TS1_img_000000=one[0])
    with pytest.raises(PoseNetError, match=r"bare.mat: variable 'TS1_img_000000' has shape "
                                           r"\(17, 2\).*one person is \(1, 17, 2\)"):
        ev_preds.read_pred_mat(bare, 2)
    empty = _save(tmp_path / 'empty.mat', TS1_img_000000=np.zeros((0, 17, 3)))
    assert ev_preds.read_pred_mat(empty, 3)['TS1_img_000000'].shape == (0, 17, 3)


@pytest.mark.parametrize('shape, dim', [((2, 2, 17), 2), ((2, 3, 17), 3), ((2, 17, 3), 2),
                                        ((2, 17, 2), 3), ((34, 2), 2), ((2, 17, 2, 2), 2)])
def test_wrong_shapes_are_refused_not_reshaped(tmp_path, shape, dim):
    path = _save(tmp_path / 'p.mat', TS2_img_000004=np.ones(shape))
    with pytest.raises(PoseNetError) as err:
        ev_preds.read_pred_mat(path, dim)
    msg = str(err.value)
    assert path in msg and "'TS2_img_000004'" in msg and f'(persons, 17, {dim})' in msg
    assert '\n' not in msg


@pytest.mark.parametrize('bad', [np.nan, np.inf, -np.inf])
def test_non_finite_predictions_are_refused(scene, bad):
    A, B = scene['people']['A'], scene['people']['B']
    broken = A[0].copy()
    broken[7, 2] = bad
    p2, p3 = write_preds(scene['pred_dir'],
                         dict(scene['preds'], TS1_img_000001=[B, (broken, A[1])]))
    with pytest.raises(PoseNetError, match=r"preds_3d_kpt_mupots.mat: variable 'TS1_img_000001'"
                                           r" holds NaN or inf \(person 1, joint 7\)"):
        ev.evaluate_mupots(p2, p3, scene['gt_dir'], verbose=False)


def test_files_without_predictions_or_with_odd_content_are_refused(scene, tmp_path):
    A = scene['people']['A']
    p2, p3 = write_preds(scene['pred_dir'], scene['preds'])
    nothing = _save(tmp_path / 'nothing.mat')
    with pytest.raises(PoseNetError, match=r'nothing.mat: no prediction variables'):
        ev.evaluate_mupots(nothing, p3, scene['gt_dir'], verbose=False)
    text = _save(tmp_path / 'text.mat', TS1_img_000000='hello')
    with pytest.raises(PoseNetError, match=r"text.mat: variable 'TS1_img_000000' (is not a "
                                           r"numeric array|has shape)"):
        ev_preds.read_pred_mat(text, 2)
    # the two files disagree on images or on people
    other2 = _save(tmp_path / 'other2.mat', TS1_img_000000=A[1][None],
                   TS1_img_000005=A[1][None])
    with pytest.raises(PoseNetError, match='hold different images'):
        ev.evaluate_mupots(other2, p3, scene['gt_dir'], verbose=False)
    (tmp_path / 'one').mkdir()
    one_2d, _ = write_preds(str(tmp_path / 'one'), dict(scene['preds'], TS1_img_000000=[A]))
    with pytest.raises(PoseNetError, match=r"'TS1_img_000000': 1 persons in .*one.preds_2d_kpt_"
                                           r"mupots.mat but 2 in .*preds_3d_kpt_mupots.mat"):
        ev_preds.load_predictions(one_2d, p3)


def test_keys_naming_no_frame(scene, capsys):
    A = scene['people']['A']
    preds = dict(scene['preds'], TS9_img_000000=[A], TS1_img_000099=[A])
    m = run(scene, preds)
    assert m['unused_keys'] == 2 and m['pck'] == 100.
    ev.score_predictions(*_dicts(preds), scene['gt_dir'])
    assert '2 prediction key(s) name no frame of the ground truth' in capsys.readouterr().out
    with pytest.raises(PoseNetError, match=r"no prediction key of pred_2d \(e.g. "
                                           r"'TS9_img_000000'\) names a frame"):
        ev.score_predictions(*_dicts({'TS9_img_000000': [A]}), scene['gt_dir'], verbose=False)


def test_coco_keys_load_in_the_shared_reader(tmp_path):
    """The viewer's reader: no ground-truth key check, COCO keys load."""
    pose = np.arange(102.).reshape(2, 17, 3)
    path = _save(tmp_path / 'preds_3d_kpt_coco.mat', coco_000000000139=pose,
                 coco_000000000285=pose[:1])
    got = ev_preds.read_pred_mat(path, 3, 'result file')
    assert list(got) == ['coco_000000000139', 'coco_000000000285']
    np.testing.assert_array_equal(got['coco_000000000285'], pose[:1])
    with pytest.raises(PoseNetError, match=r'^result file not found: .*missing.mat; run '
                                           r'main/test.py'):
        ev_preds.read_pred_mat(str(tmp_path / 'missing.mat'), 3, 'result file')


# -- in-memory scoring -------------------------------------------------------------------------
def _dicts(preds):
    """{key: [(p3d, p2d), ...]} -> ({key: (P, 17, 2)}, {key: (P, 17, 3)})."""
    return ({k: np.array([p[1] for p in v]).reshape(-1, 17, 2) for k, v in preds.items()},
            {k: np.array([p[0] for p in v]).reshape(-1, 17, 3) for k, v in preds.items()})


def test_score_predictions_in_memory_equals_the_files(scene, tmp_path):
    A, B = scene['people']['A'], scene['people']['B']
    preds = dict(scene['preds'], TS1_img_000000=[(A[0] + [0., 200., 0.], A[1]), B],
                 TS1_img_000001=[A])
    pred_2d, pred_3d = _dicts(preds)
    from_files = run(scene, preds, relative=False)
    in_memory = ev.score_predictions(pred_2d, pred_3d, scene['gt_dir'], 'all', False,
                                     verbose=False)
    kit = ev_kit.load_kit(scene['gt_dir'])
    from_kit = ev.score_predictions(pred_2d, pred_3d, kit, 'all_annotated', False,
                                    out_dir=str(tmp_path / 'csv'), verbose=False)
    for m in (in_memory, from_kit):
        assert m['sequences'] == from_files['sequences'] and m['pck'] == from_files['pck']
    assert from_files['sequences']['TS1']['all']['pck']['total'] == 50.   # 2 of 4 wrong
    assert len(from_kit['files']) == 3 and all(osp.isfile(f) for f in from_kit['files'])
    assert not list((tmp_path / 'csv').glob('*.tmp'))


def test_evaluate_all_variants(scene, tmp_path):
    A = scene['people']['A']
    preds = dict(scene['preds'], TS1_img_000001=[A])         # B missing in frame 1
    res = ev.evaluate_all_variants(*_dicts(preds), scene['gt_dir'], out_dir=str(tmp_path / 'o'),
                                   verbose=False)
    assert list(res) == ['all_relative', 'matched_relative', 'all_absolute',
                         'matched_absolute']
    for key, m in res.items():
        mode, kind = key.split('_')
        assert m['mode'] == mode and m['is_relative'] == (kind == 'relative')
        assert m['pck_pooled'] == (pytest.approx(600. / 7) if mode == 'all' else 100.)
    assert len(list((tmp_path / 'o').glob('mupots_*_sequencewise*.csv'))) == 12
    write_preds(scene['pred_dir'], preds)
    gt_root = scene['gt_dir']
    os.makedirs(osp.join(str(tmp_path), 'MuPoTS', 'data'))
    shutil.copytree(gt_root, osp.join(str(tmp_path), 'MuPoTS', 'data', 'MultiPersonTestSet'))
    present = ev.evaluate_if_present(*_dicts(preds), str(tmp_path), str(tmp_path / 'o2'),
                                     verbose=False)
    assert {k: v['sequences'] for k, v in present.items()} == \
        {k: v['sequences'] for k, v in res.items()}


def test_in_memory_checks_name_the_variable(scene):
    A = scene['people']['A']
    pred_2d, pred_3d = _dicts(scene['preds'])
    bad = dict(pred_2d, TS1_img_000000=np.swapaxes(pred_2d['TS1_img_000000'], 1, 2))
    with pytest.raises(PoseNetError, match=r"pred_2d: variable 'TS1_img_000000' has shape "
                                           r"\(2, 2, 17\), expected \(persons, 17, 2\)"):
        ev.score_predictions(bad, pred_3d, scene['gt_dir'], verbose=False)
    nan3d = dict(pred_3d, TS2_img_000000=np.full((1, 17, 3), np.nan))
    with pytest.raises(PoseNetError, match=r"pred_3d: variable 'TS2_img_000000' holds NaN"):
        ev.evaluate_all_variants(pred_2d, nan3d, scene['gt_dir'], verbose=False)
    with pytest.raises(PoseNetError, match=r'pred_2d: no predictions'):
        ev.score_predictions({}, pred_3d, scene['gt_dir'], verbose=False)
    with pytest.raises(PoseNetError, match=r'pred_3d: expected a dict'):
        ev.score_predictions(pred_2d, [A[0]], scene['gt_dir'], verbose=False)
    with pytest.raises(PoseNetError, match=r'gt: expected the kit'):
        ev.score_predictions(pred_2d, pred_3d, [], verbose=False)
    with pytest.raises(PoseNetError, match=r"'matched'"):
        ev.score_predictions(pred_2d, pred_3d, scene['gt_dir'], eval_mode='best')
