"""Joint sets of every dataset: names, flip pairs (left, right), skeletons (docs/SPEC.md §6).

**compat**: the order of every list is the original release's; snapshots, result files and the
MATLAB scripts index joints by position. Each dataset class takes its attributes from here.
"""

H36M_JOINTS = ('Pelvis', 'R_Hip', 'R_Knee', 'R_Ankle', 'L_Hip', 'L_Knee', 'L_Ankle', 'Torso',
               'Neck', 'Nose', 'Head', 'L_Shoulder', 'L_Elbow', 'L_Wrist', 'R_Shoulder',
               'R_Elbow', 'R_Wrist', 'Thorax')
H36M_FLIP_PAIRS = ((1, 4), (2, 5), (3, 6), (14, 11), (15, 12), (16, 13))
H36M_SKELETON = ((0, 7), (7, 8), (8, 9), (9, 10), (8, 11), (11, 12), (12, 13), (8, 14), (14, 15),
                 (15, 16), (0, 1), (1, 2), (2, 3), (0, 4), (4, 5), (5, 6))
# action_idx 2..16 -> H36M_ACTIONS[action_idx - 2]
H36M_ACTIONS = ('Directions', 'Discussion', 'Eating', 'Greeting', 'Phoning', 'Posing',
                'Purchases', 'Sitting', 'SittingDown', 'Smoking', 'Photo', 'Waiting', 'Walking',
                'WalkDog', 'WalkTogether')

MPII_JOINTS = ('R_Ankle', 'R_Knee', 'R_Hip', 'L_Hip', 'L_Knee', 'L_Ankle', 'Pelvis', 'Thorax',
               'Neck', 'Head', 'R_Wrist', 'R_Elbow', 'R_Shoulder', 'L_Shoulder', 'L_Elbow',
               'L_Wrist')
MPII_FLIP_PAIRS = ((0, 5), (1, 4), (2, 3), (10, 15), (11, 14), (12, 13))
MPII_SKELETON = ((0, 1), (1, 2), (2, 6), (7, 12), (12, 11), (11, 10), (5, 4), (4, 3), (3, 6),
                 (7, 13), (13, 14), (14, 15), (6, 7), (7, 8), (8, 9))

# COCO's 17 keypoints, then Thorax and Pelvis added by the loader
COCO_JOINTS = ('Nose', 'L_Eye', 'R_Eye', 'L_Ear', 'R_Ear', 'L_Shoulder', 'R_Shoulder',
               'L_Elbow', 'R_Elbow', 'L_Wrist', 'R_Wrist', 'L_Hip', 'R_Hip', 'L_Knee', 'R_Knee',
               'L_Ankle', 'R_Ankle', 'Thorax', 'Pelvis')
COCO_KEYPOINT_NUM = 17
COCO_FLIP_PAIRS = ((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16))
COCO_SKELETON = ((1, 2), (0, 1), (0, 2), (2, 4), (1, 3), (6, 8), (8, 10), (5, 7), (7, 9),
                 (12, 14), (14, 16), (11, 13), (13, 15), (5, 6), (11, 12))

MUCO_JOINTS = ('Head_top', 'Thorax', 'R_Shoulder', 'R_Elbow', 'R_Wrist', 'L_Shoulder', 'L_Elbow',
               'L_Wrist', 'R_Hip', 'R_Knee', 'R_Ankle', 'L_Hip', 'L_Knee', 'L_Ankle', 'Pelvis',
               'Spine', 'Head', 'R_Hand', 'L_Hand', 'R_Toe', 'L_Toe')
MUCO_FLIP_PAIRS = ((2, 5), (3, 6), (4, 7), (8, 11), (9, 12), (10, 13), (17, 18), (19, 20))
MUCO_SKELETON = ((0, 16), (16, 1), (1, 15), (15, 14), (14, 8), (14, 11), (8, 9), (9, 10),
                 (10, 19), (11, 12), (12, 13), (13, 20), (1, 2), (2, 3), (3, 4), (4, 17), (1, 5),
                 (5, 6), (6, 7), (7, 18))

# MuPoTS-3D: the first 17 of MuCo's joints (what the kit evaluates)
MUPOTS_JOINTS = MUCO_JOINTS[:17]
MUPOTS_FLIP_PAIRS = MUCO_FLIP_PAIRS[:6]
MUPOTS_SKELETON = ((0, 16), (16, 1), (1, 15), (15, 14), (14, 8), (14, 11), (8, 9), (9, 10),
                   (11, 12), (12, 13), (1, 2), (2, 3), (3, 4), (1, 5), (5, 6), (6, 7))


class MuCoOutputJoints:
    """Joint attributes of a test set evaluated with a MuCo-trained model (MuPoTS, MSCOCO test).

    The network outputs MuCo's 21 joints (`joint_num`, `joints_name`); the first 17 (the MuPoTS
    set: `original_joint_num`, `original_joints_name`, `eval_joint`) are evaluated/exported.
    """
    joint_num = len(MUCO_JOINTS)
    joints_name = MUCO_JOINTS
    original_joint_num = len(MUPOTS_JOINTS)
    original_joints_name = MUPOTS_JOINTS
    eval_joint = tuple(range(len(MUPOTS_JOINTS)))
    flip_pairs = MUPOTS_FLIP_PAIRS
    skeleton = MUPOTS_SKELETON
    root_idx = MUCO_JOINTS.index('Pelvis')
