"""`--evaluation`: entries/s of every test set's `evaluate` (result files included) against the
original's per-entry procedure (`tool/reference.py`).
"""
import os
import os.path as osp
import tempfile

from tool.bench.shared import best_time


def evaluation_cases(tmp):
    """`[(name, db, preds, ours, original)]`: the test sets on a small generated tree with
    noisy predictions; `ours(db, preds, out)` / `original(...)` evaluate them."""
    import numpy as np
    from common.utils.pose_utils import cam_to_heatmap
    from data.entries import stack_entries
    from data.Human36M.Human36M import Human36M
    from data.MSCOCO.MSCOCO import MSCOCO
    from data.MuPoTS.MuPoTS import MuPoTS
    from data.result_files import coco_key, mupots_key
    from main.config import Config
    from tool import reference
    from tool.synthetic_data import generate

    generate(tmp, datasets=['Human36M', 'MSCOCO', 'MuPoTS'], seed=0, img_size=64, num_images=8,
             num_sequences=4, num_frames=4, h36m_subjects=(9, 11), h36m_actions=4,
             h36m_cameras=4, h36m_frames=(0, 64, 128))
    cfg = Config(data_dir=tmp)
    rng = np.random.default_rng(0)

    def noisy(db):
        """Ground truth in heatmap space plus 1.5 bins of noise (COCO: anywhere)."""
        coord = cam_to_heatmap(np.stack([e['joint_cam'] for e in db.data]),
                               stack_entries(db.data, 'bbox', (4,)),
                               stack_entries(db.data, 'root_cam', (3,))[:, 2],
                               stack_entries(db.data, 'f', (2,)),
                               stack_entries(db.data, 'c', (2,)), *db.heatmap)
        preds = rng.uniform(0, 32, (len(db.data), db.joint_num, 3))
        if type(db).__name__ != 'MSCOCO':
            preds[:, :coord.shape[1]] = coord + rng.normal(0, 1.5, coord.shape)
        return preds

    cases = []
    for protocol in (1, 2):
        db = Human36M('test', cfg, protocol=protocol)
        cases.append((f'Human36M protocol {protocol}', db, noisy(db),
                      lambda d, p, out: d.evaluate(p, out), reference.h36m_evaluate))
    for cls, name, key in ((MuPoTS, 'mupots', mupots_key), (MSCOCO, 'coco', coco_key)):
        db = cls('test', cfg)
        db.data_dir = osp.join(tmp, 'no_kit')     # MuPoTS: export only (3DPCK: --mupots_eval)
        cases.append((cls.__name__, db, noisy(db), lambda d, p, out: d.evaluate(p, out),
                      lambda d, p, out, name=name, key=key:
                      reference.export_mats(d, p, out, name, key)))
    return cases


def replicate(data, preds, num, rename):
    """`(entries, preds)` of `num` entries: `data` repeated; with `rename` (multi-person sets)
    the copies get their own images (`<stem>_<copy>`), so people per image stay as generated."""
    import numpy as np
    idx = np.arange(num) % len(data)
    if not rename:
        return [data[i] for i in idx], preds[idx]
    copies = []
    for n, i in enumerate(idx.tolist()):
        e, copy = data[i], n // len(data)
        stem, ext = osp.splitext(e['img_path'])
        copies.append(dict(e, img_path=f'{stem}_{copy}{ext}') if copy else e)
    return copies, preds[idx]


def bench_evaluation(base=3600, scales=(1, 10, 100)):
    """Seconds and entries/s of `evaluate` (result files written) for every test set at
    `base * scale` entries, ours against the original's per-entry procedure. Prints a table."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out = osp.join(tmp, 'result')
        os.makedirs(out)
        for name, db, preds, ours, original in evaluation_cases(osp.join(tmp, 'data')):
            full = db.data
            for scale in scales:
                db.data, p = replicate(full, preds, base * scale, name[:5] != 'Human')
                repeat = 3 if scale * base <= 40000 else 2      # best of: the machine is shared
                t_ours = best_time(lambda: ours(db, p, out), repeat)
                t_orig = best_time(lambda: original(db, p, out), repeat)
                rows.append((name, len(db.data), t_orig, t_ours))
            db.data = full
    print('evaluate() with result files; original = per-entry loop + json.dump / '
          'scipy.io.savemat (tool/reference.py)')
    print(f'  {"test set":<20} {"entries":>8} {"original s":>11} {"entries/s":>10} '
          f'{"ours s":>8} {"entries/s":>10} {"speed-up":>8}')
    for name, num, t_orig, t_ours in rows:
        print(f'  {name:<20} {num:>8} {t_orig:>11.3f} {num / t_orig:>10.0f} {t_ours:>8.3f} '
              f'{num / t_ours:>10.0f} {t_orig / t_ours:>7.1f}x')
    return rows


def run(args):
    """`tool/benchmark.py --evaluation`."""
    return bench_evaluation(args.eval_entries, args.eval_scales)
