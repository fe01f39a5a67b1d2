"""The records of the published file formats (docs/SPEC.md §6): COCO images, annotations and
categories, keypoints, boxes, DetectNet/RootNet outputs, the MuPoTS kit's MATLAB cells.
"""
import numpy as np

from common.utils.pose_utils import get_bbox, pixel2cam, process_bbox


ROOTNET_INPUT_SHAPE = (256, 256)               # boxes in bbox_root files: RootNet's crop aspect


def coco_image(img_id, file_name, size, **extra):
    """COCO `images` record."""
    return {'id': int(img_id), 'file_name': file_name, 'width': int(size[0]),
            'height': int(size[1]), **extra}


def coco_annotation(ann_id, img_id, bbox, **extra):
    """COCO `annotations` record of a person with box `bbox [x, y, w, h]` px."""
    bbox = [float(v) for v in bbox]
    return {'id': int(ann_id), 'image_id': int(img_id), 'category_id': 1, 'iscrowd': 0,
            'area': bbox[2] * bbox[3], 'bbox': bbox, **extra}


def coco_categories(joints=(), skeleton=()):
    """COCO `categories`: one 'person' with keypoint names (COCO spelling) and 1-based skeleton."""
    names = [n.replace('L_', 'left_').replace('R_', 'right_').lower() for n in joints]
    return [{'id': 1, 'name': 'person', 'supercategory': 'person', 'keypoints': names,
             'skeleton': [[a + 1, b + 1] for a, b in skeleton]}]


def coco_file(images, annotations, joints=(), skeleton=()):
    """Content of a COCO-style annotation file: `images`, `annotations` and the one 'person'
    category (`coco_categories`)."""
    return {'images': images, 'annotations': annotations,
            'categories': coco_categories(joints, skeleton)}


def keypoints_2d(shot, idx, flags):
    """`(P, J, 3)` `[x, y, v]` of the joints `idx`: `v = flags[0]` visible, `flags[1]` when a
    nearer person covers it, 0 (and x = y = 0) outside the image."""
    inside, occluded = shot.inside[:, idx], shot.occluded[:, idx]
    v = np.where(inside, np.where(occluded, flags[1], flags[0]), 0).astype(np.float64)
    xy = np.where(inside[..., None], shot.pix[:, idx], 0.)
    return np.concatenate([xy, v[..., None]], axis=-1)


def clipped_bbox(joint_px, size):
    """`get_bbox` of the joints clipped to the image (COCO boxes lie inside it), or None."""
    x, y, w, h = get_bbox(joint_px)
    x1, y1 = max(0., x), max(0., y)
    x2, y2 = min(size[0] - 1., x + w), min(size[1] - 1., y + h)
    if x2 - x1 < 2 or y2 - y1 < 2:
        return None
    return np.array([x1, y1, x2 - x1, y2 - y1])


def rootnet_record(rng, img_id, bbox, root_px, root_z, f, c, size, noise):
    """A DetectNet/RootNet output record: processed box and a root with depth error.

    `root_px (2,)` px, `root_z` mm (in the camera `f, c` the file uses); the root keeps its
    pixel and gets `N(0, noise)` mm of depth error. None when the box is outside the image.
    """
    bbox = process_bbox(bbox, size[0], size[1], ROOTNET_INPUT_SHAPE)
    if bbox is None:
        return None
    z = root_z + rng.normal(0., noise)
    root_cam = pixel2cam(np.array([[root_px[0], root_px[1], z]]), f, c)[0]
    return {'image_id': int(img_id), 'bbox': bbox.tolist(), 'root_cam': root_cam.tolist()}


def detection_records(img_id, boxes):
    """DetectNet-style records of an image's person boxes `(P, 4)` px (as annotated): COCO
    detection results with deterministic scores 0.99, 0.98, ... (no random draw, so the rest of
    the generated data does not depend on them)."""
    return [{'image_id': int(img_id), 'category_id': 1, 'bbox': [float(v) for v in box],
             'score': round(0.99 - 0.01 * p, 2)} for p, box in enumerate(boxes)]


def kit_cells(people, fields):
    """MATLAB cell array `(frames, people)` of 1x1 structs: `people[i][k]` is a dict of `fields`."""
    cells = np.empty((len(people), len(people[0]) if people else 0), dtype=object)
    for i, row in enumerate(people):
        for k, values in enumerate(row):
            struct = np.empty((1, 1), dtype=[(name, object) for name in fields])
            struct[0, 0] = tuple(values[name] for name in fields)
            cells[i, k] = struct
    return cells
