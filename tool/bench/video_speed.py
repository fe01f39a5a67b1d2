"""Speed and memory of the video chain (`tool/benchmark.py --video_speed`).

Three tables, measured side by side in one process:

1. Frames per second of the whole chain (`main.video.estimate`: reader thread, detector,
   RootNet, PoseNet, tracker) on a 640x480 clip for 1 and 5 people at `--detect_every` 1 and
   10. Detector: torchvision's model (`--detector`, random weights: the same cost, no
   download) whose boxes are replaced by fixed person boxes; RootNet and PoseNet ResNet-
   `--resnet` at `--input` px with random weights (as `--pipeline`; PoseNet's drawn by
   `randomise_weights` so that the joints spread and boxes can follow them). The writers' cost per
   frame (drawn video + `.jsonl`; the 3D view) is timed apart.
2. A folder of photos (networks ResNet-18 at 128 px, so that decoding a 1920x1080 JPEG and
   the networks cost about the same): images/s of reading + decoding alone, of the networks
   alone, and of the folder loop with and without the reader thread (`main.inputs.prefetch`),
   in interleaved rounds; the goal is the threaded loop at >= 90 % of the slower stage's rate.
3. Memory on a long clip: 10,000 tiny frames through a cheap fake pipeline (two people),
   tracker, median smoother and the writers (drawn video, `.jsonl`, per-track arrays); the
   process's resident memory after 1,000 frames and at the end, and its peak.
"""
import os
import resource
import tempfile
import time

import cv2
import numpy as np
import torch

from data.joint_sets import MUCO_JOINTS, MUCO_SKELETON
from main.inputs import ArrayInput, FolderInput, prefetch
from main.outputs import VideoWriters
from main.video import FrameBoxes, estimate

CLIP_SIZE = (640, 480)
CHAIN_FRAMES = {1: 2, 10: 10}       # frames timed per --detect_every (whole detector periods)
SMALL_NETS = (18, 128)              # ResNet, input px of the folder and writer sections
FOLDER_IMAGES = 8
FOLDER_SIZE = (1920, 1080)          # photos large enough that decoding is a real stage
LONG_FRAMES = 10000
LONG_SIZE = (64, 48)


def rss_mib():
    """The process's resident memory now (MiB, from /proc)."""
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024
    return float('nan')


def build_networks(resnet, input_size):
    from common.nets.posenet import get_pose_net
    from common.nets.rootnet import get_root_net
    from data.MuCo.MuCo import MuCo
    from main.checkpoint import ModelSettings
    from main.config import Config
    from main.predictor import PoseNetPredictor, RootNetPredictor
    from tool.bench.shared import randomise_weights
    cfg = Config(resnet_type=resnet, pretrained_backbone=False,
                 input_shape=(input_size, input_size))
    torch.manual_seed(0)
    device = torch.device('cpu')
    # weights under which the joints spread over the crop (the networks' own init puts them
    # all on one point, from which no box for the next frame can be taken)
    model = randomise_weights(get_pose_net(cfg, True, 21), 0, cfg.input_shape)
    posenet = PoseNetPredictor(model, ModelSettings.from_config(cfg, 'PoseNet', MuCo), None,
                               device)
    rootnet = RootNetPredictor(get_root_net(cfg, True).eval(), cfg, device)
    return posenet, rootnet


class FixedBoxDetector:
    """The detector's cost, with `boxes` as its answer (random weights find random boxes)."""

    def __init__(self, detector, boxes):
        self.detector, self.boxes, self.runs = detector, boxes, 0

    def __call__(self, img):
        self.detector(img)
        self.runs += 1
        return self.boxes.copy(), np.full(len(self.boxes), 0.9)


def people_boxes(n):
    return np.array([[20 + 120 * (i % 5), 60, 100, 300] for i in range(n)], np.float64)


