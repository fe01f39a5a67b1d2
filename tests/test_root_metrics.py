"""RootNet metrics (data/root_metrics.py): MRPE and AP_root against hand-computed answers."""
import numpy as np
import pytest

from common.utils.errors import PoseNetError
from data.joint_sets import H36M_ACTIONS
from data.root_metrics import ap_root, format_ap_root, format_mrpe, match_roots, mrpe

GT = np.array([[100., -50., 4000.], [-600., 20., 5000.], [0., 0., 3000.]])


# -- MRPE -------------------------------------------------------------------------------------
def test_mrpe_perfect_is_zero():
    m = mrpe(GT, GT)
    assert (m['mrpe'], m['x'], m['y'], m['z']) == (0., 0., 0., 0.)
    assert m['per_action'] == {}


def test_mrpe_shift_30_40_0_is_50():
    m = mrpe(GT + [30., 40., 0.], GT)
    assert (m['mrpe'], m['x'], m['y'], m['z']) == (50., 30., 40., 0.)


def test_mrpe_per_action_and_axes_mixed():
    pred = GT + np.array([[30., 40., 0.], [0., -6., 8.], [0., 0., -7.]])
    m = mrpe(pred, GT, action_idx=[2, 4, 2])
    # distances 50, 10, 7; per-axis means of |error|
    assert m['mrpe'] == pytest.approx(67. / 3)
    assert (m['x'], m['y'], m['z']) == pytest.approx((10., 46. / 3, 5.))
    # action 2 -> 'Directions' (50, 7), action 4 -> 'Eating' (10); empty actions left out
    assert m['per_action'] == pytest.approx({'Directions': 28.5, 'Eating': 10.})
    assert list(m['per_action']) == ['Directions', 'Eating']


def test_format_mrpe_is_the_original_summary():
    m = mrpe(GT + [30., 40., 0.], GT, action_idx=[2, 2, 3])
    assert format_mrpe(m) == ('MRPE >> tot: 50.00, x: 30.00, y: 40.00, z: 0.00\n'
                              'Directions: 50.00 Discussion: 50.00 ')
    assert format_mrpe(mrpe(GT, GT)) == 'MRPE >> tot: 0.00, x: 0.00, y: 0.00, z: 0.00\n'


def test_mrpe_custom_action_names_and_bad_index():
    m = mrpe(GT[:2] + [3., 4., 0.], GT[:2], action_idx=[3, 2], action_names=['a', 'b'])
    assert m['per_action'] == {'a': 5., 'b': 5.}
    with pytest.raises(PoseNetError, match='action index 17'):
        mrpe(GT[:1], GT[:1], action_idx=[17])
    assert len(H36M_ACTIONS) == 15
    with pytest.raises(PoseNetError, match='as many predicted'):
        mrpe(GT[:2], GT)


# -- AP_root ----------------------------------------------------------------------------------
def ap(pred, pred_img, score, gt=GT[:2], gt_img=(0, 0), **kw):
    return ap_root(np.array(pred, dtype=float), pred_img, score, gt, gt_img, **kw)


FAR = GT[0] + [1000., 0., 0.]  # 1 m from everything: a false positive


def test_ap_perfect_predictions():
    # the original's sum starts at the second prediction: M perfect people give (M-1)/M
    assert ap(GT, [0, 0, 1], [0.9, 0.8, 0.7], gt=GT, gt_img=[0, 0, 1]) == pytest.approx(2. / 3)
    assert ap(GT, [0, 0, 1], [0.9, 0.8, 0.7], gt=GT, gt_img=[0, 0, 1],
              include_first=True) == 1.0
    assert ap(GT[:1], [0], [1.0], gt=GT[:1], gt_img=[0]) == 0.
    assert ap(GT[:1], [0], [1.0], gt=GT[:1], gt_img=[0], include_first=True) == 1.0


