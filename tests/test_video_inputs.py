"""main/inputs.py: kinds of input, the folder's names, the background reader, videos."""
import os
import threading

import cv2
import numpy as np
import pytest

from common.utils.errors import PoseNetError
from main.inputs import (ArrayInput, VideoInput, folder_images, input_kind, open_input,
                         output_stems, prefetch)


def test_input_kinds(tmp_path):
    (tmp_path / 'a.jpg').write_bytes(b'x')
    (tmp_path / 'b.mp4').write_bytes(b'x')
    assert input_kind(str(tmp_path)) == 'folder'
    assert input_kind(str(tmp_path / 'a.jpg')) == 'image'
    assert input_kind(str(tmp_path / 'B.MP4'.lower())) == 'video'
    assert input_kind('0') == input_kind(1) == 'stream'
    assert input_kind('rtsp://camera.local/live') == 'stream'
    assert input_kind([np.zeros((4, 4, 3), np.uint8)]) == 'frames'
    with pytest.raises(PoseNetError, match='input not found: .*nope.mp4'):
        input_kind(str(tmp_path / 'nope.mp4'))


def test_images_sharing_a_stem_get_distinct_output_names():
    stems = output_stems(['/p/person.jpg', '/p/person.png', '/p/other.jpg'])
    assert stems == {'/p/person.jpg': 'person_jpg', '/p/person.png': 'person_png',
                     '/p/other.jpg': 'other'}
    with pytest.raises(PoseNetError, match='same name: /p/a.JPG, /p/a.jpg; rename one'):
        output_stems(['/p/a.JPG', '/p/a.jpg'])


def test_a_folder_used_as_output_is_not_read_back(tmp_path):
    for name in ('grace.jpg', 'grace_pose_2d.jpg', 'grace_pose_3d.png', 'x_pose_2d.jpg',
                 'p.jpg', 'p.png', 'p_jpg_pose_2d.jpg', 'notes.txt'):
        (tmp_path / name).write_bytes(b'x')
    names = [os.path.basename(p) for p in folder_images(str(tmp_path), str(tmp_path))]
    # x_pose_2d.jpg is no output of an image of the folder: it stays an input
    assert names == ['grace.jpg', 'p.jpg', 'p.png', 'x_pose_2d.jpg']
    assert len(folder_images(str(tmp_path), str(tmp_path / 'elsewhere'))) == 7


def test_prefetch_keeps_order_and_reads_a_bounded_way_ahead():
    made = []

    def items():
        for i in range(100):
            made.append(i)
            yield i

    it = prefetch(items(), depth=3)
    assert next(it) == 0
    threading.Event().wait(0.3)         # give the reader time to run ahead as far as it may
    assert len(made) <= 3 + 2           # the queue, the item being put, the one taken
    assert list(it) == list(range(1, 100))


def test_prefetch_raises_the_readers_error_and_stops_when_closed():
    def failing():
        yield 1
        raise PoseNetError('broken frame source')

    it = prefetch(failing())
    assert next(it) == 1
    with pytest.raises(PoseNetError, match='broken frame source'):
        next(it)

    def endless():
        i = 0
        while True:
            yield i
            i += 1

    it = prefetch(endless(), depth=2)
    assert next(it) == 0
    it.close()
    assert not it.thread.is_alive()


def write_video(path, frames=6, size=(64, 48)):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), 12, size)
    for i in range(frames):
        writer.write(np.full((size[1], size[0], 3), 20 * i, np.uint8))
    writer.release()


def test_video_frames_and_a_late_start(tmp_path):
    path = tmp_path / 'clip.mp4'
    write_video(path)
    video = open_input(str(path))
    assert (video.kind, video.count, video.fps, video.name) == ('video', 6, 12.0, 'clip')
    frames = list(video.frames())
    assert [f.index for f in frames] == list(range(6))
    assert [int(f.image.mean() + 5) // 20 for f in frames] == list(range(6))
    later = list(open_input(str(path)).frames(start=4))
    assert [f.index for f in later] == [4, 5]
    np.testing.assert_array_equal(later[0].image, frames[4].image)


def test_not_a_video_and_a_stream_that_cannot_be_opened(tmp_path):
    bad = tmp_path / 'holiday.mp4'
    bad.write_bytes(b'this is not a video' * 100)
    with pytest.raises(PoseNetError, match=r'cannot open video .*holiday\.mp4: not a video'):
        open_input(str(bad))
    with pytest.raises(PoseNetError, match=r'cannot open the stream http://127\.0\.0\.1:1/x'):
        VideoInput('http://127.0.0.1:1/x', 'stream')


def test_numpy_frames():
    frames = [np.full((8, 8, 3), i, np.uint8) for i in range(3)]
    inp = open_input(frames, fps=10)
    assert isinstance(inp, ArrayInput) and inp.count == 3 and inp.fps == 10
    assert [int(f.image[0, 0, 0]) for f in inp.frames(start=1)] == [1, 2]
    with pytest.raises(PoseNetError, match=r'frame 0: expected a BGR uint8 image \(H, W, 3\); '
                                           r'got float64 \(8, 8\)'):
        list(open_input([np.zeros((8, 8))]).frames())
