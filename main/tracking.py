"""People tracked across video frames (docs/SPEC.md §15.1).

    tracker = Tracker(max_gap=10)
    for frame, people in ...:
        track_ids = tracker.update(frame, bbox, pose_2d, root_cam, score)

Each update associates the frame's people with the open tracks in one global assignment
(Hungarian, `scipy.optimize.linear_sum_assignment`) on a similarity that mixes box overlap
(IoU) and 2D-pose similarity (an OKS-like score), both measured against where each track is
predicted to be now by a constant-velocity motion model of its box, 2D pose and root; the root
distance to the prediction scales the similarity down. A track survives `max_gap` frames
without a match, then is closed; ids are ints from 1, never reused.
"""
import numpy as np
from scipy.optimize import linear_sum_assignment

from common.utils.errors import PoseNetError
from common.utils.pose_utils import get_bbox

OKS_KAPPA = 0.1          # joint tolerance as a fraction of sqrt(box area) (COCO's 2*sigma ~ 0.1)
ROOT_SIGMA = 1000.       # mm: a root this far from a 1-frame prediction keeps exp(-1/2) of the
                         # score (per-frame root depth errors reach hundreds of mm)
VELOCITY_BLEND = 0.3     # weight of the newest measured velocity (the rest: the previous one)


def box_from_pose(pose_2d, img_width, img_height):
    """The box a person is expected at in the next frame, from their 2D pose.

    `pose_2d`: `(J, 2)` px. Returns a detector-like box `(4,)` `[x, y, w, h]` px (not
    processed): the joints' extent enlarged 1.2x about its centre as `get_bbox` does, clipped
    to the image; the pipeline applies `process_bbox` to it like to any given box. Raises
    PoseNetError when the pose gives no usable box (non-finite, or nothing inside the image).
    """
    pose_2d = np.asarray(pose_2d, dtype=np.float64)
    if pose_2d.ndim != 2 or pose_2d.shape[1] != 2 or len(pose_2d) == 0:
        raise PoseNetError(f"pose_2d must be a (J, 2) array of pixels, got shape {pose_2d.shape}")
    if not np.all(np.isfinite(pose_2d)):
        raise PoseNetError("pose_2d has non-finite joints: no box can be taken from it; "
                           "run the detector on this frame")
    x, y, w, h = get_bbox(pose_2d)
    x1, y1 = max(0., x), max(0., y)
    x2, y2 = min(float(img_width), x + w), min(float(img_height), y + h)
    if not (w > 0 and h > 0 and x2 > x1 and y2 > y1):
        raise PoseNetError(f"the 2D pose spanning x {pose_2d[:, 0].min():.1f}.."
                           f"{pose_2d[:, 0].max():.1f}, y {pose_2d[:, 1].min():.1f}.."
                           f"{pose_2d[:, 1].max():.1f} px gives no box inside the "
                           f"{img_width}x{img_height} image; run the detector on this frame")
    return np.array([x1, y1, x2 - x1, y2 - y1], dtype=np.float64)


def box_iou(boxes_a, boxes_b):
    """IoU `(A, B)` of boxes `(A, 4)` and `(B, 4)` `[x, y, w, h]` px (0 for empty boxes)."""
    a = np.asarray(boxes_a, dtype=np.float64).reshape(-1, 1, 4)
    b = np.asarray(boxes_b, dtype=np.float64).reshape(1, -1, 4)
    w = np.minimum(a[..., 0] + a[..., 2], b[..., 0] + b[..., 2]) - np.maximum(a[..., 0], b[..., 0])
    h = np.minimum(a[..., 1] + a[..., 3], b[..., 1] + b[..., 3]) - np.maximum(a[..., 1], b[..., 1])
    inter = np.clip(w, 0, None) * np.clip(h, 0, None)
    union = (np.clip(a[..., 2], 0, None) * np.clip(a[..., 3], 0, None)
             + np.clip(b[..., 2], 0, None) * np.clip(b[..., 3], 0, None) - inter)
    return np.where(union > 0, inter / np.where(union > 0, union, 1.), 0.)


