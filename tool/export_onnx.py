"""Export a PoseNet or RootNet snapshot to ONNX (for ONNX Runtime: `--backend onnx`).

    python tool/export_onnx.py --snapshot output/model_dump/snapshot_24.pth.tar --out posenet.onnx
    python tool/export_onnx.py --snapshot demo/rootnet_snapshot_18.pth.tar --out rootnet.onnx \\
        --network RootNet
    python tool/export_onnx.py --snapshot snapshot_24.pth.tar --out posenet.onnx --joints MuCo \\
        --cfg resnet_type=50 "input_shape=(256, 256)"     # an official snapshot (no settings)

The file has a dynamic batch axis and keeps the model's settings in its metadata (network,
model_settings as JSON, joint names; see `main/onnx_backend.py`), so `--snapshot posenet.onnx`
(demo), `PoseNetPredictor.from_snapshot('posenet.onnx', ...)` or `Pipeline.from_files` use it
with the right geometry and joints. Snapshots written by this project carry their settings;
for the official ones give `--cfg` as for testing and, for PoseNet, `--joints` (default: the
dataset whose joint count matches the snapshot: 18 Human36M, 21 MuCo).
After writing, the export is checked against PyTorch on random crops (`--no_check` skips it).

`--int8` writes an int8 model instead (ONNX Runtime static quantisation, QDQ; see
`main/onnx_backend.py`), calibrated on `--calibration DIR` (its images, each resized whole to
the crop size: photos of single people work best) or, without it, on smooth random crops.
"""
import argparse
import os
import tempfile
import types

import numpy as np
import torch

from common.utils.cli import run_cli
from common.utils.errors import PoseNetError
from main.checkpoint import read_checkpoint, strip_prefix


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog='\n'.join(__doc__.splitlines()[1:8]))
    parser.add_argument('--snapshot', required=True, help='snapshot_<epoch>.pth.tar to export')
    parser.add_argument('--out', required=True, help='ONNX file to write (e.g. posenet.onnx)')
    parser.add_argument('--network', choices=['PoseNet', 'RootNet'], default=None,
                        help="default: the snapshot's own setting, else RootNet when it holds "
                             'a RootNet head, else PoseNet')
    parser.add_argument('--joints', default=None, metavar='DATASET',
                        help='joint set of a PoseNet snapshot without settings: Human36M, MuCo, '
                             'MuPoTS, MPII or MSCOCO (default: by its joint count)')
    parser.add_argument('--no_check', action='store_true',
                        help='do not compare ONNX Runtime with PyTorch after the export')
    parser.add_argument('--int8', action='store_true',
                        help='write an int8 model (static quantisation, QDQ) instead of float32')
    parser.add_argument('--calibration', metavar='DIR', default=None,
                        help='--int8: folder of images (whole images resized to the crop size) '
                             'for the activation ranges (default: smooth random crops)')
    parser.add_argument('--cfg', nargs='+', action='extend', default=[], metavar='KEY=VALUE',
                        help='model settings of a snapshot that stores none, e.g. --cfg '
                             'resnet_type=50 "input_shape=(256, 256)" (may be repeated)')
    return parser.parse_args(argv)


JOINT_SETS = {'Human36M': 'H36M', 'MuCo': 'MUCO', 'MuPoTS': 'MUPOTS', 'MPII': 'MPII',
              'MSCOCO': 'COCO'}


def joint_set_of(name, ckpt, cfg):
    """The joints (`joints_name`, `flip_pairs`, `skeleton`) for a snapshot `ckpt` (a
    `main.checkpoint.Checkpoint`) without settings: the dataset `name`, or the one whose joint
    count matches the snapshot's output maps."""
    from data import joint_sets

    def get(dataset):
        prefix = JOINT_SETS[dataset]
        return types.SimpleNamespace(joints_name=getattr(joint_sets, f'{prefix}_JOINTS'),
                                     flip_pairs=getattr(joint_sets, f'{prefix}_FLIP_PAIRS'),
                                     skeleton=getattr(joint_sets, f'{prefix}_SKELETON'))
    if name is not None:
        if name not in JOINT_SETS:
            raise PoseNetError(f"--joints {name}: not a dataset; choose one of "
                               f"{', '.join(JOINT_SETS)}")
        return get(name)
    final = strip_prefix(ckpt.network_state).get('head.final_layer.weight')
    maps = None if final is None else final.shape[0]
    matches = [d for d in JOINT_SETS if maps == len(get(d).joints_name) * cfg.depth_dim]
    if len(matches) != 1:
        raise PoseNetError(f"{ckpt.path} has no joint set stored ({maps} output maps, depth_dim "
                           f"{cfg.depth_dim}); pass --joints Human36M or --joints MuCo")
    return get(matches[0])


