"""Temporal smoothing of each track's 3D output (docs/SPEC.md §15.2).

    smoother = Smoother('median', window=9)
    for frame, people in stream:
        for frame_done, people_done in smoother.push(frame, people):
            write(frame_done, people_done)
    for frame_done, people_done in smoother.flush():
        write(frame_done, people_done)

Methods: `none` (raw numbers), `median` (the original author's temporal median, centred window
of `window` frames), `savgol` (Savitzky-Golay: a least-squares polynomial of order `polyorder`
over the centred window, as `scipy.signal.savgol_filter`) and `oneeuro` (the One Euro filter,
Casiez et al. 2012: causal, for streams and webcams). Each track is smoothed on its own; root
position `root_cam`, root-relative pose `pose_3d - root_cam` and `pose_2d` are smoothed
separately and `pose_3d` is rebuilt as smoothed root + smoothed relative pose. Windows are
counted in frame indices; where a track has fewer samples in the window (its start or end, a
gap, the clip's ends) the window is truncated. Offline methods hold a look-ahead of
`window // 2` frames and as many past ones, never the whole clip.
"""
import math

import numpy as np

from common.utils.errors import PoseNetError

SMOOTHERS = ('none', 'median', 'savgol', 'oneeuro')
SMOOTHED = ('root_cam', 'pose_3d', 'pose_2d')          # each kept raw as `<key>_raw`


def _vector(person):
    """One person's values as one float64 vector: root (3), root-relative pose (3J), 2D (2J)."""
    try:
        root = np.asarray(person['root_cam'], dtype=np.float64).reshape(3)
        pose_3d = np.asarray(person['pose_3d'], dtype=np.float64).reshape(-1, 3)
        pose_2d = np.asarray(person['pose_2d'], dtype=np.float64).reshape(-1, 2)
    except (KeyError, TypeError, ValueError) as err:
        raise PoseNetError(f"smoothing: a person needs root_cam (3,), pose_3d (J, 3) and "
                           f"pose_2d (J, 2) ({err!r})") from None
    return np.concatenate([root, (pose_3d - root).ravel(), pose_2d.ravel()])


def _unpack(vector, person):
    """A copy of `person` with `vector` as its smoothed values and the pushed ones as raw."""
    out = dict(person)
    for key in SMOOTHED:
        out[key + '_raw'] = np.array(person[key], dtype=np.float64)
    num_joints = (len(vector) - 3) // 5
    root = vector[:3].copy()
    out['root_cam'] = root
    out['pose_3d'] = vector[3:3 + 3 * num_joints].reshape(num_joints, 3) + root
    out['pose_2d'] = vector[3 + 3 * num_joints:].reshape(num_joints, 2).copy()
    return out


def _pass_through(person):
    """A copy of `person` with its values unchanged, also as `<key>_raw`."""
    _vector(person)                                        # the same checks as smoothing
    out = dict(person)
    for key in SMOOTHED:
        out[key] = np.array(person[key], dtype=np.float64)
        out[key + '_raw'] = out[key].copy()
    return out


def _track_id(person):
    track_id = person.get('track_id')
    if track_id is None or isinstance(track_id, bool):
        raise PoseNetError("smoothing needs every person's integer track_id (run the tracker "
                           "first, or choose smoothing 'none')")
    return int(track_id)


def savgol_value(frames, values, frame, polyorder):
    """Least-squares polynomial through `values (n, D)` at `frames (n,)`, evaluated at `frame`.

    The polynomial order is `polyorder`, lowered to `n - 1` when fewer samples are given. On a
    full, gap-free centred window it equals `scipy.signal.savgol_filter`'s interior output.
    """
    order = min(polyorder, len(frames) - 1)
    x = np.asarray(frames, dtype=np.float64) - frame
    vander = x[:, None] ** np.arange(order + 1)[None]
    coef = np.linalg.lstsq(vander, values, rcond=None)[0]
    return coef[0]


def one_euro_alpha(cutoff, dt):
    """Smoothing factor of a first-order low-pass at `cutoff` Hz for a step of `dt` s."""
    tau = 1. / (2. * math.pi * cutoff)
    return 1. / (1. + tau / dt)


