"""The five synthetic datasets written in their published formats: one `Generator` method per
dataset, `generate` (the Python entry point) and the folder rules (a generated folder is
marked and may be replaced; real data never is unless asked).
"""
import os
import os.path as osp
import shutil

import numpy as np

from common.utils.errors import PoseNetError
from common.utils.file_io import savemat, write_json, write_text
from common.utils.pose_utils import get_bbox, world2cam
from data import joint_sets
from tool.synthetic.body import (BODY_INDEX, JOINT_SOURCES, action_rotations, joint_indices,
                                 place_on_floor, pose_people, sample_action, sample_bodies)
from tool.synthetic.cameras import front_camera, front_scene, intrinsics, look_at
from tool.synthetic.records import (clipped_bbox, coco_annotation, coco_file, coco_image,
                                    detection_records, keypoints_2d, kit_cells, rootnet_record)
from tool.synthetic.render import Shot


DATASETS = ('Human36M', 'MPII', 'MSCOCO', 'MuCo', 'MuPoTS')
H36M_SUBJECTS = (1, 5, 6, 7, 8, 9, 11)
H36M_TEST_SUBJECTS = (9, 11)                   # bbox_root records (test of either protocol)
H36M_FRAMES = (0, 5, 10, 64, 65, 128)          # kept: train (%5) 0 5 10 65, test (%64) 0 64 128
MARKER = 'SYNTHETIC_DATA.txt'
COCO_FOCAL = 1500.                             # the virtual COCO camera (px)


def generated_dirs(root, name):
    """The folders of dataset `name` that the generator writes (and may replace)."""
    subdirs = {'Human36M': ('annotations', 'images', 'bbox_root'),
               'MPII': ('annotations', 'images'),
               'MSCOCO': ('annotations', 'images', 'bbox_root', 'bbox'),
               'MuCo': ('data',), 'MuPoTS': ('data', 'bbox_root', 'bbox')}[name]
    return [osp.join(root, d) for d in subdirs]


def prepare_dataset_dir(root, name, overwrite):
    """Empty the generated folders of `name` under `root`; refuse to touch real data.

    A previous synthetic tree (with its marker file) is replaced; other existing data only with
    `overwrite=True`.
    """
    dirs = generated_dirs(root, name)
    marker = osp.join(dirs[0], MARKER)
    existing = [d for d in dirs if osp.exists(d)]
    if existing and not overwrite and not osp.isfile(marker):
        raise PoseNetError(f"{existing[0]} exists and was not made by this generator (no "
                           f"{MARKER}); refusing to overwrite a real dataset — choose another "
                           "--out folder, or pass --overwrite to replace it")
    for d in existing:
        shutil.rmtree(d)
    os.makedirs(dirs[0], exist_ok=True)
    return marker


