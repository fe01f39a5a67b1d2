"""Synthetic datasets in the exact published formats (docs/SPEC.md §6), for tests and smoke runs.

    python tool/synthetic_data.py --out data                       # all five, small, seconds
    python tool/synthetic_data.py --out /tmp/d --datasets Human36M MuPoTS --seed 3 --img_size 512

    from tool.synthetic_data import generate
    gt = generate(out_dir, datasets=['MuCo'], seed=0, num_images=4, img_size=128)

People are articulated 3D skeletons (one body model, `BODY`: 27 joints with bone lengths of an
adult, scaled per person 0.88-1.12 with +-4 % per bone) in random poses within joint limits,
standing on the floor (world: z up, mm) in front of pinhole cameras `cam = R @ world + t`
(x right, y down, z forward). Every dataset's joint set is a selection of the body model's
joints (`JOINT_SOURCES`). Images show each person as a drawn figure, far to near: every body
part has its own colour, left limbs warm and right limbs cool; lines are thicker and brighter
the nearer a segment is, so 2D position and relative depth can be learnt from the pixels.

What is written under `out_dir` (a `cfg.data_dir`):
    Human36M/annotations/Human36M_subject<S>_{data,camera,joint_3d}.json, images/, bbox_root/
    MPII/annotations/train.json, images/
    MSCOCO/annotations/person_keypoints_{train,val}2017.json, images/{train,val}2017/, bbox_root/,
        bbox/ (detections of the val people)
    MuCo/data/MuCo-3DHP.json, data/unaugmented_set/
    MuPoTS/data/MuPoTS-3D.json, data/MultiPersonTestSet/TS<n>/{img_%06d.jpg, annot.mat,
        occlusion.mat}, bbox_root/, bbox/ (detections)
    <Name>/SYNTHETIC_DATA.txt   (marks a generated folder; only such folders are overwritten)

`generate` returns the ground truth it used (see its docstring), for tests.

This file is the command line; the code lives in tool/synthetic/ by job: `body.py` (body model,
poses), `cameras.py`, `render.py` (drawing, occlusion), `records.py` (the file formats' records)
and `datasets.py` (one writer per dataset, `generate`). The public names of those modules are
re-exported here, so `from tool.synthetic_data import generate, ...` keeps working.
"""
import argparse
import os.path as osp

from common.utils.errors import PoseNetError
from tool.synthetic.body import (BODY, BODY_INDEX, BODY_JOINTS, JOINT_SOURCES, LIMIT_HI, LIMIT_LO,
                                 LIMITS, PARENT, RENAME, REST_OFFSET, TWIN, action_rotations,
                                 forward_kinematics, joint_indices, place_on_floor, pose_people,
                                 sample_action, sample_angles, sample_bodies, sample_rotations,
                                 to_rotations)  # noqa: F401
from tool.synthetic.cameras import front_camera, front_scene, intrinsics, look_at  # noqa: F401
from tool.synthetic.render import (BLOBS, LIMBS, SEGMENTS, SHIFT, TORSO, background, draw,
                                   person_primitives, render, shade, Shot)  # noqa: F401
from tool.synthetic.records import (ROOTNET_INPUT_SHAPE, clipped_bbox, coco_annotation,
                                    coco_categories, coco_file, coco_image, detection_records,
                                    keypoints_2d, kit_cells, rootnet_record)  # noqa: F401
from tool.synthetic.datasets import (COCO_FOCAL, DATASETS, H36M_FRAMES, H36M_SUBJECTS,
                                     H36M_TEST_SUBJECTS, MARKER, generate, generated_dirs,
                                     Generator, prepare_dataset_dir)  # noqa: F401


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Write synthetic Human36M / MPII / MSCOCO / MuCo / MuPoTS trees in the '
                    'published formats (a data_dir for cfg.data_dir).')
    parser.add_argument('--out', required=True, help='data folder to write (e.g. data)')
    parser.add_argument('--datasets', nargs='+', default=list(DATASETS), choices=DATASETS)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--img_size', type=int, nargs='+', default=[256],
                        help='image size in px: one value (square) or W H')
    parser.add_argument('--num_images', type=int, default=4,
                        help='images of MPII, MuCo and of each MSCOCO split')
    parser.add_argument('--num_sequences', type=int, default=2, help='MuPoTS sequences')
    parser.add_argument('--num_frames', type=int, default=3, help='frames per MuPoTS sequence')
    parser.add_argument('--min_people', type=int, default=2)
    parser.add_argument('--max_people', type=int, default=3)
    parser.add_argument('--h36m_actions', type=int, default=2)
    parser.add_argument('--h36m_subactions', type=int, default=1)
    parser.add_argument('--h36m_cameras', type=int, default=2)
    parser.add_argument('--h36m_frames', type=int, nargs='+', default=list(H36M_FRAMES),
                        help='frame indices of every Human36M sequence')
    parser.add_argument('--root_noise', type=float, default=50.,
                        help='depth error (mm, std) of the roots in the bbox_root files')
    parser.add_argument('--invalid_prob', type=float, default=0.1,
                        help='chance that a MuPoTS person is marked not valid')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace existing dataset folders not made by this tool')
    args = parser.parse_args(argv)
    if len(args.img_size) not in (1, 2):
        parser.error('--img_size takes one value or two (W H)')
    img_size = args.img_size[0] if len(args.img_size) == 1 else tuple(args.img_size)
    try:
        gt = generate(args.out, args.datasets, seed=args.seed, num_images=args.num_images,
                      num_sequences=args.num_sequences, num_frames=args.num_frames,
                      img_size=img_size, min_people=args.min_people, max_people=args.max_people,
                      h36m_actions=args.h36m_actions, h36m_subactions=args.h36m_subactions,
                      h36m_cameras=args.h36m_cameras, h36m_frames=args.h36m_frames,
                      root_noise=args.root_noise, invalid_prob=args.invalid_prob,
                      overwrite=args.overwrite)
    except PoseNetError as exc:
        parser.exit(2, f'error: {exc}\n')
    for name, data in gt.items():
        print(f'{name}: {len(data["images"])} images under {osp.join(args.out, name)}')


if __name__ == '__main__':
    main()
