"""Temporal smoothing of each track's 3D output (docs/SPEC.md §15.2).

    smoother = Smoother('median', window=9)
    for frame, people in stream:
        for frame_done, people_done in smoother.push(frame, people):
            write(frame_done, people_done)
    for frame_done, people_done in smoother.flush():
        write(frame_done, people_done)

Methods: `none` (raw numbers), `median` (the original author's temporal median, centred window
of `window` frames), `savgol` (Savitzky-Golay, `scipy.signal`, centred window, `polyorder`)
and `oneeuro` (the One Euro filter: causal, for streams and webcams). Root position and
root-relative pose are smoothed separately. Offline methods hold a bounded look-ahead of
`window // 2` frames, never the whole clip.
"""
from common.utils.errors import PoseNetError

SMOOTHERS = ('none', 'median', 'savgol', 'oneeuro')


class Smoother:
    """Per-track temporal filter over a stream of frames.

    `method`: one of SMOOTHERS; `window`: odd frames of the centred window (median, savgol);
    `fps`: frame rate (oneeuro); `polyorder`: savgol polynomial order (< window);
    `min_cutoff` (Hz), `beta`, `d_cutoff` (Hz): One Euro parameters. Bad settings raise
    PoseNetError. `lookahead`: frames the output lags the input.
    """

    def __init__(self, method='none', window=9, fps=30.0, polyorder=2, min_cutoff=1.0,
                 beta=0.007, d_cutoff=1.0):
        raise NotImplementedError

    def push(self, frame, people):
        """Add one processed frame; returns `[(frame, people)]` now final, in frame order.

        `people`: list of dicts with at least `track_id`, `root_cam (3,)` mm, `pose_3d (J, 3)`
        camera mm, `pose_2d (J, 2)` px; other keys are carried through. Returned dicts are
        copies with `root_cam`, `pose_3d`, `pose_2d` smoothed and `root_cam_raw`,
        `pose_3d_raw`, `pose_2d_raw` the values pushed. Push every frame, also empty ones.
        """
        raise NotImplementedError

    def flush(self):
        """`[(frame, people)]`: the frames still held back, at the end of the clip."""
        raise NotImplementedError

    def state(self):
        """JSON-serialisable state as if only the frames already returned had been pushed."""
        raise NotImplementedError

    @classmethod
    def from_state(cls, state):
        """The smoother `state()` described (then push the not-yet-returned frames again)."""
        raise NotImplementedError