def test_ap_false_positive_ranked_first_vs_last():
    # FP first: TP sequence F, T, T -> precision 0, 1/2, 2/3; recall 0, 1/2, 1
    #   AP = 1/2 * 1/2 + 2/3 * 1/2 = 7/12
    first = ap([FAR, GT[0], GT[1]], [0, 0, 0], [0.9, 0.8, 0.7])
    assert first == pytest.approx(7. / 12)
    # FP last: T, T, F -> precision 1, 1, 2/3; recall 1/2, 1, 1 -> AP = 1 * 1/2 + 2/3 * 0 = 1/2
    last = ap([FAR, GT[0], GT[1]], [0, 0, 0], [0.1, 0.8, 0.7])
    assert last == pytest.approx(0.5)
    assert ap([FAR, GT[0], GT[1]], [0, 0, 0], [0.1, 0.8, 0.7], include_first=True) == 1.0


def test_ap_duplicate_of_one_person_counts_once_without_fallback():
    gt = np.array([[0., 0., 5000.], [200., 0., 5000.]])
    # second prediction is 50 mm from A (taken) and 150 mm from B: its nearest is A -> FP
    order, is_tp = match_roots([[0., 0., 5000.], [50., 0., 5000.]], [0, 0], [0.9, 0.8], gt, [0, 0])
    assert order.tolist() == [0, 1] and is_tp.tolist() == [True, False]
    # precision 1, 1/2; recall 1/2, 1/2 -> AP = 1/2 * 0 = 0
    assert ap([[0., 0., 5000.], [50., 0., 5000.]], [0, 0], [0.9, 0.8], gt=gt) == 0.
    # ordered the other way the 50 mm one takes A and the exact one becomes the FP
    order, is_tp = match_roots([[0., 0., 5000.], [50., 0., 5000.]], [0, 0], [0.8, 0.9], gt, [0, 0])
    assert order.tolist() == [1, 0] and is_tp.tolist() == [True, False]


def test_ap_threshold_is_strict():
    # second prediction exactly 250 mm away (150, 200, 0): not closer than 250 -> FP
    at = ap([GT[0], GT[1] + [150., 200., 0.]], [0, 0], [0.9, 0.8])
    assert at == 0.  # precision 1, 1/2; recall 1/2, 1/2
    inside = ap([GT[0], GT[1] + [150., 199., 0.]], [0, 0], [0.9, 0.8])
    assert inside == 0.5  # precision 1, 1; recall 1/2, 1
    assert ap([GT[0], GT[1] + [150., 200., 0.]], [0, 0], [0.9, 0.8], threshold=250.001) == 0.5


def test_ap_images_are_separate_and_images_without_gt_are_skipped():
    # a perfect root of image 1 submitted as image 0's cannot match image 1's person
    order, is_tp = match_roots([GT[2]], [0], [1.0], GT, [0, 0, 1])
    assert is_tp.tolist() == [False]
    # predictions on image 7 (no ground truth) are neither TP nor FP
    base = ap([FAR, GT[0], GT[1]], [0, 0, 0], [0.9, 0.8, 0.7])
    more = ap([FAR, GT[0], GT[1], GT[0]], [0, 0, 0, 7], [0.9, 0.8, 0.7, 0.95])
    assert more == base
    order, _ = match_roots([FAR, GT[0], GT[1], GT[0]], [0, 0, 0, 7], [0.9, 0.8, 0.7, 0.95],
                           GT[:2], [0, 0])
    assert order.tolist() == [0, 1, 2]


def test_ap_ties_keep_input_order_and_missed_people_lower_recall():
    # equal scores: the input order decides, as Python's stable sort in the original
    order, is_tp = match_roots([FAR, GT[0]], [0, 0], [0.5, 0.5], GT[:2], [0, 0])
    assert order.tolist() == [0, 1] and is_tp.tolist() == [False, True]
    # 3 people, 2 found in order: precision 1, 1; recall 1/3, 2/3 -> AP = 1/3
    assert ap(GT[:2], [0, 0], [0.9, 0.8], gt=GT, gt_img=[0, 0, 0]) == pytest.approx(1. / 3)


def test_ap_empty_inputs_and_format():
    assert ap(np.zeros((0, 3)), [], []) == 0.
    assert ap(GT[:2], [0, 0], [1., 1.], gt=np.zeros((0, 3)), gt_img=[]) == 0.
    assert format_ap_root(0.5) == 'AP_root: 0.5'
    with pytest.raises(PoseNetError, match='differ in length'):
        ap(GT[:2], [0], [1., 1.])
