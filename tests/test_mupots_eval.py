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
    p2, p3 = osp.join(pred_dir, ev.PRED_2D_NAME), osp.join(pred_dir, ev.PRED_3D_NAME)
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
    assert ev.match_people(gt_2d, np.stack([B[1], A[1]])).tolist() == [1, 0]
    assert ev.match_people(gt_2d, np.stack([A[1], B[1]])).tolist() == [0, 1]
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
    assert ev.match_scores(gt_2d, np.stack([near, far])).tolist() == [[13, 0]]
    assert ev.match_people(gt_2d, far[None]).tolist() == [-1]
    # a joint at exactly (0, 0) is invisible; only joints 2..14 count
    partial = gt.copy()
    partial[1:6] = 0.
    partial[0] += 500.               # head-top far away: not used for matching anyway
    assert ev.match_scores(gt_2d, partial[None]).tolist() == [[8]]
    # ties go to the lowest index; a taken prediction is not reused
    assert ev.match_people(gt_2d, np.stack([far, gt, gt])).tolist() == [1]
    assert ev.match_people(np.stack([gt, gt]), np.stack([gt, gt])).tolist() == [0, 1]
    # best score wins over order
    assert ev.match_people(gt_2d, np.stack([partial, gt])).tolist() == [1]
    assert ev.match_people(gt_2d, np.zeros((0, 17, 2))).tolist() == [-1]


def test_bone_rescaling_of_a_scaled_copy_returns_ground_truth():
    gt, _ = make_person(300, 4500)
    root = gt[14]
    pred = root + (gt - root) * 1.37 + np.array([50., -20., 10.])   # other size and place
    out = ev.rescale_bones(pred, gt)
    np.testing.assert_allclose(out - out[14], gt - root, atol=1e-9)
    np.testing.assert_allclose(out[14], pred[14])                   # the root stays
    np.testing.assert_allclose(ev.rescale_bones(root + (gt - root) * 0.6, gt), gt, atol=1e-9)
    # batched and relative use give the same answer
    both = ev.rescale_bones(np.stack([pred, pred]), np.stack([gt, gt]))
    np.testing.assert_allclose(both[1], out)
    # bone directions come from the prediction: a bent arm stays bent, lengths come from gt
    bent = gt.copy()
    bent[4] = bent[3] + np.array([0., 0., 123.])                    # R wrist straight ahead
    res = ev.rescale_bones(bent, gt)
    gt_len = np.linalg.norm(gt[4] - gt[3])
    np.testing.assert_allclose(res[4] - res[3], [0., 0., gt_len], atol=1e-9)


def test_bone_rescaling_walks_parents_first():
    order = ev.BONE_ORDER_1BASED
    assert sorted(order + (ev.ROOT_1BASED,)) == list(range(1, 18))
    seen = {ev.ROOT_1BASED}
    for joint in order:
        assert ev.PARENTS_1BASED[joint - 1] in seen
        seen.add(joint)


def test_auc_of_a_constant_error():
    errors = np.full((3, 17), 52.)
    mask = np.ones((3, 17), bool)
    m = ev.group_metrics(errors, mask)
    assert m['pck']['total'] == 100.
    assert m['auc']['total'] == pytest.approx(100. * 20 / 31, abs=1e-9)   # 55..150 mm
    m = ev.group_metrics(np.full((1, 17), 150.), np.ones((1, 17), bool))
    assert m['pck']['total'] == 0.                                        # strictly below
    assert m['auc']['total'] == 0.
    errors = np.full((2, 17), 10.)
    errors[0, :14] = np.inf
    m = ev.group_metrics(errors, mask[:2])
    assert m['pck']['head'] == 50.
    assert m['auc']['total'] == pytest.approx(50. * 28 / 31)     # correct at 15..150 mm
    assert m['num_joints'] == 28 and m['num_people'] == 2