class Generator:
    """Writes the synthetic datasets; one instance per `generate` call (see there)."""

    def __init__(self, out_dir, seed, opts):
        self.out_dir, self.seed, self.o = out_dir, seed, opts
        self.size = opts['size']

    def rng(self, name):
        """Per-dataset random stream: a dataset's data does not depend on which others are made."""
        return np.random.default_rng([self.seed, DATASETS.index(name)])

    def run(self, name):
        root = osp.join(self.out_dir, name)
        marker = prepare_dataset_dir(root, name, self.o['overwrite'])
        gt = getattr(self, 'make_' + name.lower())(root, self.rng(name))
        write_text(marker, f"synthetic {name} written by tool/synthetic_data.py, seed {self.seed}, "
                           f"options {self.o}\n")
        return gt

    def save(self, shot, path):
        shot.save(path, self.o['jpeg_quality'])

    def rootnet(self, rng, img_id, bbox, root_px, root_z, f, c):
        return rootnet_record(rng, img_id, bbox, root_px, root_z, f, c, self.size,
                              self.o['root_noise'])

    def num_people(self, rng):
        return int(rng.integers(self.o['min_people'], self.o['max_people'] + 1))

    # Human3.6M -----------------------------------------------------------------------------
    def h36m_cameras(self, rng):
        """Four cameras around the capture area, 4.5-5.5 m away, 1.3-1.7 m high."""
        cams = {}
        for k in range(1, 5):
            angle = np.deg2rad(45. + 90. * (k - 1) + rng.normal(0, 5))
            radius = rng.uniform(4500, 5500)
            position = [radius * np.cos(angle), radius * np.sin(angle), rng.uniform(1300, 1700)]
            R, t = look_at(position, [rng.normal(0, 100), rng.normal(0, 100),
                                      rng.uniform(900, 1100)])
            f, c = intrinsics(rng, self.size, 1.145)
            cams[k] = {'R': R, 't': t, 'f': f, 'c': c}
        return cams

    def make_human36m(self, root, rng):
        o = self.o
        idx = joint_indices('Human36M')
        root_idx = 0
        actions = sorted(int(a) for a in rng.choice(np.arange(2, 17), size=o['h36m_actions'],
                                                     replace=False))
        # every subject performs the same scripted actions (in its own way: heading, turning,
        # place), so poses are correlated within an action, as in the real dataset; subjects
        # face the +y side of the room, towards cameras 1 and 2 (3 and 4 see their backs)
        scripts = {(action, sub): sample_action(rng) for action in actions
                   for sub in range(1, o['h36m_subactions'] + 1)}
        frames = np.asarray(o['h36m_frames'])
        gt = {'images': {}, 'cameras': {}, 'bbox_root': []}
        img_id = 0
        for subject in o['h36m_subjects']:
            offsets = sample_bodies(rng, 1)
            cams = self.h36m_cameras(rng)
            gt['cameras'][subject] = cams
            images, anns, joint_3d = [], [], {}
            for action in actions:
                for sub in range(1, o['h36m_subactions'] + 1):
                    local, glob = action_rotations(rng, scripts[action, sub], frames,
                                                   rng.uniform(-45, 45), rng.uniform(0, 30))
                    places = rng.normal(0, 400, size=(1, 2)) + \
                        np.cumsum(rng.normal(0, 10, size=(len(frames), 2)), axis=0)
                    for n, frame in enumerate(frames.tolist()):
                        world, _ = pose_people(rng, offsets, places[n:n + 1],
                                               (local[n:n + 1], glob[n:n + 1]))
                        joint_3d.setdefault(str(action), {}).setdefault(str(sub), {})[
                            str(frame)] = world[0, idx].tolist()
                        for k in range(1, o['h36m_cameras'] + 1):
                            img_id += 1
                            shot = Shot(rng, self.size, cams[k], world)
                            folder = f's_{subject:02d}_act_{action:02d}_subact_{sub:02d}_ca_{k:02d}'
                            file_name = f'{folder}/{folder}_{frame + 1:06d}.jpg'
                            self.save(shot, osp.join(root, 'images', file_name))
                            joint_cam, joint_px = shot.body_cam[0, idx], shot.pix[0, idx]
                            bbox = get_bbox(joint_px)
                            images.append(coco_image(
                                img_id, file_name, self.size, subject=subject,
                                action_name=joint_sets.H36M_ACTIONS[action - 2], action_idx=action,
                                subaction_idx=sub, cam_idx=k, frame_idx=frame))
                            anns.append(coco_annotation(img_id, img_id, bbox,
                                                        keypoints_vis=[True] * len(idx)))
                            gt['images'][img_id] = {
                                'file_name': file_name, 'subject': subject, 'action_idx': action,
                                'subaction_idx': sub, 'frame_idx': frame, 'cam_idx': k,
                                'joint_world': world[0, idx], 'joint_cam': joint_cam,
                                'joint_img': joint_px, 'bbox': bbox}
                            if subject in H36M_TEST_SUBJECTS:
                                rec = self.rootnet(rng, img_id, bbox, joint_px[root_idx],
                                                   joint_cam[root_idx, 2], cams[k]['f'],
                                                   cams[k]['c'])
                                if rec is not None:
                                    gt['bbox_root'].append(rec)
            prefix = osp.join(root, 'annotations', f'Human36M_subject{subject}')
            write_json(prefix + '_data.json', coco_file(images, anns))
            write_json(prefix + '_camera.json', {str(k): {key: np.asarray(v).tolist()
                                                          for key, v in cam.items()}
                                                 for k, cam in cams.items()})
            write_json(prefix + '_joint_3d.json', joint_3d)
        write_json(osp.join(root, 'bbox_root', 'bbox_root_human36m_output.json'), gt['bbox_root'])
        return gt

    # 2D sets ----------------------------------------------------------------------------------
    def people_2d(self, rng, name, n, flags):
        """A rendered scene for a 2D set: `(shot, keypoints (n, J, 3), boxes [(4,) or None])`."""
        cam, world, _ = front_scene(rng, self.size, n, (0.8, 1.4), (2500, 7000))
        shot = Shot(rng, self.size, cam, world)
        idx = joint_indices(name)
        kps = keypoints_2d(shot, idx, flags)
        boxes = [clipped_bbox(shot.pix[p, idx][shot.inside[p, idx]], self.size)
                 if shot.inside[p, idx].sum() >= 2 else None for p in range(n)]
        return shot, kps, boxes

    def annotate_2d(self, rng, name, img_id, ann_id, n, flags):
        """Render one 2D-set image; returns `(shot, annotations, gt entry)`.

        `flags`: keypoint visibility values (visible, occluded); people with fewer than two
        joints in the image are not annotated (`gt['person']` lists the annotated ones).
        """
        shot, kps, boxes = self.people_2d(rng, name, n, flags)
        anns, keep = [], []
        for p, bbox in enumerate(boxes):
            if bbox is None:
                continue
            anns.append(coco_annotation(ann_id + len(anns), img_id, bbox,
                                        keypoints=kps[p].reshape(-1).tolist(),
                                        num_keypoints=int((kps[p, :, 2] > 0).sum())))
            keep.append(p)
        idx = joint_indices(name)
        gt = {'keypoints': kps[keep], 'joint_cam': shot.body_cam[keep][:, idx],
              'bbox': np.array([boxes[p] for p in keep]).reshape(-1, 4),
              'f': shot.cam['f'], 'c': shot.cam['c'], 'person': keep}
        return shot, anns, gt

    def make_mpii(self, root, rng):
        images, anns, gt = [], [], {'images': {}}
        for img_id in range(1, self.o['num_images'] + 1):
            shot, new, entry = self.annotate_2d(rng, 'MPII', img_id, len(anns) + 1,
                                                int(rng.integers(1, self.o['max_people'] + 1)),
                                                (1, 1))
            file_name = f'images/{img_id:09d}.jpg'
            self.save(shot, osp.join(root, file_name))
            images.append(coco_image(img_id, file_name, self.size))
            anns += new
            gt['images'][img_id] = {'file_name': file_name, **entry}
        write_json(osp.join(root, 'annotations', 'train.json'),
                   coco_file(images, anns, joint_sets.MPII_JOINTS, joint_sets.MPII_SKELETON))
        return gt

    def make_mscoco(self, root, rng):
        gt = {'images': {}, 'bbox_root': [], 'detections': []}
        for split, first_id in (('train2017', 1), ('val2017', 1000001)):
            images, anns = [], []
            for img_id in range(first_id, first_id + self.o['num_images']):
                shot, new, entry = self.annotate_2d(rng, 'MSCOCO', img_id, img_id * 100,
                                                    self.num_people(rng), (2, 1))
                file_name = f'{img_id:012d}.jpg'
                self.save(shot, osp.join(root, 'images', split, file_name))
                images.append(coco_image(img_id, file_name, self.size))
                if split == 'train2017' and img_id == first_id:
                    new.append(self.crowd_annotation(img_id, img_id * 100 + 99))
                anns += new
                if split == 'val2017':
                    self.coco_rootnet(rng, img_id, shot, entry, gt['bbox_root'])
                    gt['detections'] += detection_records(img_id, entry['bbox'])
                gt['images'][img_id] = {'split': split, 'file_name': file_name, **entry}
            write_json(osp.join(root, 'annotations', f'person_keypoints_{split}.json'),
                       coco_file(images, anns, JOINT_SOURCES['MSCOCO'], joint_sets.COCO_SKELETON))
        write_json(osp.join(root, 'bbox_root', 'bbox_root_coco_output.json'), gt['bbox_root'])
        write_json(osp.join(root, 'bbox', 'bbox_coco_output.json'), gt['detections'])
        return gt

    def crowd_annotation(self, img_id, ann_id):
        """A crowd region (the loaders skip it): no keypoints, run-length mask of the whole box."""
        w, h = self.size
        bbox = [0., 0., w / 4., h / 4.]
        return coco_annotation(ann_id, img_id, bbox, iscrowd=1, num_keypoints=0,
                               keypoints=[0] * (3 * joint_sets.COCO_KEYPOINT_NUM),
                               segmentation={'size': [h, w], 'counts': [h * w]})

    def coco_rootnet(self, rng, img_id, shot, entry, records):
        """bbox_root records of a COCO val image in the virtual camera (f = 1500 px, centre):
        the depth scales with the focal length, as RootNet's distance prior does."""
        w, h = self.size
        f_virtual, c_virtual = np.array([COCO_FOCAL] * 2), np.array([w / 2., h / 2.])
        pelvis = BODY_INDEX['Pelvis']
        root_img = []
        for person, bbox in zip(entry['person'], entry['bbox']):
            z = shot.body_cam[person, pelvis, 2] * COCO_FOCAL / float(np.mean(shot.cam['f']))
            rec = self.rootnet(rng, img_id, bbox, shot.pix[person, pelvis], z, f_virtual, c_virtual)
            if rec is not None:
                records.append(rec)
                root_img.append(shot.pix[person, pelvis])
        entry['root_img'] = np.array(root_img).reshape(-1, 2)

    # multi-person 3D sets -----------------------------------------------------------------------
    def make_muco(self, root, rng):
        idx = joint_indices('MuCo')
        images, anns, gt = [], [], {'images': {}}
        for img_id in range(1, self.o['num_images'] + 1):
            cam, world, _ = front_scene(rng, self.size, self.num_people(rng), (0.68, 0.78),
                                        (2500, 6500))
            shot = Shot(rng, self.size, cam, world)
            file_name = f'unaugmented_set/{img_id:06d}.jpg'
            self.save(shot, osp.join(root, 'data', file_name))
            images.append(coco_image(img_id, file_name, self.size, f=cam['f'].tolist(),
                                     c=cam['c'].tolist()))
            joint_cam, joint_px = shot.body_cam[:, idx], shot.pix[:, idx]
            boxes = np.array([get_bbox(px) for px in joint_px])
            for p in range(len(world)):
                anns.append(coco_annotation(len(anns) + 1, img_id, boxes[p],
                                            keypoints_cam=joint_cam[p].tolist(),
                                            keypoints_img=joint_px[p].tolist(),
                                            keypoints_vis=shot.inside[p, idx].astype(int).tolist()))
            gt['images'][img_id] = {'file_name': file_name, 'f': cam['f'], 'c': cam['c'],
                                    'joint_cam': joint_cam, 'joint_img': joint_px, 'bbox': boxes,
                                    'joint_vis': shot.inside[:, idx]}
        write_json(osp.join(root, 'data', 'MuCo-3DHP.json'),
                   coco_file(images, anns, joint_sets.MUCO_JOINTS, joint_sets.MUCO_SKELETON))
        return gt

    def make_mupots(self, root, rng):
        o = self.o
        idx = joint_indices('MuPoTS')
        pelvis = joint_sets.MUPOTS_JOINTS.index('Pelvis')
        images, anns, gt = [], [], {'images': {}, 'bbox_root': [], 'detections': []}
        seq_dir = osp.join(root, 'data', 'MultiPersonTestSet')
        for seq in range(1, o['num_sequences'] + 1):
            n = self.num_people(rng)
            cam, half_width = front_camera(rng, self.size, (0.68, 0.78))
            offsets = sample_bodies(rng, n)
            positions = place_on_floor(rng, n, (2500, 6500), half_width)
            kit_annot, kit_occl = [], []
            for frame in range(o['num_frames']):
                img_id = len(images) + 1
                positions = positions + rng.normal(0, 60, size=positions.shape)
                world, univ = pose_people(rng, offsets, positions)
                shot = Shot(rng, self.size, cam, world)
                file_name = f'TS{seq}/img_{frame:06d}.jpg'
                self.save(shot, osp.join(seq_dir, file_name))
                images.append(coco_image(img_id, file_name, self.size,
                                         intrinsic=[*cam['f'].tolist(), *cam['c'].tolist()]))
                joint_cam, joint_px = shot.body_cam[:, idx], shot.pix[:, idx]
                univ_cam = world2cam(univ, cam['R'], cam['t'])[:, idx]
                valid = rng.random(n) >= o['invalid_prob']
                boxes = np.array([get_bbox(px) for px in joint_px])
                ann_ids = []
                for p in range(n):
                    ann_ids.append(len(anns) + 1)
                    anns.append(coco_annotation(ann_ids[-1], img_id, boxes[p],
                                                keypoints_cam=joint_cam[p].tolist(),
                                                keypoints_img=joint_px[p].tolist(),
                                                keypoints_vis=shot.inside[p, idx].astype(
                                                    int).tolist(),
                                                is_valid=int(valid[p])))
                    rec = self.rootnet(rng, img_id, boxes[p], joint_px[p, pelvis],
                                       joint_cam[p, pelvis, 2], cam['f'], cam['c'])
                    if rec is not None:
                        gt['bbox_root'].append(rec)
                gt['detections'] += detection_records(img_id, boxes)
                kit_annot.append([{'annot2': joint_px[p].T, 'annot3': joint_cam[p].T,
                                   'univ_annot3': univ_cam[p].T,
                                   'isValidFrame': np.array([[float(valid[p])]])}
                                  for p in range(n)])
                kit_occl.append([shot.occluded[p, idx][None] for p in range(n)])
                gt['images'][img_id] = {
                    'file_name': file_name, 'sequence': seq, 'frame': frame, 'f': cam['f'],
                    'c': cam['c'], 'joint_cam': joint_cam, 'joint_img': joint_px,
                    'univ_cam': univ_cam, 'is_valid': valid, 'occluded': shot.occluded[:, idx],
                    'bbox': boxes, 'ann_ids': ann_ids}
            occl_cells = np.empty((len(kit_occl), n), dtype=object)
            for i, row in enumerate(kit_occl):
                for k, labels in enumerate(row):
                    occl_cells[i, k] = labels
            savemat(osp.join(seq_dir, f'TS{seq}', 'annot.mat'),
                    {'annotations': kit_cells(kit_annot, ('annot2', 'annot3', 'univ_annot3',
                                                          'isValidFrame'))})
            savemat(osp.join(seq_dir, f'TS{seq}', 'occlusion.mat'),
                    {'occlusion_labels': occl_cells})
        write_json(osp.join(root, 'data', 'MuPoTS-3D.json'),
                   coco_file(images, anns, joint_sets.MUPOTS_JOINTS, joint_sets.MUPOTS_SKELETON))
        write_json(osp.join(root, 'bbox_root', 'bbox_root_mupots_output.json'), gt['bbox_root'])
        write_json(osp.join(root, 'bbox', 'bbox_mupots_output.json'), gt['detections'])
        return gt


