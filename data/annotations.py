"""Reading the datasets' annotation files (docs/SPEC.md §6).

Locating a dataset's files under the data root with one clear error when one is missing, JSON
and COCO-style annotation files (pycocotools), and checks that a parsed file has the structure
a loader needs, so that a wrong file is named instead of silently dropping samples.
"""
import contextlib
import io
import itertools
import json
import math
import operator
import os.path as osp

try:
    import orjson           # the fast JSON parser (requirements.txt); json without it
except ImportError:         # pragma: no cover
    orjson = None

from common.utils.errors import PoseNetError

DATASETS_HINT = "see docs/datasets.md"


def missing_error(path, what, data_dir):
    """The one error for a missing dataset folder or file: names it and where to read more."""
    return PoseNetError(
        f"{what} not found: {path}. Put the dataset under the data root ({data_dir}; "
        f"--cfg data_dir=... or POSENET_DATA_DIR) as described in docs/datasets.md "
        f"(or generate a synthetic one with `python tool/synthetic_data.py --out "
        f"<data_dir>`)")


def check_split(name, data_split, allowed):
    """Raise PoseNetError unless `data_split` is one of `allowed` for dataset `name`."""
    if data_split not in allowed:
        raise PoseNetError(f"{name} has no '{data_split}' split here; use "
                           f"{' or '.join(repr(s) for s in allowed)}")


def dataset_dir(data_dir, name):
    """`<data_dir>/<name>`; error when the folder is missing."""
    path = osp.join(data_dir, name)
    if not osp.isdir(path):
        raise missing_error(path, f"{name} dataset folder", data_dir)
    return path


def load_json(path, what, data_dir):
    """Parsed JSON of `path` (must exist; a broken file is a clear error too)."""
    if not osp.isfile(path):
        raise missing_error(path, what, data_dir)
    try:
        with open(path, 'rb') as f:
            text = f.read()
        if orjson is not None:
            try:
                return orjson.loads(text)
            except orjson.JSONDecodeError:
                pass                # what orjson refuses (NaN, huge integers, ...): json decides
        return json.loads(text)
    except (OSError, ValueError) as exc:
        raise PoseNetError(f"{what} {path} cannot be read as JSON ({exc}); re-download or "
                           f"regenerate it ({DATASETS_HINT})") from None


def structure_error(path, what, problem):
    """The one error for a parsed file of the wrong structure: names the file and the field."""
    return PoseNetError(f"{what} {path}: {problem}; the file is not in the published format "
                        f"(re-download or regenerate it; {DATASETS_HINT})")


# field -> (kind of value, what it must be); fields not listed are checked for presence only
FIELD_RULES = {
    'id': ('id', 'an integer or a string'),
    'image_id': ('id', 'an integer or a string'),
    'file_name': ('name', 'a file name'),
    'width': ('positive', 'a number > 0'),
    'height': ('positive', 'a number > 0'),
    'bbox': (4, '4 finite numbers [x, y, w, h]'),
    'f': (2, '2 finite numbers'),
    'c': (2, '2 finite numbers'),
    'subject': ('int', 'an integer'),
    'action_idx': ('int', 'an integer'),
    'subaction_idx': ('int', 'an integer'),
    'cam_idx': ('int', 'an integer'),
    'frame_idx': ('int', 'an integer'),
}
_NUMBER_TYPES = {int, float}


def values_ok(kind, values):
    """True when every value of the list `values` is of `kind` (FIELD_RULES): 'id' an integer
    or string, 'int', 'name' a non-empty string, 'positive' a finite number > 0, an integer n
    a list of n finite numbers. Exact types (True is no number), tested in C loops: a file of
    a million records takes a fraction of a second."""
    types = set(map(type, values))
    if kind == 'id':
        return types <= {int, str}
    if kind == 'int':
        return types <= {int}
    if kind == 'name':
        return types <= {str} and '' not in values
    if kind == 'positive':
        return types <= _NUMBER_TYPES and all(map(math.isfinite, values)) and \
            (not values or min(values) > 0)
    numbers = list(itertools.chain.from_iterable(values)) if types <= {list} else None
    return numbers is not None and set(map(len, values)) <= {kind} and \
        set(map(type, numbers)) <= _NUMBER_TYPES and all(map(math.isfinite, numbers))


def check_fields(records, key, fields, path, what):
    """Each of `fields` of every record of `records` (the file's `key` list) is of the kind
    FIELD_RULES gives; else the error names the file, the record index and the field."""
    for field in fields:
        if field not in FIELD_RULES:
            continue
        kind, allowed = FIELD_RULES[field]
        if values_ok(kind, list(map(operator.itemgetter(field), records))):
            continue
        for i, rec in enumerate(records):
            if not values_ok(kind, [rec[field]]):
                text = repr(rec[field])
                text = text if len(text) <= 60 else text[:57] + '...'
                raise structure_error(path, what, f"{key}[{i}] has {field} {text}, expected "
                                                  f"{allowed}")


def check_coco_dict(dataset, path, what, image_fields=('id', 'file_name'),
                    annotation_fields=('id', 'image_id', 'bbox')):
    """Raise a clear error unless `dataset` is a COCO-style dict whose `images` and
    `annotations` lists hold the fields a loader reads (checked on every record: present, and
    of the type and range `FIELD_RULES` gives)."""
    if not isinstance(dataset, dict):
        raise structure_error(path, what, f"expected a JSON object with 'images' and "
                                          f"'annotations', found {type(dataset).__name__}")
    for key, fields in (('images', image_fields), ('annotations', annotation_fields)):
        records = dataset.get(key)
        if not isinstance(records, list):
            raise structure_error(path, what, f"'{key}' is missing or not a list")
        if not has_fields(records, fields):
            for i, rec in enumerate(records):
                missing = [f for f in fields if not isinstance(rec, dict) or f not in rec]
                if missing:
                    raise structure_error(path, what, f"{key}[{i}] lacks '{missing[0]}'")
        check_fields(records, key, fields, path, what)
    return dataset


def has_fields(records, fields):
    """True when every record is a dict holding all `fields` (checked without a Python loop)."""
    try:
        return all(map(operator.ge, map(dict.keys, records), itertools.repeat(set(fields))))
    except TypeError:       # a record that is not a dict
        return False


def coco_from_dict(dataset):
    """A pycocotools `COCO` index over an already parsed annotation dict (printing nothing)."""
    from pycocotools.coco import COCO
    db = COCO()
    db.dataset = dataset
    with contextlib.redirect_stdout(io.StringIO()):
        db.createIndex()
    return db


def load_coco(path, what, data_dir, image_fields=('id', 'file_name'),
              annotation_fields=('id', 'image_id', 'bbox')):
    """pycocotools `COCO` of a COCO-style annotation file `path`, checked as `check_coco_dict`."""
    dataset = load_json(path, what, data_dir)
    return coco_from_dict(check_coco_dict(dataset, path, what, image_fields, annotation_fields))
