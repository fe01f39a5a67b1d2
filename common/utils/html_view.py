"""Interactive 3D views of the demo's results: one offline HTML page (plotly) per photo or video.

    write_photo_html('out/output_pose.html', record, 'photo.jpg')     # record: output_pose.json
    write_video_html('out/walk_pose.html', records, 'walk.mp4')       # records: .jsonl lines

A `record` is the demo's JSON record of one photo or frame: `people` (each with `pose_3d`
`(J, 3)` camera mm, optional `track_id`, optional `person` number), `joints_name`, `skeleton`
and, for a video frame, `frame`. The page shows the skeletons in camera space with up as up
(plot axes `(X, Z, -Y)`: `common.utils.vis.to_plot_coords`), coloured per person (per track when
records carry `track_id`, so a track keeps its colour), a camera pyramid at the origin and a
ground grid under the lowest joint; dragging rotates, the wheel zooms, hovering a joint shows
its name and coordinates. A video page has a frame slider and a play button, and one set of
axis limits for all frames.

The page needs no network: plotly.js (about 4.6 MB) is written once beside the pages as
`plotly-<version>.min.js` (shared by all pages of a folder; `embed=True` puts it inside the
page instead). Files are written atomically.
"""
import os.path as osp

import numpy as np

from common.utils.errors import PoseNetError
from common.utils.file_io import write_text
from common.utils.vis import to_plot_coords

# colours of people / tracks: plotly's D3 palette (10 colours, then again)
PALETTE = ('#1F77B4', '#FF7F0E', '#2CA02C', '#D62728', '#9467BD', '#8C564B', '#E377C2',
           '#7F7F7F', '#BCBD22', '#17BECF')
CAMERA_COLOR = '#444444'
GROUND_COLOR = '#BBBBBB'
CAMERA_SIZE = 500.0        # mm, depth of the drawn camera pyramid
MARGIN = 1.1               # axis limits: 10% beyond the people and the camera
# a video page holds at most this many frames (every k-th frame of a longer video): a page
# grows by about 5.6 KB per person and frame (measured), 600 frames of 3 people: 10 MB
MAX_VIDEO_FRAMES = 600


def person_color(key):
    """Colour of person / track number `key` (an int; the same key, the same colour)."""
    return PALETTE[int(key) % len(PALETTE)]


def frame_people(record):
    """`[(key, label, pose_3d (J, 3) mm)]` of one record: key/label from `track_id` when present,
    else the person number (1-based, in record order)."""
    people = []
    for n, person in enumerate(record.get('people', [])):
        pose = np.asarray(person['pose_3d'], dtype=np.float64).reshape(-1, 3)
        if person.get('track_id') is not None:
            key, label = int(person['track_id']), f"track {person['track_id']}"
        else:
            key = int(person.get('person', n + 1))
            label = f'person {key}'
        people.append((key, label, pose))
    return people


def _bone_lines(pts, skeleton):
    """x, y, z lists of all bones of one person, `None` between bones (one line trace)."""
    xs, ys, zs = [], [], []
    for i1, i2 in skeleton:
        if np.isfinite(pts[[i1, i2]]).all():
            for axis, out in enumerate((xs, ys, zs)):
                out.extend([pts[i1, axis], pts[i2, axis], None])
    return xs, ys, zs


def person_traces(person, joints_name, skeleton):
    """Two plotly traces of one person `(key, label, pose_3d)` (or None: an empty slot): the
    bones, and the joints with the label above the head and hover text per joint."""
    import plotly.graph_objects as go
    if person is None:
        return [go.Scatter3d(x=[], y=[], z=[], mode='lines', showlegend=False),
                go.Scatter3d(x=[], y=[], z=[], mode='markers+text', showlegend=False)]
    key, label, pose = person
    pts = to_plot_coords(pose)
    color = person_color(key)
    xs, ys, zs = _bone_lines(pts, skeleton)
    top = int(np.nanargmax(pts[:, 2])) if np.isfinite(pts[:, 2]).any() else 0
    text = [label if j == top else '' for j in range(len(pts))]
    hover = [f'{label}<br>{name}<br>X {p[0]:.0f} mm, Y {p[1]:.0f} mm, Z {p[2]:.0f} mm'
             for name, p in zip(joints_name, pose)]
    bones = go.Scatter3d(x=xs, y=ys, z=zs, mode='lines', line=dict(color=color, width=6),
                         hoverinfo='skip', name=label, showlegend=False)
    joints = go.Scatter3d(x=pts[:, 0], y=pts[:, 1], z=pts[:, 2], mode='markers+text',
                          marker=dict(color=color, size=3), text=text,
                          textposition='top center', textfont=dict(color=color, size=13),
                          hovertext=hover, hovertemplate='%{hovertext}<extra></extra>',
                          name=label, showlegend=False)
    return [bones, joints]


