"""Where the pretrained models come from, and fetching them on first use (docs/SPEC.md §16).

    from main.model_store import fetch_model
    path = fetch_model('posenet')      # ~/.cache/posenet-3dmppe/posenet_muco_snapshot_24.pth.tar

The cache folder is `--model_dir DIR` (drivers), else `$POSENET_MODEL_DIR`, else
`~/.cache/posenet-3dmppe`. A missing file is downloaded from its sources in turn (or from
`MIRROR/FILE` with `--mirror URL` / `$POSENET_MODEL_MIRROR`) with a progress bar into a temporary
file next to its place, checked, and only then renamed into place: it loads with
`weights_only=True`, its tensor names and shapes match the network it is for, and its SHA-256
matches where one is known. A file that fails is removed and the error says so; without network
the error names the file, where it comes from and where to put it.
"""
import hashlib
import html.parser
import http.client
import os
import os.path as osp
import pickle
import socket
import sys
import urllib.error
import urllib.parse
import urllib.request
import zipfile

import torch

from common.nets.weights import describe_mismatch
from common.utils.errors import PoseNetError
from common.utils.file_io import atomic_path
from main.checkpoint import strip_prefix

CACHE_ENV = 'POSENET_MODEL_DIR'
MIRROR_ENV = 'POSENET_MODEL_MIRROR'
DEFAULT_CACHE = osp.join('~', '.cache', 'posenet-3dmppe')
CHUNK = 1 << 20                 # bytes per read of a download
TIMEOUT_S = 60                  # seconds without data before a download counts as failed


def drive_url(file_id):
    """Direct download address of a public Google Drive file (the `confirm=t` form skips the
    'cannot scan for viruses' page of large files; `download` handles the page if it comes)."""
    return f'https://drive.usercontent.google.com/download?id={file_id}&export=download&confirm=t'


class ModelEntry:
    """One model of the table: `name`, `file` (its name in the cache folder), `sources`
    (download addresses tried in order), `network` ('PoseNet', 'RootNet' or a torchvision
    detector builder name), `arch` (what the expected tensor shapes are built from: for
    PoseNet/RootNet `resnet_type`, PoseNet also `joint_num`, `depth_dim`), `sha256` (hex digest
    or a prefix of it; None: unknown), `origin` (where it comes from, in words)."""

    def __init__(self, name, file, sources, network, arch=None, sha256=None, origin=''):
        self.name, self.file, self.sources = name, file, tuple(sources)
        self.network, self.arch, self.sha256 = network, dict(arch or {}), sha256
        self.origin = origin


def _detector_entry():
    from common.nets.detector import DEFAULT_DETECTOR, coco_weights
    url = coco_weights(DEFAULT_DETECTOR).url
    file = osp.basename(url)
    # torchvision's file names end in the first 8 hex digits of the file's SHA-256
    return ModelEntry('detector', file, [url], DEFAULT_DETECTOR,
                      sha256=file.rsplit('-', 1)[1].split('.')[0],
                      origin=f'torchvision {DEFAULT_DETECTOR} COCO_V1 weights')


MODELS = {
    'posenet': ModelEntry(
        'posenet', 'posenet_muco_snapshot_24.pth.tar',
        [drive_url('1xjefKgjsH-W8v2lVn1Hbwzp2_Su7KtG0'),
         'https://cv.snu.ac.kr/research/3DMPPE/model/PoseNet/muco/snapshot_24.pth.tar'],
        'PoseNet', {'resnet_type': 50, 'joint_num': 21, 'depth_dim': 64},
        origin='official PoseNet snapshot_24.pth.tar (MuCo-3DHP + MSCOCO, 21 joints), '
               'github.com/mks0601/3DMPPE_POSENET_RELEASE'),
    'rootnet': ModelEntry(
        'rootnet', 'rootnet_muco_snapshot_18.pth.tar',
        ['https://cv.snu.ac.kr/research/3DMPPE/model/RootNet/muco/snapshot_18.pth.tar'],
        'RootNet', {'resnet_type': 50},
        origin='official RootNet snapshot_18.pth.tar (MuCo-3DHP + MSCOCO), '
               'github.com/mks0601/3DMPPE_ROOTNET_RELEASE'),
    'detector': _detector_entry(),
}


