"""Output files of the demo and of `main.video.estimate` (docs/SPEC.md §15.5-15.8).

* a photo: `<stem>_pose_2d.jpg` (skeletons drawn), `<stem>_pose_3d.png` (3D view, people
  numbered, titled by the photo's name), `<stem>_pose.json` (the record of `result_to_json`)
  and `<stem>_pose_3d.html` (interactive 3D page, `common.utils.html_view`; plotly.js beside
  it as `plotly-<version>.min.js`); the single-photo names are `output_pose_*` as the
  original's;
* a video or stream (`VideoWriters`): `<stem>_pose.mp4` (skeletons in each track's colour with
  its id), `<stem>_pose.jsonl` (one record per decoded frame, in frame order),
  `<stem>_pose_3d/frame_<n>.png` (a 3D view per frame, people labelled by track id, one set
  of axis limits for the whole video), `<stem>_tracks.npz` (per-track arrays) and
  `<stem>_pose_3d.html` (interactive 3D page with a frame slider). The 3D views and the page
  are made after the last frame from the `.jsonl` read back from disk (memory stays flat).
  They are written into `.<stem>_pose.partial/` and moved into place when the video
  is complete, so an interrupted run never mixes its frames with an earlier result, and
  `--resume` continues it.

Every write failure is one `PoseNetError`: `cannot write PATH: <reason> (<free space> free)`.
"""
import colorsys
import contextlib
import json
import os
import os.path as osp
import shutil
import time

import cv2
import numpy as np

from common.utils.errors import PoseNetError
from common.utils.file_io import atomic_path, make_writable_dir, write_error, write_json
from common.utils.html_view import write_photo_html, write_video_html
from common.utils.vis import cube_limits, to_plot_coords, vis_3d_multiple_skeleton, vis_keypoints

TITLE_3D = '{name} (x,y,z: camera-centered. mm.)'
CHECKPOINT_SECONDS = 2.0        # a resumable state is saved at least this often


# -- failures and the output folder ---------------------------------------------------------
def check_out_dir(out_dir):
    """Create the output folder if needed and check that files can be written into it, before
    any model loads (`make_writable_dir`: an existing file, a path under a file, a read-only or
    full folder is one error line, here prefixed with `--out`). Returns the absolute path."""
    path = osp.abspath(out_dir)
    try:
        make_writable_dir(path)
    except PoseNetError as e:
        raise PoseNetError(f"--out {out_dir}: {e}") from None
    return path



@contextlib.contextmanager
def output_folder(out_dir):
    """`check_out_dir(out_dir)` for a `with` block that yields the absolute folder; when the
    block fails (an error, Ctrl-C) the folders `check_out_dir` made and that are still empty
    (nothing was written: e.g. a model that did not load) are removed again, so that a failed
    run leaves nothing behind. A folder that existed before, or holds a file, is kept."""
    path = osp.abspath(out_dir)
    made = []               # the folders check_out_dir creates, deepest first
    folder = path
    while not osp.exists(folder) and osp.dirname(folder) != folder:
        made.append(folder)
        folder = osp.dirname(folder)
    check_out_dir(out_dir)
    try:
        yield path
    except BaseException:
        for folder in made:
            if not osp.isdir(folder) or os.listdir(folder):
                break
            os.rmdir(folder)
        raise


# -- drawing --------------------------------------------------------------------------------
def track_color(track_id):
    """A BGR colour of a track id: hues spread by the golden ratio, the same in every frame."""
    r, g, b = colorsys.hsv_to_rgb((int(track_id) * 0.618033988749895) % 1.0, 0.85, 0.95)
    return int(b * 255), int(g * 255), int(r * 255)