def pose_similarity(poses_a, boxes_a, poses_b, spread=None):
    """OKS-like similarity `(A, B)` in 0..1 of 2D poses `(A, J, 2)` and `(B, J, 2)` px.

    Per joint `exp(-d^2 / (2 spread (kappa s)^2))` with `s^2` the area of box `a`, one
    tolerance `OKS_KAPPA` for all joints and `spread (A,)` (default 1) widening it per pose
    `a`; averaged over the joints.
    """
    d2 = ((poses_a[:, None] - poses_b[None]) ** 2).sum(-1)                  # (A, B, J)
    var = np.clip(boxes_a[:, 2] * boxes_a[:, 3], 1., None) * OKS_KAPPA ** 2
    if spread is not None:
        var = var * np.asarray(spread, dtype=np.float64)
    return np.exp(-d2 / (2. * var[:, None, None])).mean(-1)


class Tracker:
    """Frame-to-frame association of people into tracks with stable integer ids.

    `max_gap`: frames a track may go unmatched before it is closed; `min_similarity`: the
    lowest similarity (0..1) at which a person may join a track; `iou_weight`: weight of the
    box IoU in the similarity, `1 - iou_weight` goes to the 2D-pose similarity.
    """

    def __init__(self, max_gap=10, min_similarity=0.1, iou_weight=0.5):
        if isinstance(max_gap, bool) or not isinstance(max_gap, (int, np.integer)) or max_gap < 0:
            raise PoseNetError(f"tracking max_gap {max_gap!r}: give a whole number of frames >= 0")
        if not 0. <= float(min_similarity) <= 1.:
            raise PoseNetError(f"tracking min_similarity {min_similarity!r}: give a value in 0..1")
        if not 0. <= float(iou_weight) <= 1.:
            raise PoseNetError(f"tracking iou_weight {iou_weight!r}: give a value in 0..1")
        self.max_gap = int(max_gap)
        self.min_similarity = float(min_similarity)
        self.iou_weight = float(iou_weight)
        self.next_id = 1
        self.last_frame = None
        # open tracks, each a dict: id, frame (last matched), hits, score, bbox (4,),
        # pose_2d (J, 2), root_cam (3,), per-frame velocities bbox_vel (4,), root_vel (3,)
        self.tracks = []

    def _predict(self, track, frame):
        """Where `track` is expected at `frame`: `(bbox (4,), pose_2d (J, 2), root_cam (3,))`."""
        dt = frame - track['frame']
        bbox_vel = track['bbox_vel']
        # the 2D pose moves with its box centre (the limbs' own motion is not extrapolated)
        pose_2d = track['pose_2d'] + dt * (bbox_vel[:2] + bbox_vel[2:] / 2.)
        return track['bbox'] + dt * bbox_vel, pose_2d, track['root_cam'] + dt * track['root_vel']

    def similarity(self, frame, bbox, pose_2d, root_cam):
        """Similarity `(T, N)` in 0..1 of the open tracks (predicted to `frame`) and people."""
        if not self.tracks or len(bbox) == 0:
            return np.zeros((len(self.tracks), len(bbox)))
        pred = [self._predict(t, frame) for t in self.tracks]
        pred_box = np.stack([p[0] for p in pred])
        pred_pose = np.stack([p[1] for p in pred])
        pred_root = np.stack([p[2] for p in pred])
        if pred_pose.shape[1] != pose_2d.shape[1]:
            raise PoseNetError(f"pose_2d has {pose_2d.shape[1]} joints, the tracks "
                               f"{pred_pose.shape[1]}: give every frame the same joint set")
        # a prediction over a gap is less certain: tolerances grow with the frames predicted
        steps = np.array([frame - t['frame'] for t in self.tracks], dtype=np.float64)
        sim = (self.iou_weight * box_iou(pred_box, bbox)
               + (1. - self.iou_weight) * pose_similarity(pred_pose, pred_box, pose_2d, steps))
        root_d2 = ((pred_root[:, None] - root_cam[None]) ** 2).sum(-1)
        return sim * np.exp(-root_d2 / (2. * ROOT_SIGMA ** 2 * steps[:, None]))

    def update(self, frame, bbox, pose_2d, root_cam, score=None):
        """Associate one frame's people with the tracks; returns `track_ids (N,) int64`.

        `frame`: int frame index (may jump: undecodable frames are simply not given);
        `bbox (N, 4)` px `[x, y, w, h]`; `pose_2d (N, J, 2)` px; `root_cam (N, 3)` mm;
        `score (N,)` or None. People who match no open track start new tracks.
        """
        frame = int(frame)
        if self.last_frame is not None and frame <= self.last_frame:
            raise PoseNetError(f"tracking: frame {frame} comes after frame {self.last_frame}; "
                               "give frames in increasing order")
        bbox = np.asarray(bbox, dtype=np.float64).reshape(-1, 4)
        n = len(bbox)
        pose_2d = np.asarray(pose_2d, dtype=np.float64)
        pose_2d = pose_2d.reshape(n, -1, 2) if n else np.zeros((0, 0, 2))
        root_cam = np.asarray(root_cam, dtype=np.float64).reshape(n, 3)
        score = np.ones(n) if score is None else np.asarray(score, dtype=np.float64).reshape(n)
        if not (np.all(np.isfinite(bbox)) and np.all(np.isfinite(pose_2d))
                and np.all(np.isfinite(root_cam))):
            raise PoseNetError(f"tracking: frame {frame} has non-finite boxes, poses or roots")
        self.last_frame = frame
        # close the tracks unmatched for more than max_gap frames
        self.tracks = [t for t in self.tracks if frame - t['frame'] - 1 <= self.max_gap]

        sim = self.similarity(frame, bbox, pose_2d, root_cam)
        track_ids = np.zeros(n, dtype=np.int64)
        matched = set()
        if sim.size:
            rows, cols = linear_sum_assignment(sim, maximize=True)
            for r, c in zip(rows, cols):
                if sim[r, c] >= self.min_similarity and sim[r, c] > 0:
                    self._match(self.tracks[r], frame, bbox[c], pose_2d[c], root_cam[c], score[c])
                    track_ids[c] = self.tracks[r]['id']
                    matched.add(c)
        for c in range(n):
            if c not in matched:
                self.tracks.append(self._new_track(frame, bbox[c], pose_2d[c], root_cam[c],
                                                   score[c]))
                track_ids[c] = self.tracks[-1]['id']
        return track_ids

    def _new_track(self, frame, bbox, pose_2d, root_cam, score):
        track = {'id': self.next_id, 'frame': frame, 'hits': 1, 'score': float(score),
                 'bbox': bbox.copy(), 'pose_2d': pose_2d.copy(), 'root_cam': root_cam.copy(),
                 'bbox_vel': np.zeros(4), 'root_vel': np.zeros(3)}
        self.next_id += 1
        return track

    def _match(self, track, frame, bbox, pose_2d, root_cam, score):
        # velocities per frame: the first measured one is taken as is, later ones blended
        # (a velocity from per-frame boxes is noisy and is extrapolated over gaps)
        dt = frame - track['frame']
        blend = 1. if track['hits'] == 1 else VELOCITY_BLEND
        bbox_vel = (bbox - track['bbox']) / dt
        root_vel = (root_cam - track['root_cam']) / dt
        track['bbox_vel'] = blend * bbox_vel + (1. - blend) * track['bbox_vel']
        track['root_vel'] = blend * root_vel + (1. - blend) * track['root_vel']
        track.update(frame=frame, hits=track['hits'] + 1, score=float(score), bbox=bbox.copy(),
                     pose_2d=pose_2d.copy(), root_cam=root_cam.copy())

    def live_tracks(self):
        """`[(track_id, bbox (4,), pose_2d (J, 2))]` of the tracks matched in the last update."""
        return [(t['id'], t['bbox'].copy(), t['pose_2d'].copy()) for t in self.tracks
                if t['frame'] == self.last_frame]

    def state(self):
        """JSON-serialisable: everything needed to continue after the last update (next id too)."""
        return {'max_gap': self.max_gap, 'min_similarity': self.min_similarity,
                'iou_weight': self.iou_weight, 'next_id': self.next_id,
                'last_frame': self.last_frame,
                'tracks': [{k: (v.tolist() if isinstance(v, np.ndarray) else v)
                            for k, v in t.items()} for t in self.tracks]}

    @classmethod
    def from_state(cls, state):
        """The tracker `state()` described; its future outputs equal the original's."""
        try:
            tracker = cls(state['max_gap'], state['min_similarity'], state['iou_weight'])
            tracker.next_id = int(state['next_id'])
            tracker.last_frame = None if state['last_frame'] is None else int(state['last_frame'])
            for t in state['tracks']:
                track = {'id': int(t['id']), 'frame': int(t['frame']), 'hits': int(t['hits']),
                         'score': float(t['score'])}
                for key in ('bbox', 'pose_2d', 'root_cam', 'bbox_vel', 'root_vel'):
                    track[key] = np.asarray(t[key], dtype=np.float64)
                tracker.tracks.append(track)
        except (KeyError, TypeError, ValueError) as err:
            raise PoseNetError(f"tracker state is incomplete or malformed ({err!r}); "
                               "start the run again without resuming") from None
        return tracker