def model_dir(path=None):
    """The cache folder: `path` when given, else `$POSENET_MODEL_DIR`, else
    `~/.cache/posenet-3dmppe` (absolute, `~` expanded)."""
    path = path or os.environ.get(CACHE_ENV) or DEFAULT_CACHE
    return osp.abspath(osp.expanduser(path))


def get_entry(name):
    if name not in MODELS:
        raise PoseNetError(f"unknown model {name!r}; known models: {', '.join(MODELS)} "
                           "(python tool/fetch_models.py --list)")
    return MODELS[name]


def model_path(name, folder=None):
    """Where model `name` lives in the cache folder (whether or not it is there)."""
    return osp.join(model_dir(folder), get_entry(name).file)


def mirror_url(mirror=None):
    """The mirror base address: `mirror`, else `$POSENET_MODEL_MIRROR`, else None."""
    mirror = mirror or os.environ.get(MIRROR_ENV) or None
    return mirror.rstrip('/') if mirror else None


def entry_sources(entry, mirror=None):
    """Addresses to try for `entry`: `MIRROR/FILE` alone when a mirror is set, else its own."""
    mirror = mirror_url(mirror)
    return [f'{mirror}/{urllib.parse.quote(entry.file)}'] if mirror else list(entry.sources)


def fetch_model(name, folder=None, mirror=None, progress=True, entry=None):
    """Path of model `name` in the cache folder (`model_dir(folder)`), downloaded and checked
    first when it is not there. `entry`: a `ModelEntry` used instead of the table's (tests)."""
    entry = entry or get_entry(name)
    path = osp.join(model_dir(folder), entry.file)
    if osp.isfile(path):
        return path
    folder = osp.dirname(path)
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        raise PoseNetError(f"cannot create the model folder {folder} ({e.strerror}); choose "
                           f"another with --model_dir or ${CACHE_ENV}") from None
    if not os.access(folder, os.W_OK):
        raise PoseNetError(f"cannot write into the model folder {folder} to fetch {entry.file}; "
                           f"choose another with --model_dir or ${CACHE_ENV}")
    sources = entry_sources(entry, mirror)
    failures = []
    for url in sources:
        try:
            download_checked(url, path, entry, progress)
            return path
        except DownloadFailed as e:
            failures.append(str(e))
    tried = '; '.join(failures)
    raise PoseNetError(
        f"{entry.name} model: could not download {entry.file} ({tried}). Without network, "
        f"download it on another machine (python tool/fetch_models.py {entry.name} --out DIR, or "
        f"from {sources[0]}) and put it at {path} (or point --model_dir / ${CACHE_ENV} at the "
        f"folder that holds it; --mirror URL / ${MIRROR_ENV} fetches URL/{entry.file})")


class DownloadFailed(Exception):
    """A source could not deliver the file (network, server, interrupted); the next is tried."""


def download_checked(url, path, entry, progress=True):
    """Download `url` to `path` through a temporary file; `check_model_file` runs on the
    temporary file and only a file that passes is renamed into place."""
    with atomic_path(path) as tmp:
        download(url, tmp, entry.file, progress)
        try:
            check_model_file(tmp, entry)
        except PoseNetError as e:
            raise PoseNetError(f"{e}; the file fetched from {url} was removed (nothing was put "
                               f"at {path}): fetch it again, or from another source with "
                               "--mirror URL") from None
    return path