def check_export(predictor, out, network, seed=0, num=4):
    """Largest |ONNX Runtime - PyTorch| on `num` crops of smooth random images: of the heatmap
    coordinates (PoseNet), or `(x, y difference, relative depth difference)` (RootNet)."""
    from main.onnx_backend import OnnxNetwork
    from tool.bench.shared import random_crops
    net = OnnxNetwork(out)
    crops = random_crops(num, seed, predictor.input_shape)
    with torch.no_grad():
        if network == 'PoseNet':
            return float(np.abs(predictor.model(crops).numpy() - net.run(crops.numpy())).max())
        k = np.linspace(1000., 10000., num, dtype=np.float32).reshape(-1, 1)
        ref = predictor.model(crops, torch.from_numpy(k)).numpy()
    got = net.run(crops.numpy(), k)
    return (float(np.abs(ref[:, :2] - got[:, :2]).max()),
            float(np.abs(ref[:, 2] - got[:, 2]).max() / np.abs(ref[:, 2]).max()))


def folder_crops(folder, cfg, limit=256):
    """Normalised crops `(N, 3, H, W)` float32 of the images in `folder` (sorted, at most
    `limit`), each image resized whole to `cfg.input_shape` (the original's normalisation)."""
    import os.path as osp
    from common.utils.crop import load_image, person_crops
    if not osp.isdir(folder):
        raise PoseNetError(f"--calibration {folder}: not a folder of images")
    names = sorted(n for n in os.listdir(folder)
                   if n.lower().endswith(('.jpg', '.jpeg', '.png', '.bmp')))[:limit]
    if not names:
        raise PoseNetError(f"--calibration {folder}: no .jpg/.png/.bmp image in it")
    crops = []
    for name in names:
        img = load_image(osp.join(folder, name))
        box = np.array([0., 0., img.shape[1], img.shape[0]])
        crops.append(person_crops(img, box, cfg.input_shape, cfg.pixel_mean, cfg.pixel_std))
    return torch.cat(crops).numpy()


def main(argv=None):
    """Export; returns the path written."""
    from main.checkpoint import default_calibration, export_model
    from main.config import Config
    from main.onnx_backend import file_fingerprint, quantize_onnx
    from main.predictor import PoseNetPredictor, RootNetPredictor, is_onnx_file

    args = parse_args(argv)
    if is_onnx_file(args.snapshot):
        raise PoseNetError(f"{args.snapshot} is an ONNX file already; pass a .pth.tar snapshot")
    if not args.out.lower().endswith('.onnx'):
        raise PoseNetError(f"--out {args.out}: name the file *.onnx (the predictors recognise "
                           "ONNX models by that extension)")
    ckpt = read_checkpoint(args.snapshot, args.network)      # read once
    network = ckpt.network
    cfg = Config().with_overrides(args.cfg).with_model_settings(ckpt.settings, ckpt.path)
    if network == 'PoseNet':
        stored = ckpt.settings is not None and ckpt.settings.joints_name
        joints = None if stored else joint_set_of(args.joints, ckpt, cfg)
        predictor = PoseNetPredictor.from_snapshot(ckpt, cfg, joints, flip_test=True)
    else:
        predictor = RootNetPredictor.from_snapshot(ckpt, cfg)
    settings, source = predictor.settings, file_fingerprint(args.snapshot)
    if args.int8:
        calibration = default_calibration(settings)
        if args.calibration is not None:
            img = folder_crops(args.calibration, cfg)
            calibration = img if network == 'PoseNet' else (img, np.linspace(
                1000., 10000., len(img), dtype=np.float32).reshape(-1, 1))
        img, k = calibration if network == 'RootNet' else (calibration, None)
        with tempfile.TemporaryDirectory() as tmp:
            float_path = export_model(predictor.model, os.path.join(tmp, 'float.onnx'),
                                      settings, predictor.epoch, source)
            quantize_onnx(float_path, args.out, img, k)
    else:
        export_model(predictor.model, args.out, settings, predictor.epoch, source)
    joints = f", {settings.joint_num} joints" if network == 'PoseNet' else ''
    precision = f', int8 (calibrated on {len(img)} crops)' if args.int8 else ''
    print(f"wrote {args.out}: {network}, ResNet-{cfg.resnet_type}, input "
          f"{cfg.input_shape[0]}x{cfg.input_shape[1]}{joints}, epoch {predictor.epoch}"
          f"{precision}")
    if not args.no_check:
        diff = check_export(predictor, args.out, network)
        if network == 'PoseNet':
            print(f"ONNX Runtime vs PyTorch on 4 random crops: max |difference| {diff:.2e} "
                  "heatmap units")
        else:
            print(f"ONNX Runtime vs PyTorch on 4 random crops: max |difference| {diff[0]:.2e} "
                  f"output units (x, y), {diff[1]:.1e} relative (depth)")
    return args.out


if __name__ == '__main__':
    run_cli(main)