def draw_track(img, pose_2d, bbox, skeleton, track_id):
    """One tracked person on `img` (in place): skeleton and box in the track's colour and
    `id <n>` above the box."""
    color = track_color(track_id)
    pts = [(int(x), int(y)) for x, y in np.asarray(pose_2d, np.float64)
           if abs(x) < 2 ** 30 and abs(y) < 2 ** 30]
    if len(pts) == len(pose_2d):
        for i, j in skeleton:
            cv2.line(img, pts[i], pts[j], color, 2, cv2.LINE_AA)
        for p in pts:
            cv2.circle(img, p, 3, color, -1, cv2.LINE_AA)
    x, y, w, h = (int(round(v)) for v in bbox)
    cv2.rectangle(img, (x, y), (x + w, y + h), color, 1, cv2.LINE_AA)
    cv2.putText(img, f'id {track_id}', (x + 2, max(12, y - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                color, 1, cv2.LINE_AA)
    return img


def draw_2d(img, result):
    """Everyone's skeleton on a copy of the BGR image: `vis_keypoints` (all joints scored 1),
    or for tracked people (`track_id`) `draw_track` in the track's colour."""
    vis_img = img.copy()
    for person in result['people']:
        pose_2d = np.asarray(person['pose_2d'], dtype=np.float64)
        if person.get('track_id') is not None:
            draw_track(vis_img, pose_2d, person['bbox'], result['skeleton'], person['track_id'])
            continue
        kps = np.stack((pose_2d[:, 0], pose_2d[:, 1], np.ones(len(pose_2d))))
        vis_img = vis_keypoints(vis_img, kps, result['skeleton'])
    return vis_img


def people_poses(result):
    """`(poses (N, J, 3) camera mm, labels)` of a result or record: each person labelled by
    their `track_id` when they have one, else their number (1-based, in order)."""
    poses = np.array([p['pose_3d'] for p in result['people']], dtype=np.float64).reshape(
        -1, len(result['joints_name']), 3)
    labels = [str(p['track_id']) if p.get('track_id') is not None else str(n + 1)
              for n, p in enumerate(result['people'])]
    return poses, labels


def draw_3d(result, path=None, title='output_pose_3d', limits=None):
    """The 3D view of everyone (camera space, mm) written to `path`, people numbered (track ids
    when present), titled by `title` (the input's name); `limits`: one axis cube for all frames
    of a video (`cube_limits`; default around these people). No people: an empty view."""
    poses, labels = people_poses(result)
    try:
        return vis_3d_multiple_skeleton(poses, None, result['skeleton'], filename=path,
                                        title=TITLE_3D.format(name=title), labels=labels,
                                        limits=limits)
    except OSError as e:
        raise write_error(path, e) from None


def records_limits(records):
    """`cube_limits` over every joint of every record (an iterable read once, e.g. a `.jsonl`
    file): one set of axis limits for a whole video; memory is one record at a time."""
    lo, hi = np.full(3, np.inf), np.full(3, -np.inf)
    for record in records:
        for person in record['people']:
            pts = to_plot_coords(np.asarray(person['pose_3d'], np.float64)).reshape(-1, 3)
            pts = pts[np.isfinite(pts).all(axis=1)]
            if len(pts):
                lo, hi = np.minimum(lo, pts.min(axis=0)), np.maximum(hi, pts.max(axis=0))
    # cube_limits needs only the extremes of the points
    return cube_limits(np.stack((lo, hi)) if np.isfinite(lo).all() else np.zeros((0, 3)))


def write_views_3d(jsonl_path, folder, name):
    """The 3D view of each record of a `.jsonl` file as `folder/frame_<n>.png`, titled
    `<name> frame <n>`, all with the limits of `records_limits` (two passes over the file:
    the limits, then the drawing)."""
    limits = records_limits(read_jsonl(jsonl_path))
    for record in read_jsonl(jsonl_path):
        draw_3d(record, osp.join(folder, f"frame_{record['frame']:06d}.png"),
                title=f"{name} frame {record['frame']}", limits=limits)


def write_image(path, img):
    """Write a BGR image atomically; the format follows the extension."""
    ok, buf = cv2.imencode(osp.splitext(path)[1] or '.jpg', img)
    if not ok:
        raise PoseNetError(f"cannot encode image for {path}")
    with atomic_path(path) as tmp:      # a failed write is atomic_path's one-line error
        with open(tmp, 'wb') as f:
            f.write(buf.tobytes())
    return path


# -- records --------------------------------------------------------------------------------
def _floats(a):
    return np.asarray(a, dtype=np.float64).tolist()


RAW_FIELDS = ('root_cam_raw', 'pose_2d_raw', 'pose_3d_raw')


def result_to_json(result, img_path, img_shape, meta, image_id=None, frame=None, raw=False):
    """The machine-readable record of one image or frame (plain JSON types). A tracked person
    also has `track_id`; with `raw` the per-frame values before smoothing (`*_raw`)."""
    people = []
    for n, p in enumerate(result['people']):
        person = {'person': n + 1}
        if p.get('track_id') is not None:
            person['track_id'] = int(p['track_id'])
        person.update({'bbox': _floats(p['bbox']),
                       'bbox_processed': _floats(p['bbox_processed']), 'score': p['score'],
                       'root_cam': _floats(p['root_cam']),
                       'root_depth': float(p['root_cam'][2]), 'root_source': p['root_source'],
                       'pose_2d': _floats(p['pose_2d']), 'pose_3d': _floats(p['pose_3d'])})
        if raw:
            person.update({k: _floats(p[k]) for k in RAW_FIELDS})
        people.append(person)
    record = {'image': None if img_path is None else osp.abspath(img_path),
              'image_size': [int(img_shape[1]), int(img_shape[0])]}
    if frame is not None:
        record['frame'] = int(frame)
    record.update({
        'image_id': image_id,
        'camera': {'focal': _floats(result['focal']), 'princpt': _floats(result['princpt']),
                   'source': meta['camera_source']},
        **{k: v for k, v in meta.items() if k != 'camera_source'},
        'units': {'bbox': '[x, y, w, h] px of the input image',
                  'root_cam': 'mm, camera space of the root joint (Pelvis)',
                  'pose_2d': '[x, y] px of the input image, one row per joint',
                  'pose_3d': '[X, Y, Z] mm, camera space (x right, y down, z forward)'},
        'joints_name': list(result['joints_name']),
        'skeleton': [list(p) for p in result['skeleton']],
        'people': people})
    return record


def output_names(out_dir, stem=None, html=True):
    """Paths of the outputs of one image (the original's names for a single photo); `html`:
    also the interactive 3D page."""
    prefix = 'output_pose' if stem is None else f'{stem}_pose'
    names = {'pose_2d': osp.join(out_dir, f'{prefix}_2d.jpg'),
             'pose_3d': osp.join(out_dir, f'{prefix}_3d.png'),
             'json': osp.join(out_dir, f'{prefix}.json')}
    if html:
        names['html'] = osp.join(out_dir, f'{prefix}_3d.html')
    return names


def write_outputs(paths, img, result, record, title='output_pose_3d'):
    """Write the 2D drawing, the 3D view and the JSON record, and the interactive 3D page when
    `paths` has 'html' (`output_names`); `title`: the input's name. Returns the 2D drawing."""
    vis_img = draw_2d(img, result)
    write_image(paths['pose_2d'], vis_img)
    draw_3d(result, paths['pose_3d'], title=title)
    write_json(paths['json'], record)
    if 'html' in paths:
        try:
            write_photo_html(paths['html'], record, title)
        except OSError as e:
            raise write_error(paths['html'], e) from None
    return vis_img


def video_names(out_dir, stem):
    """Final paths of a video's outputs."""
    return {'video': osp.join(out_dir, f'{stem}_pose.mp4'),
            'jsonl': osp.join(out_dir, f'{stem}_pose.jsonl'),
            'pose_3d_dir': osp.join(out_dir, f'{stem}_pose_3d'),
            'tracks': osp.join(out_dir, f'{stem}_tracks.npz'),
            'html': osp.join(out_dir, f'{stem}_pose_3d.html')}


# -- per-track arrays -----------------------------------------------------------------------
def read_jsonl(path):
    """The records of a `.jsonl` file, one at a time."""
    with open(path) as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def write_tracks(jsonl_path, path, num_joints, final=None):
    """`<stem>_tracks.npz` from a complete `.jsonl`: for each track id `t`, `t<id>_frames (T,)`
    int64, `t<id>_pose_3d (T, J, 3)` mm, `t<id>_root_cam (T, 3)` mm, `t<id>_pose_2d (T, J, 2)`
    px, `t<id>_score (T,)`, `t<id>_bbox (T, 4)` px (smoothed values; with smoothing also
    `t<id>_pose_3d_raw`, ...), and `track_ids (K,)`; `final`: the path to name in an error
    when `path` is a temporary place. Two passes over the file: memory is the
    arrays themselves, not the records."""
    lengths, raw = {}, False
    for record in read_jsonl(jsonl_path):
        for p in record['people']:
            lengths[p['track_id']] = lengths.get(p['track_id'], 0) + 1
            raw = raw or 'pose_3d_raw' in p
    shapes = {'frames': (), 'pose_3d': (num_joints, 3), 'root_cam': (3,),
              'pose_2d': (num_joints, 2), 'score': (), 'bbox': (4,)}
    if raw:
        shapes.update({'pose_3d_raw': (num_joints, 3), 'root_cam_raw': (3,),
                       'pose_2d_raw': (num_joints, 2)})
    arrays = {f't{t}_{k}': np.zeros((n, *s), np.int64 if k == 'frames' else np.float64)
              for t, n in lengths.items() for k, s in shapes.items()}
    filled = dict.fromkeys(lengths, 0)
    for record in read_jsonl(jsonl_path):
        for p in record['people']:
            t, i = p['track_id'], filled[p['track_id']]
            filled[t] += 1
            for k in shapes:
                arrays[f't{t}_{k}'][i] = record['frame'] if k == 'frames' else p[k]
    arrays['track_ids'] = np.array(sorted(lengths), np.int64)
    with atomic_path(path) as tmp:
        try:
            with open(tmp, 'wb') as f:
                np.savez(f, **arrays)
        except OSError as e:     # named here: atomic_path's own error names the temporary place
            raise write_error(final or path, e) from None
    return path


class Records:
    """The records of a `.jsonl` file as a sequence read from disk when iterated (the records
    of a long video are never all in memory)."""

    def __init__(self, path):
        self.path = path

    def __iter__(self):
        return read_jsonl(self.path)

    def __len__(self):
        return sum(1 for _ in read_jsonl(self.path))


# -- a video's outputs ----------------------------------------------------------------------
class VideoWriters:
    """The outputs of one video or stream, written frame by frame (`main.video.estimate`).

    `out_dir`; `stem` (None: the input's name); `meta`: the fixed fields of each record
    (`result_to_json`); `settings`: everything the results depend on (input, models, boxes,
    camera, tracking, smoothing), compared on `--resume`; `video`, `views_3d`, `tracks`, `html`:
    which files to write besides the `.jsonl`; `raw`: write the per-frame values beside the
    smoothed; `title`: the input's name in the 3D views and the page (None: the video's file
    name, or the stream's stem).
    """

    def __init__(self, out_dir, meta, settings, stem=None, video=True, views_3d=True,
                 tracks=True, raw=False, html=True, title=None):
        self.out_dir, self.meta, self.settings, self.stem = out_dir, meta, settings, stem
        self.want_video, self.views_3d, self.want_tracks, self.raw = video, views_3d, tracks, raw
        self.want_html, self.title = html, title
        self.writer, self.segments, self.records, self.jsonl = None, [], 0, None
        self.jsonl_bytes = 0
        self.good = {'records': 0, 'jsonl_bytes': 0, 'segments': [], 'estimator': None}
        self.last_checkpoint = time.monotonic()
        self.files, self.resume_state = None, None

    # -- start, resume ----------------------------------------------------------------------
    def start(self, inp, resume=False):
        """Open the outputs of input `inp` (`main.inputs`); returns the estimator state to
        continue from (`resume` and an interrupted run there), else None."""
        self.kind, self.fps = inp.kind, inp.fps or 25.0
        self.stem = self.stem or inp.name
        if self.title is None:
            self.title = (osp.basename(str(inp.path)) if inp.kind == 'video' and inp.path
                          else inp.name)
        self.files = video_names(self.out_dir, self.stem)
        self.partial = osp.join(self.out_dir, f'.{self.stem}_pose.partial')
        self.state_path = osp.join(self.partial, 'state.json')
        self.jsonl_path = osp.join(self.partial, 'pose.jsonl')
        self.views_dir = osp.join(self.partial, 'pose_3d')
        state = None
        if resume and inp.kind == 'stream':
            raise PoseNetError("--resume continues a video file; a webcam or stream cannot be "
                               "resumed")
        if osp.isdir(self.partial):
            if not resume:
                raise PoseNetError(f"{self.partial} holds an interrupted run of {self.stem}: "
                                   "continue it with --resume, or delete that folder to start "
                                   "again")
            state = self._resume_state()
        elif resume:
            print(f'note: no interrupted run of {self.stem} in {self.out_dir}; starting from the '
                  'first frame')
        try:
            os.makedirs(self.views_dir, exist_ok=True)
            if state is None:
                self._save_state()
            else:
                self.good = {k: state[k] for k in self.good}
            self.jsonl = open(self.jsonl_path, 'a')
        except OSError as e:
            raise write_error(self.partial, e) from None
        self.resume_state = None if state is None else state['estimator']
        return self.resume_state

    def _resume_state(self):
        try:
            with open(self.state_path) as f:
                state = json.load(f)
        except (OSError, ValueError):
            raise PoseNetError(f"cannot resume: {self.state_path} is missing or damaged; delete "
                               f"{self.partial} and start again") from None
        if state['settings'] != json.loads(json.dumps(self.settings)):
            old, new = state['settings'], self.settings
            diff = [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
            raise PoseNetError(f"cannot resume {self.partial}: it was made with other settings "
                               f"or another video ({', '.join(diff)} differ); run with the same "
                               "arguments, or delete that folder to start again")
        self.records, self.segments = state['records'], state['segments']
        self.jsonl_bytes = state['jsonl_bytes']
        try:
            with open(self.jsonl_path, 'a') as f:    # drop records after the saved state
                f.truncate(self.jsonl_bytes)
        except OSError as e:
            raise write_error(self.jsonl_path, e) from None
        for name, frames in self.segments:
            if frames == 0:
                continue
            cap = cv2.VideoCapture(osp.join(self.partial, name))
            ok = cap.isOpened() and int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) >= frames
            cap.release()
            if not ok:
                raise PoseNetError(f"cannot resume {self.partial}: its drawn video {name} is "
                                   "damaged (the run was killed); delete that folder and start "
                                   "again")
        if state['estimator'] is not None:
            print(f"resuming {self.stem} after {self.records} frame record(s) (frame "
                  f"{state['estimator']['next_frame']} on)")
        return state

    def _save_state(self):
        """Save the last consistent state: every count in it belongs to the same frame."""
        if self.jsonl is not None:
            try:
                self.jsonl.flush()
            except OSError as e:
                raise write_error(self.files['jsonl'], e) from None
        write_json(self.state_path, {'settings': self.settings, **self.good})

    # -- frames -----------------------------------------------------------------------------
    def write(self, result, estimator):
        """Write one final frame result (drawn frame, `.jsonl` record); the 3D views are drawn
        at the end (`finish`), with one set of axis limits."""
        image = result['image']
        if self.want_video:
            if self.writer is None:
                self._open_segment(image.shape)
            self.writer.write(draw_2d(image, result))
            self.segments[-1][1] += 1
        record = result_to_json(result, result['path'], image.shape, self.meta,
                                image_id=result['frame'], frame=result['frame'], raw=self.raw)
        line = json.dumps(record) + '\n'
        try:
            self.jsonl.write(line)
        except OSError as e:
            raise write_error(self.files['jsonl'], e) from None
        self.records += 1
        self.jsonl_bytes += len(line.encode())
        if result['frame'] == estimator.next_frame - 1:   # all frames given out are written
            self.good = {'records': self.records, 'jsonl_bytes': self.jsonl_bytes,
                         'segments': [list(s) for s in self.segments],
                         'estimator': estimator.state()}
            now = time.monotonic()
            if now - self.last_checkpoint >= CHECKPOINT_SECONDS:
                self._save_state()
                self.last_checkpoint = now

    def _open_segment(self, shape):
        # each run (and each resumed run) writes its own segment; they are joined at the end
        name = f'video_{len(self.segments):03d}.mp4'
        path = osp.join(self.partial, name)
        self.writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), self.fps,
                                      (shape[1], shape[0]))
        if not self.writer.isOpened():
            raise write_error(self.files['video'], 'no mp4v encoder in this OpenCV, or the '
                                                    'folder is not writable')
        self.segments.append([name, 0])

    def _close(self):
        if self.writer is not None:
            self.writer.release()
            self.writer = None
        if self.jsonl is not None:
            try:
                self.jsonl.close()
            except OSError:
                pass
            self.jsonl = None

    def interrupted(self, estimator):
        """The run stopped early: keep the partial folder resumable (a stream instead ends
        here: what it has is written out as complete)."""
        if self.files is None:
            return
        if self.good['records'] == 0 and (estimator is None or self.kind != 'stream'):
            self._close()           # nothing to resume from
            shutil.rmtree(self.partial, ignore_errors=True)
            return
        if self.kind == 'stream':
            for result in estimator.flush():
                self.write(result, estimator)
            self.finish(estimator)
            return
        try:
            self._save_state()
        finally:
            self._close()

    # -- end --------------------------------------------------------------------------------
    def finish(self, estimator, num_joints=None):
        """Write the per-track arrays, the 3D views and the page from the complete `.jsonl` and
        move the outputs into place (an earlier result of the same name is replaced only now;
        after `--resume` they cover the whole clip)."""
        self._save_state()
        self._close()
        if self.records == 0:
            shutil.rmtree(self.partial, ignore_errors=True)
            raise PoseNetError("no frame of the input could be decoded; nothing written")
        # everything is made inside the partial folder first, then moved into place
        done = {'jsonl': self.jsonl_path}
        if self.want_video:
            done['video'] = osp.join(self.partial, 'video.mp4')
            self._join_segments(done['video'])
            # OpenCV's writer reports no error: a video it could not write is empty or absent
            if not osp.isfile(done['video']) or osp.getsize(done['video']) == 0:
                raise write_error(self.files['video'], 'the video encoder wrote nothing')
        if self.want_tracks:
            done['tracks'] = osp.join(self.partial, 'tracks.npz')
            joints = num_joints or len(estimator.pipeline.joints_name)
            write_tracks(self.jsonl_path, done['tracks'], joints, self.files['tracks'])
        if self.views_3d:
            write_views_3d(self.jsonl_path, self.views_dir, self.title)
            done['pose_3d_dir'] = self.views_dir
        if self.want_html:
            done['html'] = osp.join(self.partial, 'pose_3d.html')
            try:
                # plotly.js is shared by the pages of the folder: written there (kept when there)
                write_video_html(done['html'], read_jsonl(self.jsonl_path), self.title,
                                 js_dir=self.out_dir)
            except OSError as e:
                raise write_error(self.files['html'], e) from None
        for key, path in done.items():
            self._move(path, self.files[key])
        shutil.rmtree(self.partial, ignore_errors=True)

    def _join_segments(self, path):
        if len(self.segments) == 1:
            os.replace(osp.join(self.partial, self.segments[0][0]), path)
            return
        writer = None
        for name, frames in self.segments:
            if frames == 0:
                continue
            cap = cv2.VideoCapture(osp.join(self.partial, name))
            for _ in range(frames):
                ok, frame = cap.read()
                if not ok:
                    break
                if writer is None:
                    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), self.fps,
                                             (frame.shape[1], frame.shape[0]))
                writer.write(frame)
            cap.release()
        if writer is not None:
            writer.release()

    def _move(self, src, dst):
        """Put `src` at `dst`; an earlier file or folder there is removed only afterwards."""
        try:
            if osp.isdir(dst) and not osp.islink(dst):
                old = dst + f'.old.{os.getpid()}'
                os.replace(dst, old)
                os.replace(src, dst)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(src, dst)
        except OSError as e:
            raise write_error(dst, e) from None