def bench_chain(args, posenet, rootnet):
    from common.nets.detector import PersonDetector
    from main.pipeline import Pipeline
    detector = PersonDetector(args.detector, pretrained=False, device=torch.device('cpu'))
    rng = np.random.default_rng(0)
    w, h = CLIP_SIZE
    rows = []
    for n in (1, 5):
        for every, frames in CHAIN_FRAMES.items():
            images = [rng.integers(0, 255, (h, w, 3), dtype=np.uint8) for _ in range(frames)]
            det = FixedBoxDetector(detector, people_boxes(n))
            pipeline = Pipeline(posenet, rootnet, det)
            list(estimate(ArrayInput(images[:1]), pipeline))          # warm-up
            det.runs = 0
            start = time.perf_counter()
            results = list(estimate(ArrayInput(images), pipeline, detect_every=every))
            seconds = time.perf_counter() - start
            people = np.mean([len(r['people']) for r in results])
            rows.append((n, every, frames, det.runs, people, frames / seconds))
    print(f'\nwhole chain, {w}x{h} clip, detector {args.detector}, RootNet + PoseNet '
          f'ResNet-{args.resnet} {args.input}x{args.input}, CPU ({torch.get_num_threads()} '
          'threads)')
    print('| people | detect_every | frames | detector runs | people/frame | frames/s | '
          'vs every frame |')
    print('|---|---|---|---|---|---|---|')
    base = {n: fps for n, every, _, _, _, fps in rows if every == 1}
    for n, every, frames, runs, people, fps in rows:
        print(f'| {n} | {every} | {frames} | {runs} | {people:.1f} | {fps:.3f} | '
              f'{fps / base[n]:.2f}x |')
    # per stage, right after: the gain expected from the stage times, whatever the poses do
    def best_of(fn, repeat=2):
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return min(times)
    det_s = best_of(lambda: detector(images[0]))
    print(f'per stage: detector {det_s:.2f} s/frame', end='')
    for n in (1, 5):
        pipeline = Pipeline(posenet, rootnet, None)
        net_s = best_of(lambda: pipeline(images[0], bbox=people_boxes(n)))
        expected = (det_s + net_s) / (det_s / 10 + net_s)
        print(f'; RootNet + PoseNet, {n} people {net_s:.2f} s/frame (expected gain at '
              f'detect_every 10: {expected:.2f}x)', end='')
    print()
    return rows


def bench_writers(posenet, rootnet):
    """Seconds per frame of the writers: drawn video + .jsonl, and the 3D view."""
    from main.pipeline import Pipeline
    w, h = CLIP_SIZE
    images = [np.random.default_rng(i).integers(0, 255, (h, w, 3), dtype=np.uint8)
              for i in range(3)]
    pipeline = Pipeline(posenet, rootnet, None)
    boxes = FrameBoxes(fixed=people_boxes(5))
    meta = {'camera_source': 'default', 'bbox_source': 'benchmark', 'models': {}}
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        list(estimate(ArrayInput(images), pipeline, boxes))       # warm-up
        for label, views in (('chain only', None), ('+ video and .jsonl', False),
                             ('+ 3D views', True)):
            writers = None if views is None else VideoWriters(
                os.path.join(tmp, label[2:7]), meta, {}, stem='clip', views_3d=views)
            start = time.perf_counter()
            list(estimate(ArrayInput(images), pipeline, boxes, writers=writers))
            out[label] = (time.perf_counter() - start) / len(images)
    print(f'\nwriters, 5 people, seconds per frame (given boxes, no detector, ResNet-'
          f'{SMALL_NETS[0]} {SMALL_NETS[1]} px):')
    for label, sec in out.items():
        print(f'  {label:<20} {sec:.3f}')
    return out