def camera_trace(size=CAMERA_SIZE):
    """The camera as a pyramid at the origin, looking along +Z (plot y), labelled 'camera'."""
    import plotly.graph_objects as go
    w, h = 0.5 * size, 0.375 * size
    apex, corners = (0.0, 0.0, 0.0), [(-w, size, h), (w, size, h), (w, size, -h), (-w, size, -h)]
    points = []
    for c in corners:                                    # apex to each corner
        points += [apex, c, None]
    points += corners + corners[:1]                      # the image rectangle
    xs, ys, zs = ([None if p is None else p[axis] for p in points] for axis in range(3))
    return go.Scatter3d(x=xs, y=ys, z=zs, mode='lines', line=dict(color=CAMERA_COLOR, width=4),
                        name='camera', hovertemplate='camera (0, 0, 0)<extra></extra>',
                        showlegend=False)


def ground_trace(x_range, depth_range, height, lines=11):
    """A grid on the ground plane (plot z = `height`) over the given x and depth ranges."""
    import plotly.graph_objects as go
    points = []
    for x in np.linspace(*x_range, lines):               # lines along the depth
        points += [(x, depth_range[0]), (x, depth_range[1]), None]
    for d in np.linspace(*depth_range, lines):           # lines across
        points += [(x_range[0], d), (x_range[1], d), None]
    xs = [None if p is None else p[0] for p in points]
    ys = [None if p is None else p[1] for p in points]
    zs = [None if p is None else height for p in points]
    return go.Scatter3d(x=xs, y=ys, z=zs, mode='lines', line=dict(color=GROUND_COLOR, width=1),
                        name='ground', hovertemplate=f'ground (Y = {-height:.0f} mm)'
                        '<extra></extra>', showlegend=False)


def scene_box(poses):
    """`(centre (3,), half, ground height)` in plot coordinates around all joints of `poses`
    (a list of `(J, 3)` mm arrays) and the camera: one cube for a whole video, so frames are
    comparable; the ground lies under the lowest joint."""
    people = np.concatenate([to_plot_coords(p).reshape(-1, 3) for p in poses] +
                            [np.zeros((0, 3))])
    people = people[np.isfinite(people).all(axis=1)]
    ground = people[:, 2].min() if len(people) else -1000.0    # no people: 1 m under the camera
    pts = np.concatenate([people, [[0.0, 0.0, 0.0], [0.0, CAMERA_SIZE, ground]]])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    half = max(float((hi - lo).max()) / 2 * MARGIN, 500.0)
    return (lo + hi) / 2, half, ground


def _layout(title, centre, half):
    axes = {}
    for n, (name, label) in enumerate((('xaxis', 'X (mm)'), ('yaxis', 'Z (mm, depth)'),
                                       ('zaxis', '-Y (mm, up)'))):
        axes[name] = dict(title=dict(text=label), range=[centre[n] - half, centre[n] + half],
                          autorange=False, nticks=6, tickformat='.0f')
    # the first view: from behind and above the camera, looking into the scene
    eye = dict(x=-0.6, y=-1.8, z=0.6)
    return dict(title=dict(text=title), showlegend=False, margin=dict(l=0, r=0, t=40, b=0),
                scene=dict(aspectmode='cube', camera=dict(eye=eye, up=dict(x=0, y=0, z=1)),
                           **axes))


def _static_traces(centre, half, ground):
    span_x = (centre[0] - half, centre[0] + half)
    span_d = (max(0.0, centre[1] - half), centre[1] + half)
    return [ground_trace(span_x, span_d, ground), camera_trace()]


def _joint_set(record):
    try:
        return list(record['joints_name']), [tuple(p) for p in record['skeleton']]
    except (KeyError, TypeError):
        raise PoseNetError("a pose record for the 3D view needs 'joints_name' and 'skeleton' "
                           "(the demo's JSON record)") from None


def write_photo_html(path, record, title, embed=False, js_dir=None):
    """One page with the people of one photo (`record`: the demo's JSON record); returns
    `path`. `js_dir`: where plotly.js goes (default beside the page; see `_write_page`)."""
    return _write_page(path, photo_figure(record, title), embed, js_dir)