def download(url, dest, label, progress=True, timeout=TIMEOUT_S):
    """Write the file at `url` to `dest` (a temporary file) with a progress bar; Google Drive's
    confirmation page is followed once. Raises DownloadFailed on any network or server error,
    or when the connection ends before the announced length."""
    from tqdm import tqdm
    try:
        resp = _open(url, timeout)
        if resp.headers.get_content_type() == 'text/html' and 'google' in url:
            confirm = drive_confirm_url(resp.read().decode('utf-8', 'replace'), url)
            resp.close()
            if confirm is None:
                raise DownloadFailed(f"{url}: Google Drive answered with a page instead of the "
                                     "file (download quota or permission); download it in a "
                                     "browser, or use --mirror")
            resp = _open(confirm, timeout)
        with resp:
            total = int(resp.headers.get('Content-Length') or 0) or None
            done = 0
            with open(dest, 'wb') as f, tqdm(total=total, unit='B', unit_scale=True,
                                             desc=label, disable=not progress,
                                             file=sys.stderr) as bar:
                while True:
                    chunk = resp.read(CHUNK)
                    if not chunk:
                        break
                    f.write(chunk)
                    done += len(chunk)
                    bar.update(len(chunk))
    except urllib.error.HTTPError as e:
        raise DownloadFailed(f"{url}: server error HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, http.client.HTTPException, socket.timeout, OSError) as e:
        reason = getattr(e, 'reason', e)
        if isinstance(e, http.client.IncompleteRead):
            reason = f'interrupted after {len(e.partial)} more byte(s)'
        raise DownloadFailed(f"{url}: {reason}") from None
    if total is not None and done != total:
        raise DownloadFailed(f"{url}: interrupted after {done} of {total} bytes")
    if done == 0:
        raise DownloadFailed(f"{url}: the server sent an empty file")


def _open(url, timeout):
    req = urllib.request.Request(url, headers={'User-Agent': 'posenet-3dmppe'})
    return urllib.request.urlopen(req, timeout=timeout)


class _FormParser(html.parser.HTMLParser):
    """The first form of a page: its action and its input fields."""

    def __init__(self):
        super().__init__()
        self.action, self.fields, self._in_form = None, {}, False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == 'form' and self.action is None:
            self.action, self._in_form = attrs.get('action'), True
        elif tag == 'input' and self._in_form and attrs.get('name'):
            self.fields[attrs['name']] = attrs.get('value') or ''

    def handle_endtag(self, tag):
        if tag == 'form':
            self._in_form = False


def drive_confirm_url(page, url):
    """The address behind Google Drive's 'download anyway' form of `page`, or None."""
    parser = _FormParser()
    parser.feed(page)
    if not parser.action or 'id' not in parser.fields:
        return None
    action = urllib.parse.urljoin(url, parser.action)
    return f'{action}?{urllib.parse.urlencode(parser.fields)}'


# -- checks ---------------------------------------------------------------------------------------
def expected_state_dict(entry):
    """The state dict of the network `entry` is for, as meta tensors (names and shapes only:
    built on the meta device, no memory, no weights)."""
    with torch.device('meta'):
        if entry.network == 'PoseNet':
            from common.nets.posenet import pose_net
            model = pose_net(**{'depth_dim': 64, **entry.arch})
        elif entry.network == 'RootNet':
            from common.nets.rootnet import root_net
            model = root_net(resnet_type=entry.arch['resnet_type'])
        else:
            import torchvision.models.detection as tvd
            model = getattr(tvd, entry.network)(weights=None, weights_backbone=None,
                                                num_classes=91)
    return model.state_dict()


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(CHUNK), b''):
            digest.update(block)
    return digest.hexdigest()


def check_model_file(path, entry):
    """PoseNetError unless `path` is the model of `entry`: its SHA-256 (where known) matches,
    it loads with `weights_only=True`, and its tensor names and shapes are the network's."""
    what = f"{entry.name} model {entry.file}"
    if entry.sha256 and not sha256_of(path).startswith(entry.sha256.lower()):
        raise PoseNetError(f"{what}: checksum mismatch (SHA-256 should start with "
                           f"{entry.sha256}): a damaged or different file")
    try:
        ckpt = torch.load(path, map_location='cpu', weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError,
            KeyError, UnicodeDecodeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else 'unreadable'
        raise PoseNetError(f"{what}: not a PyTorch weights file that loads with "
                           f"weights_only=True ({type(e).__name__}: {first[:200]})") from None
    state = ckpt.get('network') if entry.network in ('PoseNet', 'RootNet') and \
        isinstance(ckpt, dict) else ckpt
    if not isinstance(state, dict) or not state:
        raise PoseNetError(f"{what}: holds no {entry.network} weights (a snapshot has a "
                           "'network' state dict)")
    problem = describe_mismatch(expected_state_dict(entry), strip_prefix(state))
    if problem:
        raise PoseNetError(f"{what}: its tensors do not fit {entry.network}: {problem}")
    return path


def resolve_model(path_or_name, folder=None, mirror=None, progress=True):
    """A model file for a driver option: an existing file as it is; a name of the table
    ('posenet', 'rootnet', 'detector') is fetched into the cache folder."""
    if path_or_name in MODELS and not osp.isfile(path_or_name):
        return fetch_model(path_or_name, folder, mirror, progress)
    return path_or_name