def bench_folder(posenet, rootnet, rounds=2):
    from main.pipeline import Pipeline
    pipeline = Pipeline(posenet, rootnet, None)
    box = people_boxes(1)
    w, h = FOLDER_SIZE
    with tempfile.TemporaryDirectory() as folder:
        rng = np.random.default_rng(1)
        for i in range(FOLDER_IMAGES):      # smooth noise: a JPEG of realistic size
            small = rng.integers(0, 255, (h // 8, w // 8, 3), dtype=np.uint8)
            cv2.imwrite(os.path.join(folder, f'{i:03d}.jpg'),
                        cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC))
        inp = FolderInput(folder)
        img = next(inp.frames()).image
        pipeline(img, bbox=box)                                     # warm-up

        def read_only():
            for frame in inp.frames():
                pass

        def networks_only():
            for _ in range(FOLDER_IMAGES):
                pipeline(img, bbox=box)

        def loop(threaded):
            frames = inp.frames()
            for frame in (prefetch(frames) if threaded else frames):
                pipeline(frame.image, bbox=box)

        best = {}
        jobs = {'read + decode only': read_only, 'networks only (1 person)': networks_only,
                'folder, one after the other': lambda: loop(False),
                'folder, reader thread': lambda: loop(True)}
        for _ in range(rounds):             # interleaved rounds, best of each
            for label, job in jobs.items():
                start = time.perf_counter()
                job()
                rate = FOLDER_IMAGES / (time.perf_counter() - start)
                best[label] = max(best.get(label, 0.0), rate)
    slowest = min(best['read + decode only'], best['networks only (1 person)'])
    print(f'\nfolder of {FOLDER_IMAGES} JPEG photos {w}x{h}, 1 person each, RootNet + PoseNet '
          f'ResNet-{SMALL_NETS[0]} {SMALL_NETS[1]} px (stages of similar cost), best of '
          f'{rounds} interleaved rounds (images/s):')
    for label, rate in best.items():
        print(f'  {label:<30} {rate:7.2f}   {rate / slowest * 100:5.1f} % of the slower stage')
    return best


class CheapPipeline:
    """Two people walking: known poses, no network (for the memory of a long clip)."""
    joints_name, skeleton = MUCO_JOINTS, MUCO_SKELETON

    def __init__(self):
        self.t = 0
        self.offsets = np.random.default_rng(0).uniform(-4, 4, (21, 2))

    def __call__(self, img, focal=None, princpt=None, bbox=None, **kwargs):
        self.t += 1
        people = []
        for k in range(2):
            x = 10 + 30 * k + 4 * np.sin(self.t / 50 + k)
            pose_2d = np.array([x, 24.]) + self.offsets
            root = np.array([x * 10., 0., 4000. + 100 * k])
            pose_3d = np.c_[pose_2d * 10, np.full(21, root[2])]
            people.append({'bbox': np.array([x - 6, 16, 12, 16.]),
                           'bbox_processed': np.array([x - 6, 16, 12, 16.]), 'score': 0.9,
                           'root_cam': root, 'root_source': 'given', 'pose_2d': pose_2d,
                           'pose_3d': pose_3d})
        return {'focal': np.array([1500., 1500.]), 'princpt': np.array([32., 24.]),
                'joints_name': self.joints_name, 'skeleton': self.skeleton, 'people': people}


def bench_memory():
    w, h = LONG_SIZE

    def frames():
        for i in range(LONG_FRAMES):
            yield np.full((h, w, 3), i % 200, np.uint8)

    meta = {'camera_source': 'default', 'bbox_source': 'benchmark', 'models': {}}
    samples = {}
    with tempfile.TemporaryDirectory() as tmp:
        writers = VideoWriters(tmp, meta, {}, stem='long', views_3d=False, raw=True)
        start = time.perf_counter()
        for r in estimate(ArrayInput(frames(), fps=30.), CheapPipeline(), smooth='median',
                          smooth_window=9, writers=writers):
            if (r['frame'] + 1) % 1000 == 0:
                samples[r['frame'] + 1] = rss_mib()
        seconds = time.perf_counter() - start
        samples['end (tracks file written)'] = rss_mib()
        jsonl_mib = os.path.getsize(writers.files['jsonl']) / 2 ** 20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    growth = samples['end (tracks file written)'] - samples[1000]
    print(f'\nmemory on a {LONG_FRAMES}-frame {w}x{h} clip, 2 people, median 9, writers on '
          f'(.jsonl {jsonl_mib:.0f} MiB), {LONG_FRAMES / seconds:.0f} frames/s:')
    for key, mib in samples.items():
        if key in (1000, LONG_FRAMES // 2, LONG_FRAMES):
            print(f'  resident after frame {key}: {mib:.1f} MiB')
        elif isinstance(key, str):
            print(f'  resident at the {key}: {mib:.1f} MiB')
    print(f'  growth from frame 1000 to the end: {growth:+.1f} MiB; process peak {peak:.0f} '
          'MiB')
    return {'samples': samples, 'growth_mib': growth, 'peak_mib': peak}


def run(args):
    torch.set_num_threads(args.threads or torch.get_num_threads())
    print(f'video speed on {os.cpu_count()} CPU cores (a machine shared with other jobs: '
          'compare figures of one run only)')
    posenet, rootnet = build_networks(args.resnet, args.input)
    chain = bench_chain(args, posenet, rootnet)
    small = build_networks(*SMALL_NETS)
    folder = bench_folder(*small)
    writers = bench_writers(*small)
    memory = bench_memory()
    return {'chain': chain, 'folder': folder, 'writers': writers, 'memory': memory}
