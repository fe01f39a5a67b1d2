"""Files of detected people: DetectNet's detections and RootNet's `bbox_root` output.

* detection file (COCO detection results): `[{image_id, category_id, bbox [x, y, w, h] px (as
  detected), score}, ...]`;
* bbox_root file (`bbox_root_<dataset>_output.json`, docs/SPEC.md §6, §13): `[{image_id,
  bbox [x, y, w, h] px (already processed), root_cam [X, Y, Z] mm, score?}, ...]` — what RootNet
  testing writes and what PoseNet testing with `use_gt_info=False`, the demo and the pipeline
  read.

Records keep file order. Every malformed file or record is one clear error naming it.
"""
import json
import os.path as osp

import numpy as np

from common.utils.errors import PoseNetError
from common.utils.file_io import write_json

BBOX_ROOT_FORMAT = "RootNet's bbox_root_*_output.json [{image_id, bbox, root_cam}, ...]"
DETECTION_FORMAT = 'COCO detection results [{image_id, category_id, bbox, score}, ...]'
PERSON_CATEGORY_ID = 1      # COCO 'person'


def bbox_root_name(dataset):
    """File name of a dataset's bbox_root file, e.g. `bbox_root_human36m_output.json`
    (MSCOCO: `bbox_root_coco_output.json`, as published)."""
    short = {'MSCOCO': 'coco'}.get(dataset, dataset.lower())
    return f'bbox_root_{short}_output.json'


def _field_error(path, what, i, field, value, expected):
    text = repr(value)
    text = text if len(text) <= 60 else text[:57] + '...'
    return PoseNetError(f"{what} {path}: record {i} has {field} {text}; expected {expected}")


def _numbers(value, n, path, what, i, field):
    """`value` as float64 `(n,)`, finite; else an error naming record `i` and its field."""
    ok = isinstance(value, (list, tuple)) and len(value) == n and \
        all(_is_number(v) for v in value)
    arr = np.asarray(value, dtype=np.float64) if ok else None
    if arr is None or not np.all(np.isfinite(arr)):
        raise _field_error(path, what, i, field, value, f"{n} finite numbers")
    return arr


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _box(value, path, what, i):
    """A record's `bbox` `[x, y, w, h]` px: 4 finite numbers, width and height not negative."""
    box = _numbers(value, 4, path, what, i, 'bbox')
    if box[2] < 0 or box[3] < 0:
        raise _field_error(path, what, i, 'bbox', value, "[x, y, width, height] px with a "
                           "width and height >= 0 (not x2, y2)")
    return box


def _image_id(value, path, what, i):
    """A record's `image_id`: an integer or a string (COCO: an integer)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise _field_error(path, what, i, 'image_id', value, "an integer or a string")
    return value


def _score(value, path, what, i):
    """A record's `score`: a finite number (None when absent)."""
    if value is None:
        return None
    if not (_is_number(value) and np.isfinite(value)):
        raise _field_error(path, what, i, 'score', value, "a finite number")
    return float(value)


def read_records(path, what, required, expected):
    """A JSON list of objects holding the `required` keys; anything else is an error naming the
    file (or the record) and the `expected` format."""
    if not osp.isfile(path):
        raise PoseNetError(f"{what} not found: {path}")
    try:
        with open(path) as f:
            records = json.load(f)
    except (OSError, ValueError) as e:
        raise PoseNetError(f"{what} {path} cannot be read as JSON ({e})") from None
    if not isinstance(records, list):
        raise PoseNetError(f"{what} {path} must be a JSON list of records: {expected}")
    for i, r in enumerate(records):
        if not isinstance(r, dict) or not set(required) <= set(r):
            raise PoseNetError(f"{what} {path}: record {i} is not {{{', '.join(required)}}}; "
                               f"expected {expected}")
    return records


def read_bbox_root(path, what='bbox_root file'):
    """Records of a bbox_root file: `[{'image_id', 'bbox' (4,) px, 'root_cam' (3,) mm,
    'score' (float, 1.0 when absent)}]` in file order. Every field is checked: `image_id` an
    integer or string, `bbox` 4 finite numbers (width, height >= 0), `root_cam` 3 finite
    numbers with a depth > 0, `score` a finite number."""
    out = []
    for i, r in enumerate(read_records(path, what, ('image_id', 'bbox', 'root_cam'),
                                       BBOX_ROOT_FORMAT)):
        root_cam = _numbers(r['root_cam'], 3, path, what, i, 'root_cam')
        if root_cam[2] <= 0:
            raise _field_error(path, what, i, 'root_cam', r['root_cam'],
                               "[X, Y, Z] mm with a depth Z > 0")
        score = _score(r.get('score', 1.0), path, what, i)
        out.append({'image_id': _image_id(r['image_id'], path, what, i),
                    'bbox': _box(r['bbox'], path, what, i), 'root_cam': root_cam,
                    'score': 1.0 if score is None else score})
    return out


