"""Everyone's 3D pose in every frame of a video, stream or folder, tracked and smoothed, as an
iterator of per-frame results (docs/SPEC.md §15.3-15.6).

    from main.pipeline import Pipeline
    from main.video import estimate
    pipeline = Pipeline.from_files(cfg, posenet='snapshot_24.pth.tar', rootnet=...,
                                   detector='fasterrcnn_resnet50_fpn_v2')
    for result in estimate('walk.mp4', pipeline, detect_every=10, smooth='median'):
        result['frame'], result['image']                 # 0-based index, BGR uint8 (H, W, 3)
        for person in result['people']:
            person['track_id'], person['bbox'], person['root_cam'], person['pose_3d'], ...

The drawn video, the `.jsonl` records, the 3D views and the per-track arrays are written when a
`main.outputs.VideoWriters` is given (`writers=`), as `demo/demo.py` does. Frames are read by a
background thread (`main.inputs.prefetch`), processed one at a time (all people of a frame in
one batch per network) and given out in frame order, at most the smoother's look-ahead behind.
"""
import numpy as np

from common.utils.errors import PoseNetError
from main.inputs import open_input, prefetch
from main.pipeline import ROOT_GIVEN, ROOT_ROOTNET, check_boxes
from main.smoothing import Smoother
from main.tracking import Tracker, box_from_pose

CAUSAL_SMOOTHERS = ('none', 'oneeuro')
MIN_PROPAGATED_PX = 4.0     # a box from a pose narrower or lower than this is dropped


class FrameBoxes:
    """Person boxes (and maybe root depths) known before the networks run, per frame.

    `fixed`: the same boxes `(N, 4)` px on every frame (`--bbox`); `records`: the records of a
    detection or bbox_root file (`data.detections`), whose `image_id` is the 0-based frame
    index; `roots`: the records hold `root_cam` (a bbox_root file: processed boxes, RootNet's
    roots). A frame without records has nobody in it.
    """

    def __init__(self, fixed=None, records=None, roots=False):
        self.fixed = None if fixed is None else check_boxes(fixed)
        self.roots = roots
        self.by_frame = {}
        for r in records or ():
            frame = r['image_id']
            if isinstance(frame, str) and frame.strip().isdigit():
                frame = int(frame)
            if not isinstance(frame, (int, np.integer)) or isinstance(frame, bool) or frame < 0:
                raise PoseNetError(f"box file: image_id {r['image_id']!r} is not a frame index; "
                                   "for a video, image_id is the 0-based frame number")
            self.by_frame.setdefault(int(frame), []).append(r)

    def __call__(self, frame):
        """Pipeline keyword arguments for `frame`: `bbox`, `score`, `root_depth`,
        `bbox_processed`, `root_source`."""
        if self.fixed is not None:
            return {'bbox': self.fixed, 'score': None}
        records = self.by_frame.get(frame, [])
        boxes = np.array([r['bbox'] for r in records], dtype=np.float64).reshape(-1, 4)
        scores = [1.0 if r.get('score') is None else r['score'] for r in records]
        if not self.roots:
            return {'bbox': boxes, 'score': scores}
        return {'bbox': boxes, 'score': scores, 'bbox_processed': True,
                'root_depth': [float(r['root_cam'][2]) for r in records],
                'root_source': ROOT_ROOTNET}