def photo_figure(record, title):
    """The plotly figure of `write_photo_html`."""
    import plotly.graph_objects as go
    joints_name, skeleton = _joint_set(record)
    people = frame_people(record)
    centre, half, ground = scene_box([p[2] for p in people])
    data = _static_traces(centre, half, ground)
    for person in people:
        data += person_traces(person, joints_name, skeleton)
    return go.Figure(data=data, layout=_layout(title, centre, half))


def write_video_html(path, records, title, embed=False, fps=10, max_frames=MAX_VIDEO_FRAMES,
                     js_dir=None):
    """One page with a frame slider and a play button over the frame `records` (an iterable of
    the demo's .jsonl records, read once: only the poses are kept); tracks keep their colour and
    all frames share one set of axis limits. More than `max_frames` frames: every k-th frame
    (said in the title). `js_dir`: see `_write_page`. Returns `path`."""
    return _write_page(path, video_figure(records, title, fps, max_frames), embed, js_dir)


def video_figure(records, title, fps=10, max_frames=MAX_VIDEO_FRAMES):
    """The plotly figure of `write_video_html`."""
    import plotly.graph_objects as go
    frames, joint_set = [], None
    for n, record in enumerate(records):
        joint_set = joint_set or _joint_set(record)
        frames.append((record.get('frame', n), frame_people(record)))
    if not frames:
        raise PoseNetError(f"no frame to show in the 3D view of {title}: no decoded frame")
    step = -(-len(frames) // max_frames)            # ceil: at most max_frames are kept
    if step > 1:
        title = f'{title} (1 frame in {step} of {len(frames)})'
        frames = frames[::step]
    joints_name, skeleton = joint_set
    centre, half, ground = scene_box([p[2] for _, people in frames for p in people])
    slots = max(1, max(len(people) for _, people in frames))
    static = _static_traces(centre, half, ground)
    moving = list(range(len(static), len(static) + 2 * slots))    # trace indices per frame

    def frame_data(people):
        data = []
        for s in range(slots):
            data += person_traces(people[s] if s < len(people) else None, joints_name, skeleton)
        return data

    go_frames = [go.Frame(data=frame_data(people), traces=moving, name=str(index))
                 for index, people in frames]
    step_args = dict(mode='immediate', frame=dict(duration=0, redraw=True),
                     transition=dict(duration=0))
    layout = _layout(title, centre, half)
    layout['sliders'] = [dict(active=0, currentvalue=dict(prefix='frame '), pad=dict(t=30),
                              x=0.15, len=0.85,
                              steps=[dict(label=str(index), method='animate',
                                          args=[[str(index)], step_args])
                                     for index, _ in frames])]
    play = dict(frame=dict(duration=int(1000 / fps), redraw=True), fromcurrent=True,
                transition=dict(duration=0), mode='immediate')
    layout['updatemenus'] = [dict(type='buttons', direction='left', x=0.0, y=0.0,
                                  xanchor='left', yanchor='top', pad=dict(t=40, r=10),
                                  buttons=[dict(label='play', method='animate',
                                                args=[None, play]),
                                           dict(label='pause', method='animate',
                                                args=[[None], step_args])])]
    return go.Figure(data=static + frame_data(frames[0][1]), frames=go_frames, layout=layout)


def plotly_js_name():
    import plotly
    return f'plotly-{plotly.__version__}.min.js'


def write_plotly_js(folder):
    """Write plotly.js once into `folder` as `plotly-<version>.min.js` (kept when there)."""
    from plotly.offline import get_plotlyjs
    js_path = osp.join(folder, plotly_js_name())
    if not osp.isfile(js_path):
        write_text(js_path, get_plotlyjs())
    return js_path


def _write_page(path, fig, embed, js_dir=None):
    """Write the page; plotly.js is written into `js_dir` (default: the page's folder) and
    named by file name only, so `js_dir` is the folder the page ends up in (a page made in a
    temporary folder and moved into place afterwards)."""
    if embed:
        script = True
    else:
        script = osp.basename(write_plotly_js(js_dir or osp.dirname(osp.abspath(path))))
    html = fig.to_html(include_plotlyjs=script, full_html=True, include_mathjax=False,
                       config=dict(displaylogo=False, responsive=True))
    write_text(path, html)
    return path
