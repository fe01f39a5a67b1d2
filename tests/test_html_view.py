"""common/utils/html_view.py: the offline 3D pages (plotly), and one page opened in headless
Chromium (no console error, the skeletons drawn where the people are)."""
import os
import re
import shutil
import subprocess

import cv2
import numpy as np
import pytest

from common.utils.errors import PoseNetError
from common.utils.html_view import (PALETTE, person_color, photo_figure, plotly_js_name,
                                    scene_box, video_figure, write_photo_html,
                                    write_video_html)
from common.utils.vis import to_plot_coords
from data.MuCo.MuCo import MuCo


def standing(x, z, height=1700.0):
    """A person standing at camera X `x`, depth `z` mm: MuCo joints on a vertical line, feet
    on the floor 900 mm below the camera (camera Y points down)."""
    pose = np.zeros((len(MuCo.joints_name), 3))
    heights = np.linspace(height, 0.0, len(MuCo.joints_name))
    pose[:, 0] = x + 40 * np.sin(np.arange(len(pose)))   # a little spread for the hover points
    pose[:, 1] = 900.0 - heights
    pose[:, 2] = z
    return pose


def record(people, frame=None):
    rec = {'joints_name': list(MuCo.joints_name), 'skeleton': [list(p) for p in MuCo.skeleton],
           'people': people}
    if frame is not None:
        rec['frame'] = frame
    return rec


def photo_record():
    return record([{'person': 1, 'pose_3d': standing(-900, 5000).tolist()},
                   {'person': 2, 'pose_3d': standing(900, 5000).tolist()}])


def test_plot_axes_put_up_up_and_depth_away():
    assert to_plot_coords([[100., -200., 5000.]]).tolist() == [[100., 5000., 200.]]


def test_photo_figure_people_hover_camera_and_ground():
    fig = photo_figure(photo_record(), 'photo.jpg')
    assert fig.layout.title.text == 'photo.jpg'
    names = [t.name for t in fig.data]
    assert names == ['ground', 'camera', 'person 1', 'person 1', 'person 2', 'person 2']
    joints = fig.data[3]
    assert joints.marker.color == person_color(1) == PALETTE[1]
    assert fig.data[5].marker.color == PALETTE[2]
    head = MuCo.joints_name.index('Head')
    x, y_cam, z = standing(-900, 5000)[head]
    assert joints.hovertext[head] == (f'person 1<br>Head<br>X {x:.0f} mm, Y {y_cam:.0f} mm, '
                                      f'Z {z:.0f} mm')
    assert [t for t in joints.text if t] == ['person 1']             # one label, on top
    # the ground grid lies under the feet: plot z = -(camera Y of the feet) = -900
    assert set(v for v in fig.data[0].z if v is not None) == {-900.0}
    # equal ranges holding the people and the camera at the origin
    ranges = [fig.layout.scene[a].range for a in ('xaxis', 'yaxis', 'zaxis')]
    assert len({round(r[1] - r[0], 6) for r in ranges}) == 1
    assert ranges[1][0] <= 0 and ranges[1][1] >= 5000 and ranges[0][0] <= -900


def test_video_figure_tracks_keep_colours_and_one_box():
    frames = [record([{'track_id': 7, 'pose_3d': standing(-500 + 100 * i, 4000).tolist()},
                      {'track_id': 2, 'pose_3d': standing(800, 6000 + 300 * i).tolist()}][
                          (i == 1):], frame=10 + i) for i in range(3)]
    fig = video_figure(iter(frames), 'walk.mp4')
    assert [f.name for f in fig.frames] == ['10', '11', '12']
    assert [s.label for s in fig.layout.sliders[0].steps] == ['10', '11', '12']
    assert [b.label for b in fig.layout.updatemenus[0].buttons] == ['play', 'pause']
    # two slots of two traces after ground and camera; frame 11 has only track 2 (slot 0)
    assert all(list(f.traces) == [2, 3, 4, 5] for f in fig.frames)
    assert fig.frames[0].data[1].marker.color == person_color(7)
    assert fig.frames[0].data[3].marker.color == person_color(2)
    assert fig.frames[1].data[1].marker.color == person_color(2)
    assert len(fig.frames[1].data[3].x) == 0                     # the empty slot
    # one box for the video: it holds every frame's people (the last frame's at 6600 mm)
    centre, half, _ = scene_box([standing(800, 6600), standing(-500, 4000)])
    assert fig.layout.scene.yaxis.range[1] >= 6600
    assert np.allclose(fig.layout.scene.yaxis.range, [centre[1] - half, centre[1] + half])


