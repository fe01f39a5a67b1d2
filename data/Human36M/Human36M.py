"""Human3.6M (docs/SPEC.md §6): 3D, single person, train and test.

Files under `<data_dir>/Human36M/`:
    annotations/Human36M_subject<S>_data.json      COCO-style images + annotations
    annotations/Human36M_subject<S>_camera.json    {cam_idx: {R (3, 3), t (3,) mm, f (2,) px,
                                                   c (2,) px}} with cam = R @ world + t
    annotations/Human36M_subject<S>_joint_3d.json  {action_idx: {subaction_idx: {frame_idx:
                                                   (17, 3) world mm}}}
    images/<file_name>
    bbox_root/bbox_root_human36m_output.json       (testing with use_gt_info = False)

Protocol 1 trains on subjects 1, 5, 6, 7, 8, 9 and tests on 11 with rigid alignment before the
error ("PA MPJPE"); protocol 2 trains on 1, 5, 6, 7, 8 and tests on 9 and 11 (MPJPE).
Entries follow the files' order, as the original: subjects in protocol order, annotations in
file order.
"""
import contextlib
import gc
import hashlib
import itertools
import json
import os
import os.path as osp

import numpy as np

from common.utils.errors import PoseNetError
from common.utils.file_io import atomic_path, write_json
from common.utils.pose_utils import (cam2pixel, process_bboxes, root_relative_errors,
                                     world2cam)
from data import annotations
from data.detections import bbox_root_name, read_bbox_root
from data.entries import EVAL_CHUNK, check_preds, entries_to_cam, heatmap_geometry, stack_entries
from data.joint_sets import H36M_ACTIONS, H36M_FLIP_PAIRS, H36M_JOINTS, H36M_SKELETON
from data.result_files import H36M_RESULT_NAME, export_roots
from data.root_metrics import format_mrpe, mrpe

PROTOCOL_SUBJECTS = {1: {'train': (1, 5, 6, 7, 8, 9), 'test': (11,)},
                     2: {'train': (1, 5, 6, 7, 8), 'test': (9, 11)}}
SUBSAMPLING = {'train': 5, 'test': 64}   # keep frames with frame_idx % ratio == 0
IMAGE_FIELDS = ('id', 'file_name', 'width', 'height', 'subject', 'action_idx', 'subaction_idx',
                'cam_idx', 'frame_idx')
ANNOTATION_FIELDS = ('id', 'image_id', 'bbox')
CAMERA_FIELDS = ('R', 't', 'f', 'c')


CACHE_VERSION = 1      # raise when the loading changes: older cache files are then never read
# the loader's columns: `file_name` a list of str, the others arrays (see `column_shapes`)
COLUMNS = ('file_name', 'img_id', 'action_idx', 'root_vis', 'bbox', 'joint_cam', 'joint_img',
           'root_cam', 'f', 'c')


def column_shapes(joint_num):
    """`{column: (row shape, dtype)}` of the loader's array columns (`file_name` is a list)."""
    joints = ((joint_num, 3), np.float64)
    return {'img_id': ((), np.int64), 'action_idx': ((), np.int64),
            'root_vis': ((), np.float64), 'bbox': ((4,), np.float64), 'joint_cam': joints,
            'joint_img': joints, 'root_cam': ((3,), np.float64), 'f': ((2,), np.float64),
            'c': ((2,), np.float64)}


