"""Inputs of the pipeline: a photo, a folder of photos, a video file, a webcam or stream, or
numpy frames, read one frame at a time (docs/SPEC.md §15.3).

    source = open_input('clips/walk.mp4')          # or a photo, a folder, 0, 'rtsp://...', frames
    for frame in prefetch(source.frames()):        # decoded by a reader thread, a few ahead
        frame.index, frame.image, frame.path        # image: BGR uint8 (H, W, 3), None: undecodable

`prefetch` reads and decodes the next frames in a background thread while the networks run on
the current one; its queue is bounded, so memory does not grow with the length of the input.
"""
import os
import os.path as osp
import queue
import threading
from collections import namedtuple

import cv2
import numpy as np

from common.utils.crop import load_image
from common.utils.errors import PoseNetError

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.m4v', '.mpg', '.mpeg')
# the outputs written for an image stem: a folder used as input and output is not read back
OUTPUT_SUFFIXES = ('_pose_2d.jpg', '_pose_3d.png')
MAX_DECODE_FAILURES = 10        # consecutive undecodable frames of a video that end it
DEFAULT_FPS = 25.0

# one frame of an input: `index` (0-based; frame of a video, position in a folder), `image`
# BGR uint8 (H, W, 3) or None when it could not be decoded, `path` the file it came from
Frame = namedtuple('Frame', 'index image path')


def input_kind(source):
    """'image', 'folder', 'video', 'stream' (webcam index or URL) or 'frames' (numpy images)."""
    if not isinstance(source, (str, os.PathLike, int)):
        return 'frames'
    if isinstance(source, int) or (isinstance(source, str) and source.isdigit()
                                   and not osp.exists(source)):
        return 'stream'
    path = os.fspath(source)
    if osp.isdir(path):
        return 'folder'
    if '://' in path and not osp.exists(path):
        return 'stream'
    if not osp.isfile(path):
        raise PoseNetError(f"input not found: {path}")
    return 'video' if path.lower().endswith(VIDEO_EXTENSIONS) else 'image'


def read_image(path):
    """One photo as BGR uint8 `(H, W, 3)`; an undecodable file is a clear error."""
    try:
        return load_image(path)
    except PoseNetError:
        raise PoseNetError(f"cannot read input image {path}: it is not an image OpenCV can "
                           "decode (JPEG, PNG, ...)") from None


def output_stems(paths):
    """`{path: stem}` naming each image's outputs: the file-name stem, or the file name with
    its extension as `<stem>_<ext>` when two images share a stem (`person.jpg`, `person.png`
    -> `person_jpg`, `person_png`), so that no output overwrites another."""
    stems = [osp.splitext(osp.basename(p))[0] for p in paths]
    out = {}
    for path, stem in zip(paths, stems):
        if stems.count(stem) > 1:
            stem = f"{stem}_{osp.splitext(path)[1].lstrip('.').lower()}"
        out[path] = stem
    taken = list(out.values())
    if len(set(taken)) != len(taken):   # 'a.JPG' and 'a.jpg': same stem and extension
        raise PoseNetError("input folder holds images whose outputs would have the same name: "
                           + ', '.join(sorted(p for p in paths if taken.count(out[p]) > 1))
                           + '; rename one of them')
    return out


def folder_images(folder, out_dir=None):
    """Image files of a folder, sorted by name; an error when there is none.

    When `out_dir` is the folder itself, images that are this project's outputs of another
    image of the folder (`<stem>_pose_2d.jpg`, `<stem>_pose_3d.png`) are left out, so that a
    second run into the input folder never reads its own outputs back."""
    names = sorted(n for n in os.listdir(folder) if n.lower().endswith(IMAGE_EXTENSIONS)
                   and osp.isfile(osp.join(folder, n)))
    if out_dir is not None and osp.isdir(out_dir) and osp.samefile(folder, out_dir):
        stems = set(output_stems([osp.join(folder, n) for n in names]).values())
        outputs = {s + suffix for s in stems for suffix in OUTPUT_SUFFIXES}
        names = [n for n in names if n not in outputs]
    if not names:
        raise PoseNetError(f"input folder {folder} holds no image ({', '.join(IMAGE_EXTENSIONS)})")
    return [osp.join(folder, n) for n in names]


class FolderInput:
    """The photos of a folder, one frame each, in name order."""
    kind = 'folder'

    def __init__(self, folder, out_dir=None):
        self.path = folder
        self.paths = folder_images(folder, out_dir)
        self.count, self.fps, self.name = len(self.paths), None, osp.basename(osp.abspath(folder))

    def frames(self, start=0):
        for index in range(start, len(self.paths)):
            path = self.paths[index]
            try:
                yield Frame(index, load_image(path), path)
            except PoseNetError:
                yield Frame(index, None, path)


class ImageInput(FolderInput):
    """One photo (an undecodable photo is an error at once)."""
    kind = 'image'

    def __init__(self, path):
        self.path, self.paths = path, [path]
        self.image = read_image(path)
        self.count, self.fps = 1, None
        self.name = osp.splitext(osp.basename(path))[0]

    def frames(self, start=0):
        if start == 0:
            yield Frame(0, self.image, self.path)