class VideoEstimator:
    """Pipeline + tracker + smoother over the frames of one video, one frame at a time.

    `pipeline`: a `main.pipeline.Pipeline`; `boxes`: a `FrameBoxes` (None: the detector);
    `focal`, `princpt`: camera px (None: focal 1500, image centre); `root_prior`: the
    camera-distance prior instead of RootNet; `detect_every`: the box source (detector or
    file) runs on the first frame and then whenever this many frames have passed since its
    last run, in between each tracked person's box comes from their previous 2D pose
    (`tracking.box_from_pose`); `smooth`, `smooth_window`, `fps`: the `Smoother`; `max_gap`:
    frames a track survives unmatched.
    """

    def __init__(self, pipeline, boxes=None, focal=None, princpt=None, root_prior=False,
                 detect_every=1, smooth='none', smooth_window=9, fps=30.0, max_gap=10):
        if not isinstance(detect_every, (int, np.integer)) or detect_every < 1:
            raise PoseNetError(f"--detect_every {detect_every}: give a whole number of frames "
                               ">= 1 (1 runs the detector on every frame)")
        self.pipeline, self.boxes = pipeline, boxes
        self.focal, self.princpt, self.root_prior = focal, princpt, root_prior
        self.detect_every = int(detect_every)
        self.tracker = Tracker(max_gap=max_gap)
        # 'none' passes the per-frame values through untouched (bit for bit)
        self.smoother = (None if smooth == 'none'
                         else Smoother(smooth, window=smooth_window, fps=fps))
        self.last_detect = None     # frame of the last run of the box source
        self.scores = {}            # track id -> score of its last detected box
        self.skipped = []           # frames that could not be decoded
        self.pending = {}           # frame -> what its result needs until the smoother gives it
        self.next_frame = 0         # the first frame not given out yet
        self.given_state = self._snapshot()

    # -- state (resume) ---------------------------------------------------------------------
    def _snapshot(self):
        return {'tracker': self.tracker.state(), 'last_detect': self.last_detect,
                'scores': {str(k): v for k, v in self.scores.items()}}

    def state(self):
        """JSON-serialisable state as of the last frame given out: continue with
        `load_state(state)` and the frames from `state['next_frame']` on."""
        return {**self.given_state,
                'smoother': None if self.smoother is None else self.smoother.state(),
                'next_frame': self.next_frame,
                'skipped': [f for f in self.skipped if f < self.next_frame]}

    def load_state(self, state):
        """Continue from `state()` of an earlier run with the same settings."""
        self.tracker = Tracker.from_state(state['tracker'])
        if self.smoother is not None:
            self.smoother = Smoother.from_state(state['smoother'])
        self.last_detect = state['last_detect']
        self.scores = {int(k): v for k, v in state['scores'].items()}
        self.skipped = list(state['skipped'])
        self.next_frame = state['next_frame']
        self.given_state = self._snapshot()

    # -- frames -----------------------------------------------------------------------------
    def frame_boxes(self, frame, image):
        """Pipeline keyword arguments of the boxes of `frame`: from the box source on a
        detection frame, else from the tracked people's last 2D poses."""
        if self.last_detect is None or frame - self.last_detect >= self.detect_every:
            self.last_detect = frame
            return ({'bbox': None} if self.boxes is None else self.boxes(frame)), True
        height, width = image.shape[:2]
        boxes, scores = [], []
        for track_id, _, pose_2d in self.tracker.live_tracks():
            try:
                box = box_from_pose(pose_2d, width, height)
            except PoseNetError:        # the pose left the image: the next detection decides
                continue
            if min(box[2], box[3]) < MIN_PROPAGATED_PX:     # a collapsed pose: likewise
                continue
            boxes.append(box)
            scores.append(self.scores.get(int(track_id), 1.0))
        return {'bbox': np.asarray(boxes, np.float64).reshape(-1, 4), 'score': scores}, False

    def process(self, frame):
        """Run one `main.inputs.Frame`; returns the results now final, in frame order (see
        `estimate`). An undecodable frame (image None) is counted in `skipped`."""
        if frame.image is None:
            self.skipped.append(frame.index)
            return []
        image = frame.image
        kwargs, detected = self.frame_boxes(frame.index, image)
        kwargs.setdefault('root_source', ROOT_GIVEN)
        result = self.pipeline(image, self.focal, self.princpt, root_prior=self.root_prior,
                               **kwargs)
        people = result['people']
        track_ids = self.tracker.update(
            frame.index, np.array([p['bbox'] for p in people], np.float64).reshape(-1, 4),
            np.array([p['pose_2d'] for p in people], np.float64).reshape(
                len(people), len(result['joints_name']), 2),
            np.array([p['root_cam'] for p in people], np.float64).reshape(-1, 3),
            np.array([p['score'] for p in people], np.float64))
        for person, track_id in zip(people, track_ids):
            person['track_id'] = int(track_id)
            if detected:
                self.scores[int(track_id)] = person['score']
        live = {int(t) for t, _, _ in self.tracker.live_tracks()}
        self.scores = {t: s for t, s in self.scores.items() if t in live}
        self.pending[frame.index] = {
            'image': image, 'path': frame.path, 'focal': result['focal'],
            'princpt': result['princpt'], 'after': self._snapshot()}
        if self.smoother is None:
            for person in people:
                person.update({f'{k}_raw': person[k] for k in ('root_cam', 'pose_3d',
                                                               'pose_2d')})
            return self._give([(frame.index, people)])
        return self._give(self.smoother.push(frame.index, people))

    def flush(self):
        """The results still held back by the smoother, at the end of the input."""
        return [] if self.smoother is None else self._give(self.smoother.flush())

    def _give(self, done):
        out = []
        for index, people in done:
            held = self.pending.pop(index)
            self.given_state, self.next_frame = held['after'], index + 1
            image = held['image']
            out.append({'frame': index, 'image': image, 'path': held['path'],
                        'image_size': [int(image.shape[1]), int(image.shape[0])],
                        'focal': held['focal'], 'princpt': held['princpt'],
                        'joints_name': self.pipeline.joints_name,
                        'skeleton': self.pipeline.skeleton, 'people': people})
        return out