def test_group_totals_weighted_by_joint_count():
    errors = np.zeros((1, 17))
    errors[0, 0] = 500.                       # head wrong: 1 of 14 joints
    m = ev.group_metrics(errors, np.ones((1, 17), bool))
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
    gt_dir, present = ev.find_kit_ground_truth(str(tmp_path))
    assert gt_dir == osp.join(str(tmp_path), 'MuPoTS', 'data', 'MultiPersonTestSet')
    assert present is False
    assert ev.evaluate_if_present(str(tmp_path), str(tmp_path), verbose=False) is None
    A = make_person(0)
    write_kit(gt_dir, {3: [[dict(univ=A[0], p2d=A[1])]]})
    assert ev.find_kit_ground_truth(str(tmp_path)) == (gt_dir, True)
    write_preds(str(tmp_path), {'TS3_img_000000': [A]})
    res = ev.evaluate_if_present(str(tmp_path), str(tmp_path), verbose=False)
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
    mfile_dir = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'data', 'MuPoTS')
    call = (f"addpath('{mfile_dir}'); r = mpii_mupots_multiperson_eval('all', 1, "
            f"'{scene['gt_dir']}', '{scene['pred_dir']}', '{tmp_path / 'm'}');")
    proc = subprocess.run(['octave-cli', '--no-gui', '-q', '--eval', call],
                          capture_output=True, text=True, timeout=120)
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


def _generator_and_loader():
    try:
        from data.MuPoTS.MuPoTS import MuPoTS
        from tool.synthetic_data import generate
    except ImportError:
        return None
    return generate, MuPoTS


@pytest.mark.skipif(_generator_and_loader() is None,
                    reason='tool/synthetic_data.py or data/MuPoTS/MuPoTS.py not written yet')
def test_generated_kit_through_loader_and_evaluate(tmp_path):
    """Generated MuPoTS tree: ground truth turned into network outputs, exported by
    `MuPoTS.evaluate`, scored against the generator's annot.mat / occlusion.mat."""
    from main.config import cfg
    generate, MuPoTS = _generator_and_loader()
    truth = generate(str(tmp_path), datasets=['MuPoTS'], seed=1, num_sequences=2,
                     num_frames=3)['MuPoTS']
    cfg.data_dir = str(tmp_path)                      # restored by conftest
    db = MuPoTS('test')
    preds = np.zeros((len(db.data), db.joint_num, 3))
    h_out, w_out = cfg.output_shape
    for n, e in enumerate(db.data):                   # inverse of the heatmap -> image mapping
        x, y, z = np.asarray(e['joint_img'], np.float64).T
        bx, by, bw, bh = e['bbox']
        preds[n, :17] = np.stack([(x - bx) / bw * w_out, (y - by) / bh * h_out,
                                  (z / (cfg.bbox_3d_shape[0] / 2) + 1) / 2 * cfg.depth_dim], 1)
    db.evaluate(preds, str(tmp_path / 'result'))
    gt_dir, present = ev.find_kit_ground_truth(str(tmp_path))
    assert present
    res = ev.evaluate_if_present(str(tmp_path / 'result'), str(tmp_path), verbose=False)
    valid = sum(int(np.sum(img['is_valid'])) for img in truth['images'].values())
    occluded = sum(int(np.sum(np.asarray(img['occluded'])[np.asarray(img['is_valid'], bool)]
                              [:, :14])) for img in truth['images'].values())
    for key, m in res.items():
        assert m['pck'] == 100. and m['pck_pooled'] == 100., key
        assert m['auc'] == pytest.approx(GT_AUC, abs=1e-9), key     # errors < 5 mm
        assert m['pooled']['all']['num_people'] == valid
        assert m['pooled']['occluded']['num_joints'] == occluded
    # the same tree with one sequence's predictions shifted by 200 mm (absolute 3D) in a copy
    mats = scipy.io.loadmat(str(tmp_path / 'result' / ev.PRED_3D_NAME))
    moved = {k: v + (200. if k.startswith('TS1_') else 0.) for k, v in mats.items()
             if not k.startswith('__')}
    scipy.io.savemat(str(tmp_path / 'moved3d.mat'), moved)
    m = ev.evaluate_mupots(str(tmp_path / 'result' / ev.PRED_2D_NAME),
                           str(tmp_path / 'moved3d.mat'), gt_dir, 'all', False, verbose=False)
    assert m['sequences']['TS1']['all']['pck']['total'] == 0.
    assert m['sequences']['TS2']['all']['pck']['total'] == 100. and m['pck'] == 50.