class Smoother:
    """Per-track temporal filter over a stream of frames.

    `method`: one of SMOOTHERS; `window`: odd frames of the centred window (median, savgol;
    oneeuro restarts a track unseen for more than `window` frames); `fps`: frame rate
    (oneeuro); `polyorder`: savgol polynomial order (< window); `min_cutoff` (Hz), `beta`
    (s/unit), `d_cutoff` (Hz): One Euro parameters. Bad settings raise PoseNetError.
    `lookahead`: frames the output lags the input.
    """

    def __init__(self, method='none', window=9, fps=30.0, polyorder=2, min_cutoff=1.0,
                 beta=0.007, d_cutoff=1.0):
        if method not in SMOOTHERS:
            raise PoseNetError(f"smoothing {method!r}: choose one of {', '.join(SMOOTHERS)}")
        if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
            raise PoseNetError(f"smoothing window {window!r}: give a whole number of frames >= 1")
        if method in ('median', 'savgol') and (window < 3 or window % 2 == 0):
            raise PoseNetError(f"smoothing window {window}: {method} needs an odd window of at "
                               "least 3 frames (e.g. 9)")
        if method == 'savgol' and not (isinstance(polyorder, (int, np.integer))
                                       and 0 <= polyorder < window):
            raise PoseNetError(f"savgol polyorder {polyorder!r}: give a whole number from 0 to "
                               f"window - 1 = {window - 1}")
        for name, value, low in (('fps', fps, 0.), ('min_cutoff', min_cutoff, 0.),
                                 ('d_cutoff', d_cutoff, 0.)):
            if not (isinstance(value, (int, float, np.number)) and math.isfinite(value)
                    and value > low):
                raise PoseNetError(f"smoothing {name} {value!r}: give a positive number")
        if not (isinstance(beta, (int, float, np.number)) and math.isfinite(beta) and beta >= 0):
            raise PoseNetError(f"One Euro beta {beta!r}: give a number >= 0")
        self.method, self.window, self.polyorder = method, int(window), int(polyorder)
        self.fps, self.min_cutoff = float(fps), float(min_cutoff)
        self.beta, self.d_cutoff = float(beta), float(d_cutoff)
        self.lookahead = self.window // 2 if method in ('median', 'savgol') else 0
        self.last_pushed = None          # frame index of the last push
        # offline methods: frames as (frame, people, {track_id: vector}); `done` of them were
        # returned already and stay as the past half of later windows
        self.frames = []
        self.done = 0
        # oneeuro: {track_id: {'frame', 'x' (D,), 'dx' (D,)}}
        self.filters = {}

    # -- streaming ---------------------------------------------------------------------------
    def push(self, frame, people):
        """Add one processed frame; returns `[(frame, people)]` now final, in frame order.

        `people`: list of dicts with at least `track_id`, `root_cam (3,)` mm, `pose_3d (J, 3)`
        camera mm, `pose_2d (J, 2)` px; other keys are carried through. Returned dicts are
        copies with `root_cam`, `pose_3d`, `pose_2d` smoothed and `root_cam_raw`,
        `pose_3d_raw`, `pose_2d_raw` the values pushed. Push every frame, also empty ones.
        """
        frame = int(frame)
        if self.last_pushed is not None and frame <= self.last_pushed:
            raise PoseNetError(f"smoothing: frame {frame} pushed after frame {self.last_pushed}; "
                               "push frames in increasing order")
        self.last_pushed = frame
        if self.method == 'none':               # the pushed values, bit for bit
            return [(frame, [_pass_through(p) for p in people])]
        vectors = {}
        for person in people:
            track_id = _track_id(person)
            if track_id in vectors:
                raise PoseNetError(f"smoothing: track_id {track_id} twice in frame {frame}")
            vectors[track_id] = _vector(person)
        if self.method == 'oneeuro':
            return [(frame, [_unpack(self._one_euro(frame, _track_id(p), vectors[_track_id(p)]),
                                     p) for p in people])]
        self.frames.append((frame, people, vectors))
        return self._release(final=False)

    def flush(self):
        """`[(frame, people)]`: the frames still held back, at the end of the clip."""
        return self._release(final=True) if self.method in ('median', 'savgol') else []

    def _release(self, final):
        out = []
        while self.done < len(self.frames):
            frame = self.frames[self.done][0]
            if not final and self.frames[-1][0] < frame + self.lookahead:
                break
            out.append((frame, self._smooth_frame(self.done)))
            self.done += 1
            self._forget()
        return out

    def _forget(self):
        """Drop the returned frames no later window reaches (earlier than next frame - half)."""
        if self.done == 0:
            return
        oldest_needed = self.frames[self.done - 1][0] + 1 - self.lookahead
        drop = 0
        while drop < self.done and self.frames[drop][0] < oldest_needed:
            drop += 1
        del self.frames[:drop]
        self.done -= drop

    def _smooth_frame(self, index):
        frame, people, vectors = self.frames[index]
        smoothed = []
        for person in people:
            track_id = _track_id(person)
            samples = [(f, v[track_id]) for f, _, v in self.frames
                       if abs(f - frame) <= self.lookahead and track_id in v]
            frames = np.array([f for f, _ in samples], dtype=np.float64)
            values = np.stack([v for _, v in samples])
            if self.method == 'median':
                value = np.median(values, axis=0)
            else:
                value = savgol_value(frames, values, frame, self.polyorder)
            smoothed.append(_unpack(value, person))
        return smoothed

    def _one_euro(self, frame, track_id, x):
        state = self.filters.get(track_id)
        if state is None or frame - state['frame'] > self.window:
            self.filters[track_id] = {'frame': frame, 'x': x, 'dx': np.zeros_like(x)}
        else:
            dt = (frame - state['frame']) / self.fps
            dx = (x - state['x']) / dt                 # from the previous filtered value
            a_d = one_euro_alpha(self.d_cutoff, dt)
            dx_hat = a_d * dx + (1. - a_d) * state['dx']
            a = one_euro_alpha(self.min_cutoff + self.beta * np.abs(dx_hat), dt)
            self.filters[track_id] = {'frame': frame, 'x': a * x + (1. - a) * state['x'],
                                      'dx': dx_hat}
        # forget tracks unseen for longer than the window: memory stays bounded
        for old in [t for t, s in self.filters.items() if frame - s['frame'] > self.window]:
            del self.filters[old]
        return self.filters[track_id]['x']

    # -- resuming ----------------------------------------------------------------------------
    def settings(self):
        return {'method': self.method, 'window': self.window, 'fps': self.fps,
                'polyorder': self.polyorder, 'min_cutoff': self.min_cutoff, 'beta': self.beta,
                'd_cutoff': self.d_cutoff}

    def state(self):
        """JSON-serialisable state as if only the frames already returned had been pushed."""
        state = {'settings': self.settings(), 'last_pushed': self.last_pushed}
        if self.method in ('median', 'savgol'):
            past = self.frames[:self.done]
            state['last_pushed'] = past[-1][0] if past else None
            state['frames'] = [[f, {str(t): v.tolist() for t, v in vec.items()}]
                               for f, _, vec in past]
        elif self.method == 'oneeuro':
            state['filters'] = {str(t): {'frame': s['frame'], 'x': s['x'].tolist(),
                                         'dx': s['dx'].tolist()} for t, s in self.filters.items()}
        return state

    @classmethod
    def from_state(cls, state):
        """The smoother `state()` described (then push the not-yet-returned frames again)."""
        try:
            smoother = cls(**state['settings'])
            last = state['last_pushed']
            smoother.last_pushed = None if last is None else int(last)
            # past frames only serve as window samples: their people are not needed again
            for f, vec in state.get('frames', []):
                smoother.frames.append((int(f), [], {int(t): np.asarray(v, dtype=np.float64)
                                                     for t, v in vec.items()}))
            smoother.done = len(smoother.frames)
            for t, s in state.get('filters', {}).items():
                smoother.filters[int(t)] = {'frame': int(s['frame']),
                                            'x': np.asarray(s['x'], dtype=np.float64),
                                            'dx': np.asarray(s['dx'], dtype=np.float64)}
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise PoseNetError(f"smoother state is incomplete or malformed ({err!r}); "
                               "start the run again without resuming") from None
        return smoother