def check_smoothing(smooth, smooth_window, kind, count):
    """A stream needs a causal filter; an offline window must fit in the clip."""
    if kind in ('stream',) and smooth not in CAUSAL_SMOOTHERS:
        raise PoseNetError(f"--smooth {smooth} needs future frames; a webcam or stream takes "
                           "--smooth oneeuro (causal) or none")
    if smooth in ('median', 'savgol') and count is not None and smooth_window > count:
        raise PoseNetError(f"--smooth_window {smooth_window} is longer than the clip "
                           f"({count} frames); give a window of at most {count} frames")


def estimate(source, pipeline, boxes=None, focal=None, princpt=None, root_prior=False,
             detect_every=1, smooth='none', smooth_window=9, max_gap=10, fps=None,
             writers=None, resume=False, prefetch_depth=4, on_skip=None):
    """Per-frame results of `source`: a video file, a webcam index, a stream URL, a photo, a
    folder of photos, or an iterable of BGR uint8 images (`main.inputs.open_input`).

    Yields, in frame order, one dict per decoded frame: `frame` (0-based index), `image` (BGR
    uint8), `path`, `image_size [W, H]`, `focal`, `princpt`, `joints_name`, `skeleton`, and
    `people`: per person `track_id` (int from 1, stable while the person is in view), `bbox`
    (4,) px (the box the person was estimated from), `bbox_processed`, `score`, `root_cam (3,)`
    mm, `root_source`, `pose_2d (J, 2)` px, `pose_3d (J, 3)` camera mm (smoothed), and the
    per-frame values `root_cam_raw`, `pose_2d_raw`, `pose_3d_raw`. Undecodable frames are
    skipped (the tracks bridge them). Arguments as `VideoEstimator`; `fps` defaults to the
    video's; `writers`: a `main.outputs.VideoWriters` that writes every result (and makes
    `resume` possible: True continues its interrupted run); `on_skip(frame_index)` is called
    for each undecodable frame.
    """
    inp = open_input(source) if not hasattr(source, 'frames') else source
    fps = fps or inp.fps or 30.0
    check_smoothing(smooth, smooth_window, inp.kind, inp.count)
    estimator = VideoEstimator(pipeline, boxes, focal, princpt, root_prior, detect_every,
                               smooth, smooth_window, fps, max_gap)
    if writers is not None:
        state = writers.start(inp, resume) if writers.files is None else writers.resume_state
        if state is not None:
            estimator.load_state(state)
    frames = prefetch(inp.frames(estimator.next_frame), prefetch_depth)
    finished = False
    try:
        for frame in frames:
            if frame.image is None and on_skip is not None:
                on_skip(frame.index)
            for result in estimator.process(frame):
                if writers is not None:
                    writers.write(result, estimator)
                yield result
        for result in estimator.flush():
            if writers is not None:
                writers.write(result, estimator)
            yield result
        finished = True
    finally:
        frames.close()
        if writers is not None:
            if finished:
                writers.finish(estimator)
            else:
                writers.interrupted(estimator)
