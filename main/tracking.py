"""People tracked across video frames (docs/SPEC.md §15.1).

    tracker = Tracker(max_gap=10)
    for frame, people in ...:
        track_ids = tracker.update(frame, bbox, pose_2d, root_cam, score)

Each update associates the frame's people with the open tracks in one global assignment
(Hungarian, `scipy.optimize.linear_sum_assignment`) on a similarity that mixes box overlap
(IoU) and 2D-pose similarity (an OKS-like score), both measured against where each track is
predicted to be now by a constant-velocity motion model of its box, 2D pose and root. A track
survives `max_gap` frames without a match, then is closed; ids are ints from 1, never reused.
"""
import numpy as np

from common.utils.errors import PoseNetError


def box_from_pose(pose_2d, img_width, img_height):
    """The box a person is expected at in the next frame, from their 2D pose.

    `pose_2d`: `(J, 2)` px. Returns a detector-like box `(4,)` `[x, y, w, h]` px (not
    processed): the joints' extent enlarged 1.2x about its centre as `get_bbox` does, clipped
    to the image; the pipeline applies `process_bbox` to it like to any given box. Raises
    PoseNetError when the pose gives no usable box (non-finite, or nothing inside the image).
    """
    raise NotImplementedError


class Tracker:
    """Frame-to-frame association of people into tracks with stable integer ids.

    `max_gap`: frames a track may go unmatched before it is closed; `min_similarity`: the
    lowest similarity (0..1) at which a person may join a track; `iou_weight`: weight of the
    box IoU in the similarity, `1 - iou_weight` goes to the 2D-pose similarity.
    """

    def __init__(self, max_gap=10, min_similarity=0.1, iou_weight=0.5):
        raise NotImplementedError

    def update(self, frame, bbox, pose_2d, root_cam, score=None):
        """Associate one frame's people with the tracks; returns `track_ids (N,) int64`.

        `frame`: int frame index (may jump: undecodable frames are simply not given);
        `bbox (N, 4)` px `[x, y, w, h]`; `pose_2d (N, J, 2)` px; `root_cam (N, 3)` mm;
        `score (N,)` or None. People who match no open track start new tracks.
        """
        raise NotImplementedError

    def live_tracks(self):
        """`[(track_id, bbox (4,), pose_2d (J, 2))]` of the tracks matched in the last update."""
        raise NotImplementedError

    def state(self):
        """Everything needed to continue after the last update, JSON-serialisable (incl. next id)."""
        raise NotImplementedError

    @classmethod
    def from_state(cls, state):
        """The tracker `state()` described; its future outputs equal the original's."""
        raise NotImplementedError