def test_scene_box_ground_under_the_lowest_joint_and_camera_inside():
    # people standing higher than the camera (feet 200 mm above it: camera Y -200)
    high = standing(0, 4000) - [0, 1100, 0]
    centre, half, ground = scene_box([high])
    assert ground == 200.0                                  # plot z of the feet
    lo, hi = centre - half, centre + half
    assert np.all(lo <= [0, 0, 0]) and np.all(hi >= to_plot_coords(high).max(axis=0))
    assert scene_box([])[2] == -1000.0                      # no people: 1 m under the camera


def test_long_video_page_keeps_every_kth_frame():
    frames = [record([{'track_id': 1, 'pose_3d': standing(0, 4000).tolist()}], frame=i)
              for i in range(25)]
    fig = video_figure(frames, 'long.mp4', max_frames=10)
    assert [f.name for f in fig.frames] == ['0', '3', '6', '9', '12', '15', '18', '21', '24']
    assert fig.layout.title.text == 'long.mp4 (1 frame in 3 of 25)'
    assert len(video_figure(frames, 'all.mp4', max_frames=25).frames) == 25


def test_video_without_frames_is_an_error():
    with pytest.raises(PoseNetError, match='no frame to show in the 3D view of walk.mp4'):
        video_figure(iter([]), 'walk.mp4')


def test_pages_are_offline_with_the_script_once_beside_or_embedded(tmp_path):
    write_photo_html(str(tmp_path / 'a.html'), photo_record(), 'a.jpg')
    write_video_html(str(tmp_path / 'b.html'), [photo_record()], 'b.mp4')
    js = plotly_js_name()
    assert sorted(os.listdir(tmp_path)) == ['a.html', 'b.html', js]
    for name in ('a.html', 'b.html'):
        page = (tmp_path / name).read_text()
        assert re.findall(r'<script[^>]*src="([^"]+)"', page) == [js]   # nothing from the web
    embedded = tmp_path / 'e' / 'c.html'
    write_photo_html(str(embedded), photo_record(), 'c.jpg', embed=True)
    assert os.listdir(embedded.parent) == ['c.html']
    page = embedded.read_text()
    assert 'src="http' not in page and len(page) > 3_000_000      # plotly.js inside


# -- in a browser ---------------------------------------------------------------------------------
CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')
# what Chromium itself logs about software WebGL rendering: not messages of the page
BROWSER_NOTICES = ('GPU stall due to ReadPixels', 'Canvas2D: Multiple readback operations')


def screenshot(page, png, profile):
    cmd = [CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu', '--enable-unsafe-swiftshader',
           '--no-first-run', '--disable-background-networking', '--disable-component-update',
           '--disable-sync', f'--user-data-dir={profile}', '--enable-logging=stderr', '--v=0',
           '--window-size=900,700', '--virtual-time-budget=8000', f'--screenshot={png}',
           f'file://{page}']
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    console = [line for line in res.stderr.splitlines() if ':CONSOLE' in line
               and not any(n in line for n in BROWSER_NOTICES)]
    return res, console


def colour_pixels(img, hex_color, tol=40):
    """Pixel positions `(N, 2)` x, y of a BGR image within `tol` of a '#RRGGBB' colour."""
    rgb = [int(hex_color[i:i + 2], 16) for i in (1, 3, 5)]
    diff = np.abs(img.astype(int) - np.array(rgb[::-1])).max(axis=2)
    ys, xs = np.nonzero(diff <= tol)
    return np.stack((xs, ys), axis=1)


@pytest.mark.skipif(CHROMIUM is None, reason='no chromium (Debian: apt-get install chromium)')
def test_photo_page_in_headless_chromium(tmp_path):
    page = write_photo_html(str(tmp_path / 'photo.html'), photo_record(), 'photo.jpg')
    png = str(tmp_path / 'shot.png')
    res, console = screenshot(page, png, tmp_path / 'profile')
    assert res.returncode == 0 and os.path.isfile(png), res.stderr[-2000:]
    assert console == [], console                            # no error or message of the page
    img = cv2.imread(png)
    assert img.shape[:2] == (700, 900)
    left, right = colour_pixels(img, person_color(1)), colour_pixels(img, person_color(2))
    # both skeletons are drawn (bones 6 px wide, 1.7 m tall people), person 1 (X = -900 mm)
    # left of person 2 (X = +900 mm) as the camera sees them
    assert len(left) > 200 and len(right) > 200, (len(left), len(right))
    assert np.median(left[:, 0]) + 50 < np.median(right[:, 0])
    # an empty scene has none of these colours
    empty = write_photo_html(str(tmp_path / 'empty.html'), record([]), 'empty.jpg')
    res, console = screenshot(empty, str(tmp_path / 'empty.png'), tmp_path / 'profile2')
    assert res.returncode == 0 and console == []
    img = cv2.imread(str(tmp_path / 'empty.png'))
    assert len(colour_pixels(img, person_color(1))) < 20
    assert len(colour_pixels(img, person_color(2))) < 20