def write_bbox_root(path, image_ids, bbox, root_cam, score=None):
    """Write a bbox_root file atomically: one record per person, `bbox (N, 4)` processed px,
    `root_cam (N, 3)` mm, `score (N,)` (left out when None)."""
    bbox = np.asarray(bbox, dtype=np.float64).reshape(-1, 4)
    root_cam = np.asarray(root_cam, dtype=np.float64).reshape(-1, 3)
    records = []
    for n, image_id in enumerate(image_ids):
        rec = {'image_id': image_id, 'bbox': bbox[n].tolist(), 'root_cam': root_cam[n].tolist()}
        if score is not None:
            rec['score'] = float(score[n])
        records.append(rec)
    write_json(path, records)
    return path


class Detections(list):
    """The records `read_detections` keeps, plus what the score threshold dropped:
    `below = {image_id: (number of person boxes below it, best of their scores)}`."""

    def __init__(self, score_thresh):
        super().__init__()
        self.score_thresh = score_thresh
        self.below = {}


def read_detections(path, score_thresh=0.5, category_id=PERSON_CATEGORY_ID,
                    what='detection file'):
    """Person detections of a detection file: `[{'image_id', 'bbox' (4,) px, 'score' (float or
    None)}]` in file order, keeping `category_id` (when a record has one) and
    `score >= score_thresh` (when it has one). Every record is checked (also those dropped):
    `image_id` an integer or string, `category_id` an integer, `bbox` 4 finite numbers (width,
    height >= 0), `score` a finite number."""
    out = Detections(score_thresh)
    for i, r in enumerate(read_records(path, what, ('image_id', 'bbox'), DETECTION_FORMAT)):
        image_id = _image_id(r['image_id'], path, what, i)
        box = _box(r['bbox'], path, what, i)
        score = _score(r.get('score'), path, what, i)
        category = r.get('category_id')
        if category is not None and (isinstance(category, bool) or
                                     not isinstance(category, int)):
            raise _field_error(path, what, i, 'category_id', category, "an integer")
        if category_id is not None and category is not None and category != category_id:
            continue
        if score is not None and score < score_thresh:
            count, best = out.below.get(image_id, (0, score))
            out.below[image_id] = (count + 1, max(best, score))
            continue
        out.append({'image_id': image_id, 'bbox': box, 'score': score})
    return out


def _id_text(value):
    """An image id as compared: text, a number without leading zeros (`000139` -> `139`)."""
    text = str(value)
    return str(int(text)) if text.isdigit() else text


def select_image(records, path, what, image_id=None, img_path=None):
    """`(image_id, records of that image)` from the records of a multi-image file.

    `image_id` (compared as text) when given. Otherwise: the input image's file-name stem read
    as a number when the file holds that id (COCO names: `000000000139.jpg` -> 139), else the
    only id of the file. An image whose person boxes all scored below the threshold
    (`Detections.below`) is an error saying so.
    """
    ids = list(dict.fromkeys(r['image_id'] for r in records))
    below = {_id_text(k): (k, count, best)
             for k, (count, best) in getattr(records, 'below', {}).items()}
    wanted = image_id
    if wanted is None and img_path is not None:
        stem = osp.splitext(osp.basename(img_path))[0]
        wanted = stem if stem.isdigit() else None
    chosen = None
    if wanted is not None:
        chosen = next((i for i in ids if _id_text(i) == _id_text(wanted)), None)
        if chosen is None and _id_text(wanted) in below:
            key, count, best = below[_id_text(wanted)]
            raise PoseNetError(f"{what} {path}: all {count} person box(es) of image_id {key} "
                               f"score below --score_thresh {records.score_thresh:g} (best "
                               f"{best:g}); lower --score_thresh")
        if chosen is None and image_id is not None:
            raise PoseNetError(f"{what} {path} has no record with image_id {image_id} "
                               f"(it holds {len(ids)} image id(s), e.g. {ids[:5]})")
    if chosen is None and len(ids) == 1:
        chosen = ids[0]
    if chosen is None and not ids and below:
        best = max(b for _, _, b in below.values())
        raise PoseNetError(f"{what} {path}: every person box scores below --score_thresh "
                           f"{records.score_thresh:g} (best {best:g}); lower --score_thresh")
    if chosen is None:
        raise PoseNetError(f"{what} {path} holds records of {len(ids)} images; choose one with "
                           f"--image_id (e.g. {ids[:5]})")
    return chosen, [r for r in records if str(r['image_id']) == str(chosen)]