@contextlib.contextmanager
def gc_paused():
    """Python's cyclic garbage collector off inside (as it was before, after)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def read_columns(path):
    """The columns cached in `path`, or None when it is missing or unreadable (then rebuilt)."""
    if not osp.isfile(path):
        return None
    try:
        with open(path, 'rb') as f:                 # one .npy record per column, in order
            columns = {key: np.load(f) for key in COLUMNS}
        names = columns['file_name'].tobytes().decode()
    except Exception:          # a damaged or foreign file: parse the annotations instead
        return None
    num = len(columns['img_id'])
    columns['file_name'] = names.split('\0') if num else []
    if len(columns['file_name']) != num:
        return None
    joint_num = columns['joint_cam'].shape[1] if columns['joint_cam'].ndim == 3 else 0
    for key, (shape, dtype) in column_shapes(joint_num).items():
        if columns[key].shape != (num,) + shape or columns[key].dtype.kind != \
                np.dtype(dtype).kind:
            return None
    return columns


def write_columns(path, columns):
    """Cache the columns in `path` (atomically; file names as one NUL-separated UTF-8 text) and
    remove older files of the same settings; a folder that cannot be written is fine."""
    folder, name = osp.split(path)
    prefix = name[:name.rindex('_') + 1]
    names = '\0'.join(columns['file_name']).encode()
    try:
        with atomic_path(path) as tmp:
            with open(tmp, 'wb') as f:
                for key in COLUMNS:
                    np.save(f, np.frombuffer(names, np.uint8) if key == 'file_name'
                            else columns[key])
        for old in os.listdir(folder):
            if old.startswith(prefix) and old.endswith('.columns') and old != name:
                os.remove(osp.join(folder, old))
    except (OSError, PoseNetError) as exc:     # the cache is optional: loading goes on
        print(f'Human36M: no cache of the parsed annotations ({exc})')


def stack_frames(world):
    """`np.asarray(world, float64).reshape(-1, 17, 3)` of parsed joint lists, without its
    per-number type discovery when every frame is 17 lists of 3 numbers."""
    chain = itertools.chain.from_iterable
    try:
        if set(map(len, world)) <= {17} and set(map(len, chain(world))) <= {3}:
            return np.fromiter(chain(chain(world)), np.float64, 51 * len(world)).reshape(
                -1, 17, 3)
    except (TypeError, ValueError):
        pass
    return np.asarray(world, dtype=np.float64).reshape(-1, 17, 3)


class Human36M:
    """Human3.6M samples of one split.

    `Human36M(data_split, cfg, protocol=None, scaled_procrustes=None, cache=None)`; from `cfg`
    (any object with these fields): `data_dir`, `input_shape` (box aspect ratio), `use_gt_info`
    (testing: ground-truth boxes and roots, else the bbox_root file), and for `evaluate` the
    heatmap geometry `output_shape`, `depth_dim`, `bbox_3d_shape`. `protocol` 1 or 2 (default
    the class attribute `protocol` = 2); `scaled_procrustes` (default False): protocol 1 aligns
    with scale as well (the usual PA-MPJPE) instead of the original's rigid alignment; `cache`
    (default the class attribute, True): keep the parsed entries' columns in
    `Human36M/cache/` and read them from there while no annotation file changes (see
    `cache_path`; a folder that cannot be written only means no cache).
    Entries: `img_path, img_id, action_idx, bbox (4,) px, joint_img (18, 3) [x_px, y_px,
    Z - Z_root mm], joint_cam (18, 3) mm, joint_vis (18, 1), root_cam (3,) mm, root_vis (the
    annotation's Pelvis visibility, 1 when absent), f (2,), c (2,) px`.
    """
    protocol = 2
    scaled_procrustes = False
    cache = True
    joint_num = len(H36M_JOINTS)       # 17 + Thorax
    joints_name = H36M_JOINTS
    flip_pairs = H36M_FLIP_PAIRS
    skeleton = H36M_SKELETON
    joints_have_depth = True
    eval_joint = tuple(range(17))      # Thorax (added) is not evaluated
    action_name = H36M_ACTIONS
    root_idx = H36M_JOINTS.index('Pelvis')
    lshoulder_idx = H36M_JOINTS.index('L_Shoulder')
    rshoulder_idx = H36M_JOINTS.index('R_Shoulder')

    def __init__(self, data_split, cfg, protocol=None, scaled_procrustes=None, cache=None):
        annotations.check_split('Human36M', data_split, ('train', 'test'))
        self.data_split = data_split
        if protocol is not None:
            self.protocol = protocol
        if self.protocol not in PROTOCOL_SUBJECTS:
            raise PoseNetError(f"Human36M protocol {self.protocol!r}: use 1 or 2")
        if scaled_procrustes is not None:
            self.scaled_procrustes = bool(scaled_procrustes)
        if cache is not None:
            self.cache = bool(cache)
        self.data_dir = cfg.data_dir
        self.input_shape = tuple(cfg.input_shape)
        self.use_gt_info = bool(cfg.use_gt_info) or data_split == 'train'
        self.heatmap = heatmap_geometry(cfg)
        root = annotations.dataset_dir(self.data_dir, 'Human36M')
        self.img_dir = osp.join(root, 'images')
        self.annot_path = osp.join(root, 'annotations')
        self.human_bbox_root_dir = cfg.bbox_root_file or osp.join(
            root, 'bbox_root', bbox_root_name('Human36M'))
        self.data = self.load_data()

    def get_subject(self):
        """Subjects of this split under the current protocol."""
        return PROTOCOL_SUBJECTS[self.protocol][self.data_split]

    def get_subsampling_ratio(self):
        """Frames kept: `frame_idx % ratio == 0` (5 for training, 64 for testing)."""
        return SUBSAMPLING[self.data_split]

    def add_thorax(self, joint_coord):
        """`(..., 17, 3)` joints -> `(..., 18, 3)` with Thorax = mean of the two shoulders."""
        thorax = (joint_coord[..., self.lshoulder_idx, :] +
                  joint_coord[..., self.rshoulder_idx, :]) / 2
        return np.concatenate([joint_coord, thorax[..., None, :]], axis=-2)

    def subject_file(self, subject, kind):
        """`annotations/Human36M_subject<subject>_<kind>.json` (kind: data, camera, joint_3d)."""
        return osp.join(self.annot_path, f'Human36M_subject{subject}_{kind}.json')

    def load_data(self):
        subjects = self.get_subject()
        print(f'Load data of H36M Protocol {self.protocol} ({self.data_split}, subjects '
              f'{", ".join(map(str, subjects))})')
        print('Get bounding box and root from ' +
              ('groundtruth' if self.use_gt_info else self.human_bbox_root_dir))
        files = [self.subject_file(s, kind) for s in subjects
                 for kind in ('data', 'camera', 'joint_3d')]
        files += [] if self.use_gt_info else [self.human_bbox_root_dir]
        cache = self.cache_path(files) if self.cache else None
        # Millions of small parsed lists and entry dicts make Python's cyclic collector run
        # again and again while nothing here forms cycles: keep it out of the loading.
        with gc_paused():
            columns = read_columns(cache) if cache else None
            if columns is None:
                columns = self.parse_columns(subjects)
                if cache:
                    write_columns(cache, columns)
            return self.make_entries(columns)

    def parse_columns(self, subjects):
        """The kept entries' columns (`COLUMNS`) parsed from the annotation files."""
        bbox_root = None
        if not self.use_gt_info:
            bbox_root = {str(r['image_id']): r for r in read_bbox_root(self.human_bbox_root_dir)}
        parts = [self.load_subject(subject, bbox_root) for subject in subjects]
        return {key: list(itertools.chain.from_iterable(part[key] for part in parts))
                if key == 'file_name' else np.concatenate([part[key] for part in parts])
                for key in COLUMNS}

    def make_entries(self, columns):
        """Entry dicts of the columns: arrays are rows of the column arrays (no copies)."""
        names = columns['file_name']
        if osp.sep == '/' and not osp.altsep:     # POSIX: the same string as osp.join, faster
            prefix = osp.join(self.img_dir, '')
            paths = [prefix + n if n[:1] != '/' else osp.join(self.img_dir, n) for n in names]
        else:
            paths = [osp.join(self.img_dir, n) for n in names]
        num = len(paths)
        return [{'img_path': path, 'bbox': bbox, 'joint_img': joint_img, 'joint_cam': joint_cam,
                 'joint_vis': joint_vis, 'root_cam': root_cam, 'f': f, 'c': c, 'img_id': img_id,
                 'action_idx': action_idx, 'root_vis': root_vis}
                for path, bbox, joint_img, joint_cam, joint_vis, root_cam, f, c, img_id,
                action_idx, root_vis in zip(
                    paths, columns['bbox'], columns['joint_img'], columns['joint_cam'],
                    np.ones((num, self.joint_num, 1)), columns['root_cam'], columns['f'],
                    columns['c'],
                    columns['img_id'].tolist(), columns['action_idx'].tolist(),
                    columns['root_vis'].tolist())]

    def cache_path(self, files):
        """`<Human36M>/cache/<split>_p<protocol>_<boxes>_<H>x<W>_<key>.columns` (one .npy
        record per column, in `COLUMNS` order): the key covers every file read (path, size,
        modification time, inode), the settings and the cache format, so a changed file means
        another name (never a stale cache). None when a file is missing (the loading then
        names it)."""
        try:
            stats = [(f, st.st_size, st.st_mtime_ns, st.st_ino)
                     for f, st in ((f, os.stat(f)) for f in files)]
        except OSError:
            return None
        key = hashlib.sha1(json.dumps([CACHE_VERSION, self.data_split, self.protocol,
                                       self.input_shape, self.use_gt_info, stats]).encode())
        name = (f'{self.data_split}_p{self.protocol}_{"gt" if self.use_gt_info else "rootnet"}'
                f'_{self.input_shape[0]}x{self.input_shape[1]}_')
        return osp.join(osp.dirname(self.annot_path), 'cache', name + key.hexdigest()[:20] +
                        '.columns')

    def load_subject(self, subject, bbox_root):
        """Columns of one subject's kept entries, in annotation-file order; each parsed file is
        freed before the next is read."""
        ratio = self.get_subsampling_ratio()
        data_path = self.subject_file(subject, 'data')
        what = 'Human36M annotation file'
        annot = annotations.check_coco_dict(
            annotations.load_json(data_path, what, self.data_dir), data_path, what,
            IMAGE_FIELDS, ANNOTATION_FIELDS)
        imgs = {img['id']: img for img in annot['images']
                if img['subject'] == subject and img['frame_idx'] % ratio == 0}
        picked = [(ann, imgs[ann['image_id']]) for ann in annot['annotations']
                  if ann['image_id'] in imgs]
        del annot, imgs
        frames = [(str(img['action_idx']), str(img['subaction_idx']), str(img['frame_idx']))
                  for _, img in picked]
        joint_path = self.subject_file(subject, 'joint_3d')
        joints = annotations.load_json(joint_path, 'Human36M joint file', self.data_dir)
        if not isinstance(joints, dict):
            raise annotations.structure_error(joint_path, 'Human36M joint file',
                                              "expected {action_idx: {subaction_idx: "
                                              "{frame_idx: 17x3}}}")
        world = []
        for (action, sub, frame), (_, img) in zip(frames, picked):
            try:
                world.append(joints[action][sub][frame])
            except (KeyError, TypeError):
                raise PoseNetError(
                    f"{joint_path}: no joints for action {img['action_idx']} subaction "
                    f"{img['subaction_idx']} frame {img['frame_idx']} (image {img['id']})"
                ) from None
        del joints, frames
        cameras = self.load_cameras(subject)
        if not picked:
            return dict({key: np.zeros((0,) + shape, dtype) for key, (shape, dtype) in
                         column_shapes(self.joint_num).items()}, file_name=[])
        try:
            joint_world = self.add_thorax(stack_frames(world))
        except ValueError:
            raise annotations.structure_error(joint_path, 'Human36M joint file',
                                              'every frame needs 17x3 joints') from None
        del world

        # world -> camera -> image for all picked samples at once, camera by camera
        cam_idx = np.array([str(img['cam_idx']) for _, img in picked])
        joint_cam = np.empty_like(joint_world)
        joint_px = np.empty_like(joint_world)
        f, c = np.empty((len(picked), 2)), np.empty((len(picked), 2))
        for key in np.unique(cam_idx):
            if key not in cameras:
                raise annotations.structure_error(self.subject_file(subject, 'camera'),
                                                  'Human36M camera file', f"no camera {key}")
            sel = cam_idx == key
            cam = cameras[key]
            joint_cam[sel] = world2cam(joint_world[sel], cam['R'], cam['t'])
            joint_px[sel] = cam2pixel(joint_cam[sel], cam['f'], cam['c'])
            f[sel], c[sel] = cam['f'], cam['c']
        del joint_world
        root_cam = joint_cam[:, self.root_idx].copy()
        joint_img = np.concatenate([joint_px[..., :2], joint_cam[..., 2:] -
                                    root_cam[:, None, 2:]], axis=-1)
        del joint_px

        if bbox_root is not None:
            recs = []
            for _, img in picked:
                rec = bbox_root.get(str(img['id']))
                if rec is None:
                    raise PoseNetError(f"{self.human_bbox_root_dir}: no box/root for image_id "
                                       f"{img['id']} ({img['file_name']}); the file must cover "
                                       "every test image")
                recs.append(rec)
            bbox = np.array([rec['bbox'] for rec in recs])         # already processed
            root_cam = np.array([rec['root_cam'] for rec in recs])
            keep = slice(None)
        else:
            try:
                raw = np.array([ann['bbox'] for ann, _ in picked], dtype=np.float64)
                bbox, valid = process_bboxes(raw, [img['width'] for _, img in picked],
                                             [img['height'] for _, img in picked],
                                             self.input_shape)
            except (TypeError, ValueError):
                raise annotations.structure_error(data_path, what, 'every annotation needs a '
                                                  'bbox of 4 numbers and every image a width '
                                                  'and height') from None
            keep = np.flatnonzero(valid)
            picked = [picked[i] for i in keep.tolist()]
        vis = [ann.get('keypoints_vis') for ann, _ in picked]
        return {'file_name': [img['file_name'] for _, img in picked],
                'img_id': np.array([img['id'] for _, img in picked], dtype=np.int64),
                'action_idx': np.array([img['action_idx'] for _, img in picked],
                                       dtype=np.int64),
                'root_vis': np.array([float(v[self.root_idx]) if isinstance(v, list) and v
                                      else 1.0 for v in vis]),
                'bbox': bbox[keep], 'joint_cam': joint_cam[keep], 'joint_img': joint_img[keep],
                'root_cam': root_cam[keep], 'f': f[keep], 'c': c[keep]}

    def load_cameras(self, subject):
        """`{cam_idx (str): {'R' (3, 3), 't' (3,), 'f' (2,), 'c' (2,)}}` float64 of a subject."""
        path = self.subject_file(subject, 'camera')
        what = 'Human36M camera file'
        raw = annotations.load_json(path, what, self.data_dir)
        if not isinstance(raw, dict) or not raw:
            raise annotations.structure_error(path, what, "expected {cam_idx: {R, t, f, c}}")
        cameras = {}
        for key, cam in raw.items():
            missing = [k for k in CAMERA_FIELDS if not isinstance(cam, dict) or k not in cam]
            if missing:
                raise annotations.structure_error(path, what, f"camera {key} lacks "
                                                              f"'{missing[0]}'")
            try:
                cameras[str(key)] = {k: np.asarray(cam[k], dtype=np.float64).reshape(shape)
                                     for k, shape in zip(CAMERA_FIELDS, ((3, 3), (3,), (2,),
                                                                         (2,)))}
            except (TypeError, ValueError):
                raise annotations.structure_error(path, what, f"camera {key} needs R 3x3, t 3, "
                                                              "f 2, c 2 numbers") from None
        return cameras

    def evaluate(self, preds, result_dir):
        """Root-relative 3D error of `preds (N, 18, 3)` (heatmap space, data order).

        Prints and returns `{'protocol', 'metric', 'error' (mm, over all samples and the 17
        evaluation joints), 'per_action' {name: mm}, 'per_joint' {name: mm}, 'num_samples',
        'result_path'}` and writes `bbox_root_pose_human36m_output.json` (list of `{image_id,
        joint_cam (17, 3) root-relative mm, bbox, root_cam}`) to `result_dir` atomically.
        """
        print('Evaluation start...')
        preds = check_preds(preds, len(self.data), (self.joint_num, 3), 'Human36M.evaluate')
        align = None
        if self.protocol == 1:
            align = 'scaled' if self.scaled_procrustes else 'rigid'
        # batches of EVAL_CHUNK entries: every step is per sample, and small temporaries stay
        # in memory already touched instead of new pages for each whole-set array
        num, eval_num = len(self.data), len(self.eval_joint)
        error, pred_rel = np.empty((num, eval_num)), np.empty((num, eval_num, 3))
        for start in range(0, num, EVAL_CHUNK):
            part = slice(start, start + EVAL_CHUNK)
            _, pred_cam = entries_to_cam(self.data[part], preds[part], *self.heatmap)
            gt_cam = stack_entries(self.data[part], 'joint_cam', (self.joint_num, 3))
            error[part], pred_rel[part], _ = root_relative_errors(
                pred_cam, gt_cam, self.root_idx, self.eval_joint, align)

        metric = 'MPJPE' if align is None else ('PA MPJPE (scaled)' if align == 'scaled'
                                                else 'PA MPJPE')
        action_idx = np.array([e['action_idx'] for e in self.data], dtype=np.int64)
        per_action = {}
        for i, name in enumerate(self.action_name):
            sel = action_idx - 2 == i
            if sel.any():
                per_action[name] = float(error[sel].mean())
        tot = float(error.mean()) if len(error) else float('nan')
        summary = f'Protocol {self.protocol} error ({metric}) >> tot: {tot:.2f}\n'
        summary += ' '.join(f'{name}: {err:.2f}' for name, err in per_action.items())
        print(summary)

        # arrays go to the JSON writer as they are (rows of float64 stacks: no per-entry tolist)
        bbox = stack_entries(self.data, 'bbox', (4,))
        root_cam = stack_entries(self.data, 'root_cam', (3,))
        pred_save = [{'image_id': e['img_id'], 'joint_cam': p, 'bbox': b, 'root_cam': r}
                     for e, p, b, r in zip(self.data, pred_rel, bbox, root_cam)]
        output_path = osp.join(result_dir, H36M_RESULT_NAME)
        write_json(output_path, pred_save)
        print('Test result is saved at ' + output_path)
        per_joint = error.mean(axis=0) if len(error) else np.full(len(self.eval_joint), np.nan)
        return {'protocol': self.protocol, 'metric': metric, 'error': tot,
                'per_action': per_action,
                'per_joint': {self.joints_name[j]: float(v)
                              for j, v in zip(self.eval_joint, per_joint)},
                'num_samples': len(self.data), 'result_path': output_path}


    def evaluate_root(self, preds, result_dir):
        """RootNet: MRPE of `preds (N, 3)` (x, y output space, depth mm; data order).

        Prints the original's `MRPE >> tot: ...` summary and returns `{'metric': 'MRPE',
        'error' (mm), 'x', 'y', 'z' (mean |error| per axis, mm), 'per_action' {name: mm},
        'num_samples', 'result_path'}`; writes `bbox_root_human36m_output.json` (`image_id`,
        processed `bbox`, predicted `root_cam` mm) to `result_dir`, the file PoseNet testing
        with `use_gt_info=False` reads.
        """
        root_cam, path = export_roots(self, preds, result_dir, with_score=False)
        metrics = mrpe(root_cam, stack_entries(self.data, 'root_cam', (3,)),
                       [e['action_idx'] for e in self.data], self.action_name)
        print(format_mrpe(metrics))
        return {'metric': 'MRPE', 'error': metrics['mrpe'], 'x': metrics['x'],
                'y': metrics['y'], 'z': metrics['z'], 'per_action': metrics['per_action'],
                'num_samples': len(self.data), 'result_path': path}
