"""`--mupots_eval`: the MuPoTS-3D evaluator on a full-size set built in memory against a
per-person Python loop of the same procedure.
"""
import time


def bench_mupots_eval(num_sequences=20, people=8000, seed=0):
    """Time `data/MuPoTS/mupots_eval.py` on a full-size MuPoTS-3D built in memory (`load_kit`'s
    layout: `num_sequences` sequences, about `people` annotated people, 2-3 per frame; noisy
    predictions in shuffled order with missed people, extra detections and invisible joints)
    against a straightforward per-person Python loop of the same procedure (relative 3D, all
    annotated people). Prints both times, the ratio and whether the 3DPCK / AUC agree."""
    import numpy as np
    from data.MuPoTS import mupots_eval as ev
    from data.MuPoTS import mupots_matching as ev_match
    from data.MuPoTS import mupots_metrics as ev_metrics
    from data.MuPoTS import mupots_predictions as ev_preds

    rng = np.random.default_rng(seed)
    base = rng.normal(0., 250., (17, 3))
    base[14] = 0.
    kit, pred_2d, pred_3d = [], {}, {}
    per_seq = people // num_sequences
    for num in range(1, num_sequences + 1):
        frames, count = [], 0
        while count < per_seq:
            g = min(int(rng.integers(2, 4)), per_seq - count)
            count += g
            where = np.c_[rng.uniform(-2500., 2500., g), rng.uniform(-200., 200., g),
                          rng.uniform(3000., 7000., g)]
            gt_3d = base + rng.normal(0., 40., (g, 17, 3)) + where[:, None]
            gt_2d = gt_3d[..., :2] / gt_3d[..., 2:] * 1500. + 1024.
            frames.append({'gt_2d': gt_2d, 'gt_3d': gt_3d, 'occluded': rng.random((g, 17)) < .15})
            keep = np.flatnonzero(rng.random(g) > .1)                   # 10% missed
            extra = int(rng.random() < .3)                              # a false detection
            p3 = np.concatenate([gt_3d[keep] + rng.normal(0., 70., (len(keep), 17, 3)),
                                 base + rng.normal(0., 40., (extra, 17, 3)) + [0., 0., 5000.]])
            p2 = p3[..., :2] / p3[..., 2:] * 1500. + 1024. + rng.normal(0., 8., p3.shape[:2] + (2,))
            p2[rng.random(p2.shape[:2]) < .05] = 0.                     # invisible joints
            order = rng.permutation(len(p3))
            pred_2d[ev_preds.image_key(num, len(frames) - 1)] = p2[order]
            pred_3d[ev_preds.image_key(num, len(frames) - 1)] = p3[order]
        kit.append((num, frames))
    total = sum(len(f['gt_2d']) for _, frames in kit for f in frames)
    num_frames = sum(len(frames) for _, frames in kit)

    def reference():
        """Per frame, per person: the kit's matching, bone rescaling and errors one at a time."""
        idx = np.asarray(ev_match.MATCH_JOINTS_1BASED) - 1
        per_seq_metrics = []
        for num, frames in kit:
            seq_errors = []
            for i, frame in enumerate(frames):
                key = ev_preds.image_key(num, i)
                p2, p3 = pred_2d.get(key, np.zeros((0, 17, 2))), pred_3d.get(key)
                taken = np.zeros(len(p2), bool)
                for g in range(len(frame['gt_2d'])):
                    best, best_score = -1, 0
                    for p in range(len(p2)):
                        if taken[p]:
                            continue
                        visible = np.any(p2[p, idx] != 0, axis=1)
                        near = np.all(np.abs(p2[p, idx] - frame['gt_2d'][g, idx]) < 40., axis=1)
                        score = int(np.sum(visible & near))
                        if score > best_score:
                            best, best_score = p, score
                    if best < 0:
                        seq_errors.append(np.full(17, np.inf))
                        continue
                    taken[best] = True
                    pred = p3[best] - p3[best, 14]
                    gt = frame['gt_3d'][g] - frame['gt_3d'][g, 14]
                    out = pred.copy()
                    for joint in ev_match.BONE_ORDER_1BASED:
                        j, parent = joint - 1, ev_match.PARENTS_1BASED[joint - 1] - 1
                        bone = pred[j] - pred[parent]
                        out[j] = out[parent] + bone * np.linalg.norm(gt[j] - gt[parent]) / \
                            np.linalg.norm(bone)
                    seq_errors.append(np.linalg.norm(out - gt, axis=1))
            err = np.asarray(seq_errors)[:, :14]
            per_seq_metrics.append((100. * np.mean(err < 150.), 100. * np.mean(
                [np.mean(err < t) for t in ev_metrics.AUC_THRESHOLDS_MM])))
        return np.mean(per_seq_metrics, axis=0)

    def ours():
        return ev.score_predictions(pred_2d, pred_3d, kit, 'all', True, verbose=False)

    def best_of(fn, repeat):
        times, result = [], None
        for _ in range(repeat):
            start = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - start)
        return min(times), result

    t_ours, metrics = best_of(ours, 3)
    t_four, _ = best_of(lambda: ev.evaluate_all_variants(pred_2d, pred_3d, kit, verbose=False),
                        1)
    t_ref, (ref_pck, ref_auc) = best_of(reference, 1)
    same = abs(ref_pck - metrics['pck']) < 1e-9 and abs(ref_auc - metrics['auc']) < 1e-9
    print(f'MuPoTS-3D evaluator: {num_sequences} sequences, {num_frames} frames, '
          f'{total} annotated people, {sum(len(v) for v in pred_2d.values())} predictions')
    results = {'evaluator, one variant (s)': t_ours,
               'evaluator, all four variants (s)': t_four,
               'per-person Python loop (s)': t_ref,
               'speed-up (loop / evaluator)': t_ref / t_ours}
    width = max(len(k) for k in results)
    for k, v in results.items():
        print(f'  {k:<{width}}  {v:10.3f}')
    print(f'  3DPCK {metrics["pck"]:.4f} / AUC {metrics["auc"]:.4f} (loop: {ref_pck:.4f} / '
          f'{ref_auc:.4f}, {"equal" if same else "DIFFERENT"})')
    return results


def run(args):
    """`tool/benchmark.py --mupots_eval`."""
    return bench_mupots_eval()