def generate(out_dir, datasets=DATASETS, seed=0, num_images=4, num_sequences=2, num_frames=3,
             img_size=256, min_people=2, max_people=3, h36m_subjects=H36M_SUBJECTS,
             h36m_actions=2, h36m_subactions=1, h36m_cameras=2, h36m_frames=H36M_FRAMES,
             root_noise=50., invalid_prob=0.1, jpeg_quality=90, overwrite=False):
    """Write synthetic `datasets` under `out_dir` (a `cfg.data_dir`) and return their ground truth.

    Sizes: `num_images` images for MPII, MuCo and each COCO split; MuPoTS `num_sequences`
    sequences TS1.. of `num_frames` frames; Human36M: every subject of `h36m_subjects` with
    `h36m_actions` random actions x `h36m_subactions` x `h36m_cameras` cameras (of 4) x the
    frame indices `h36m_frames`. `img_size`: px, an int (square) or `(W, H)`. Multi-person
    images hold `min_people..max_people` people (MPII 1..max_people). `root_noise`: std (mm) of
    the depth error of the bbox_root files' roots; `invalid_prob`: chance that a MuPoTS person
    is marked not valid. The same `seed` gives the same files; each dataset has its own random
    stream. Folders of a dataset made before by this generator are replaced; real data is never
    overwritten unless `overwrite=True`.

    Returns `{name: gt}`; every `gt['images']` maps image id -> dict with `file_name` and, per
    person, arrays: Human36M `joint_world`/`joint_cam (17, 3)` mm, `joint_img (17, 2)` px,
    `bbox`, `subject`, `action_idx`, `subaction_idx`, `frame_idx`, `cam_idx` (and `cameras`);
    MuCo `joint_cam (P, 21, 3)`, `joint_img (P, 21, 2)`, `bbox (P, 4)`, `f`, `c`; MuPoTS the
    same with 17 joints plus `univ_cam`, `is_valid (P,)`, `occluded (P, 17)`, `sequence`,
    `frame`, `ann_ids`; MPII / MSCOCO (annotated people only) `keypoints (P, J, 3)`,
    `joint_cam`, `bbox`, `f`, `c`, `person` (their index in the scene), COCO also `split` and,
    for val, `root_img (R, 2)` px (the root pixel of each of the image's bbox_root records).
    `gt['bbox_root']` lists the records written to the bbox_root file (Human36M, MSCOCO,
    MuPoTS).
    """
    unknown = [d for d in datasets if d not in DATASETS]
    if unknown:
        raise PoseNetError(f"unknown dataset {unknown[0]!r}; choose from {', '.join(DATASETS)}")
    size = (int(img_size), int(img_size)) if np.isscalar(img_size) else tuple(map(int, img_size))
    if min(size) < 32:
        raise PoseNetError(f"img_size {img_size}: use at least 32 px")
    if not 1 <= min_people <= max_people:
        raise PoseNetError(f"people per image {min_people}..{max_people}: need 1 <= min <= max")
    if not 1 <= h36m_cameras <= 4 or not 1 <= h36m_actions <= 15:
        raise PoseNetError("h36m_cameras must be 1..4 and h36m_actions 1..15")
    opts = {'size': size, 'num_images': int(num_images), 'num_sequences': int(num_sequences),
            'num_frames': int(num_frames), 'min_people': int(min_people),
            'max_people': int(max_people), 'h36m_subjects': tuple(map(int, h36m_subjects)),
            'h36m_actions': int(h36m_actions), 'h36m_subactions': int(h36m_subactions),
            'h36m_cameras': int(h36m_cameras), 'h36m_frames': tuple(map(int, h36m_frames)),
            'root_noise': float(root_noise), 'invalid_prob': float(invalid_prob),
            'jpeg_quality': int(jpeg_quality), 'overwrite': bool(overwrite)}
    gen = Generator(out_dir, seed, opts)
    return {name: gen.run(name) for name in datasets}