class VideoInput:
    """A video file, a webcam (`int` index) or a stream URL OpenCV opens.

    `count` frames (None for a stream or when the file does not say), `fps`. A frame that fails
    to decode is yielded with image None (skipped and counted by the caller); a video ends at
    its frame count, at the end of the stream, or after `MAX_DECODE_FAILURES` undecodable
    frames in a row."""

    def __init__(self, source, kind='video'):
        self.kind, self.path = kind, source
        target = int(source) if kind == 'stream' and str(source).isdigit() else source
        self.capture = cv2.VideoCapture(target)
        if not self.capture.isOpened():
            self.capture.release()
            if kind == 'stream':
                raise PoseNetError(f"cannot open the stream {source}: no webcam with that index "
                                   "or a URL OpenCV cannot open (check the address and that "
                                   "the camera is free)")
            raise PoseNetError(f"cannot open video {source}: not a video OpenCV can decode")
        count = int(self.capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.count = count if count > 0 and kind == 'video' else None
        self.fps = float(self.capture.get(cv2.CAP_PROP_FPS) or 0) or DEFAULT_FPS
        self.name = (osp.splitext(osp.basename(str(source)))[0] if kind == 'video'
                     else stream_name(source))

    def frames(self, start=0):
        """Frames from index `start` on (earlier frames are skipped without decoding)."""
        cap, count, index, failures = self.capture, self.count, 0, 0
        try:
            while index < start and (count is None or index < count):
                if not cap.grab():
                    return
                index += 1
            while count is None or index < count:
                ok, image = cap.read()
                if ok and image is not None:
                    failures = 0
                    yield Frame(index, image, self.path)
                elif count is None or failures >= MAX_DECODE_FAILURES:
                    return
                else:
                    failures += 1
                    yield Frame(index, None, self.path)
                index += 1
        finally:
            cap.release()


def stream_name(source):
    """A file-name stem for the outputs of a webcam (`webcam0`) or stream (`stream_<host>`)."""
    text = str(source)
    if text.isdigit():
        return f'webcam{int(text)}'
    host = text.split('://', 1)[-1].split('/', 1)[0]
    return 'stream_' + ''.join(c if c.isalnum() else '_' for c in host)


class ArrayInput:
    """Numpy BGR uint8 images `(H, W, 3)` from any iterable (a list, a generator, ...)."""
    kind = 'frames'

    def __init__(self, images, fps=DEFAULT_FPS, name='frames'):
        self.images, self.path, self.name = images, None, name
        self.count = len(images) if hasattr(images, '__len__') else None
        self.fps = fps

    def frames(self, start=0):
        for index, image in enumerate(self.images):
            if index < start:
                continue
            image = np.asarray(image)
            if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
                raise PoseNetError(f"frame {index}: expected a BGR uint8 image (H, W, 3); got "
                                   f"{image.dtype} {image.shape}")
            yield Frame(index, image, None)


def open_input(source, out_dir=None, fps=DEFAULT_FPS):
    """The input for `source`: a path (photo, folder, video), a webcam index (`0`, `'0'`), a
    stream URL, or an iterable of numpy images (`fps` frames per second). `out_dir`: the output
    folder (a folder input leaves out its own earlier outputs, `folder_images`)."""
    kind = input_kind(source)
    if kind == 'frames':
        return ArrayInput(source, fps)
    if kind == 'image':
        return ImageInput(os.fspath(source))
    if kind == 'folder':
        return FolderInput(os.fspath(source), out_dir)
    return VideoInput(source if kind == 'stream' else os.fspath(source), kind)


_END = object()


class prefetch:
    """Iterate `items` (e.g. `source.frames()`) through a background thread that keeps up to
    `depth` items ready, so reading and decoding overlap the caller's work. An exception of
    the reader is raised in the caller; closing (or leaving a `for` loop early and dropping the
    iterator) stops the thread. Memory: at most `depth + 1` items at a time."""

    def __init__(self, items, depth=4):
        self.items, self.queue = iter(items), queue.Queue(maxsize=max(1, depth))
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True, name='frame-reader')
        self.thread.start()

    def _put(self, item):
        while not self.stop.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _read(self):
        try:
            for item in self.items:
                if not self._put((item, None)):
                    return
        except BaseException as e:     # handed to the caller, raised there
            self._put((_END, e))
            return
        finally:
            if self.stop.is_set() and hasattr(self.items, 'close'):
                self.items.close()
        self._put((_END, None))

    def __iter__(self):
        return self

    def __next__(self):
        if self.stop.is_set():
            raise StopIteration
        item, error = self.queue.get()
        if item is _END:
            self.close()
            if error is not None:
                raise error
            raise StopIteration
        return item

    def close(self):
        """Stop the reader thread (it finishes the item it is reading) and wait for it."""
        self.stop.set()
        self.thread.join()

    def __del__(self):
        self.stop.set()
