"""main/model_store.py: models fetched on first use from a local server on 127.0.0.1 (success,
interrupted download, wrong file, wrong shapes, server error, no network, mirror, Drive page)."""
import hashlib
import os
import os.path as osp

import pytest
import torch

import main.model_store as store
from common.utils.errors import PoseNetError
from tests.model_server import ModelServer, refused_url, small_entry, tiny_snapshot_bytes


@pytest.fixture(scope='module')
def posenet_bytes(tmp_path_factory):
    return tiny_snapshot_bytes('PoseNet', 8, tmp_path_factory.mktemp('m') / 'p.pth.tar')


@pytest.fixture(scope='module')
def rootnet_bytes(tmp_path_factory):
    return tiny_snapshot_bytes('RootNet', path=tmp_path_factory.mktemp('m') / 'r.pth.tar')


def leftovers(folder):
    return sorted(os.listdir(folder)) if osp.isdir(folder) else []


def test_cache_folder_default_env_and_option(monkeypatch, tmp_path):
    monkeypatch.delenv(store.CACHE_ENV, raising=False)
    assert store.model_dir() == osp.expanduser('~/.cache/posenet-3dmppe')
    monkeypatch.setenv(store.CACHE_ENV, str(tmp_path / 'env'))
    assert store.model_dir() == str(tmp_path / 'env')
    assert store.model_dir(str(tmp_path / 'opt')) == str(tmp_path / 'opt')   # option wins
    assert store.model_path('rootnet') == str(tmp_path / 'env' / 'rootnet_muco_snapshot_18.pth.tar')


def test_table_sources_are_the_official_releases():
    pose, root, det = store.MODELS['posenet'], store.MODELS['rootnet'], store.MODELS['detector']
    assert 'id=1xjefKgjsH-W8v2lVn1Hbwzp2_Su7KtG0' in pose.sources[0]     # PoseNet demo model
    assert root.sources[0].endswith('/RootNet/muco/snapshot_18.pth.tar')
    assert det.sources == ('https://download.pytorch.org/models/'
                           'fasterrcnn_resnet50_fpn_v2_coco-dd69338a.pth',)
    assert det.sha256 == 'dd69338a' and det.file == 'fasterrcnn_resnet50_fpn_v2_coco-dd69338a.pth'
    # the full-size networks the checks expect: 21 joints x 64 depth bins on ResNet-50
    shapes = store.expected_state_dict(pose)
    assert shapes['head.final_layer.weight'].shape == (21 * 64, 256, 1, 1)
    assert shapes['backbone.layer4.2.conv3.weight'].shape == (2048, 512, 1, 1)
    assert 'backbone.layer4.2.conv3.weight' in store.expected_state_dict(root)


def test_fetch_success_places_checked_file_once(tmp_path, posenet_bytes):
    entry = small_entry(sha256=hashlib.sha256(posenet_bytes).hexdigest())
    with ModelServer() as server:
        server.routes['/p.tar'] = (200, posenet_bytes, '')
        entry.sources = (server.url + '/p.tar',)
        path = store.fetch_model('posenet', str(tmp_path), progress=False, entry=entry)
        assert path == str(tmp_path / 'posenet_small.pth.tar')
        with open(path, 'rb') as f:
            assert f.read() == posenet_bytes
        assert leftovers(tmp_path) == ['posenet_small.pth.tar']      # no temporary file left
        # present: used as it is, no second request
        assert store.fetch_model('posenet', str(tmp_path), progress=False, entry=entry) == path
        assert server.requests == ['/p.tar']
    ckpt = torch.load(path, weights_only=True)
    assert ckpt['epoch'] == 24


def test_second_source_used_when_first_fails(tmp_path, rootnet_bytes):
    entry = small_entry('rootnet', 'RootNet')
    with ModelServer() as server:
        server.routes['/ok'] = (200, rootnet_bytes, '')
        entry.sources = (server.url + '/missing', server.url + '/ok')
        path = store.fetch_model('rootnet', str(tmp_path), progress=False, entry=entry)
    assert osp.getsize(path) == len(rootnet_bytes)


def test_interrupted_download_leaves_nothing(tmp_path, posenet_bytes):
    entry = small_entry()
    with ModelServer() as server:
        server.routes['/p'] = (200, posenet_bytes, 'cut')
        entry.sources = (server.url + '/p',)
        with pytest.raises(PoseNetError) as e:
            store.fetch_model('posenet', str(tmp_path), progress=False, entry=entry)
    msg = str(e.value)
    assert 'interrupted' in msg and 'posenet_small.pth.tar' in msg
    assert str(tmp_path / 'posenet_small.pth.tar') in msg          # where to put it
    assert leftovers(tmp_path) == []


def test_wrong_file_is_removed_and_said(tmp_path):
    entry = small_entry()
    with ModelServer() as server:
        server.routes['/p'] = (200, b'<html>quota exceeded</html>' * 40, '')
        entry.sources = (server.url + '/p',)
        with pytest.raises(PoseNetError, match=r'weights_only=True.*was removed'):
            store.fetch_model('posenet', str(tmp_path), progress=False, entry=entry)
    assert leftovers(tmp_path) == []


def test_wrong_shapes_are_removed_and_said(tmp_path, posenet_bytes, rootnet_bytes):
    # a PoseNet with 8 depth bins served where one with 16 is expected, and a RootNet file
    entry = small_entry()
    entry.arch['depth_dim'] = 16
    with ModelServer() as server:
        server.routes['/p'] = (200, posenet_bytes, '')
        server.routes['/r'] = (200, rootnet_bytes, '')
        entry.sources = (server.url + '/p',)
        with pytest.raises(PoseNetError, match=r"head.final_layer.weight \(168, 256, 1, 1\) vs "
                                               r"\(336, 256, 1, 1\).*was removed"):
            store.fetch_model('posenet', str(tmp_path), progress=False, entry=entry)
        entry.arch['depth_dim'] = 8
        entry.sources = (server.url + '/r',)
        with pytest.raises(PoseNetError, match=r'do not fit PoseNet: .*missing'):
            store.fetch_model('posenet', str(tmp_path), progress=False, entry=entry)
    assert leftovers(tmp_path) == []


def test_checksum_mismatch_is_removed_and_said(tmp_path, posenet_bytes):
    entry = small_entry(sha256='0123abcd')
    with ModelServer() as server:
        server.routes['/p'] = (200, posenet_bytes, '')
        entry.sources = (server.url + '/p',)
        with pytest.raises(PoseNetError, match='checksum mismatch.*0123abcd.*was removed'):
            store.fetch_model('posenet', str(tmp_path), progress=False, entry=entry)
    assert leftovers(tmp_path) == []


def test_server_error_names_status_and_where_to_put_the_file(tmp_path):
    entry = small_entry()
    with ModelServer() as server:
        server.routes['/p'] = (503, b'busy', '')
        entry.sources = (server.url + '/p',)
        with pytest.raises(PoseNetError) as e:
            store.fetch_model('posenet', str(tmp_path), progress=False, entry=entry)
    msg = str(e.value)
    assert 'HTTP 503' in msg and 'put it at ' + str(tmp_path / 'posenet_small.pth.tar') in msg
    assert len(msg.splitlines()) == 1 and leftovers(tmp_path) == []


def test_no_network_is_one_line_with_file_source_and_place(tmp_path):
    entry = small_entry(sources=(refused_url(),))
    with pytest.raises(PoseNetError) as e:
        store.fetch_model('posenet', str(tmp_path), progress=False, entry=entry)
    msg = str(e.value)
    assert len(msg.splitlines()) == 1
    assert 'refused' in msg.lower() and entry.sources[0] in msg
    assert 'tool/fetch_models.py posenet --out DIR' in msg
    assert str(tmp_path / 'posenet_small.pth.tar') in msg
    assert leftovers(tmp_path) == []


def test_mirror_option_and_environment(tmp_path, monkeypatch, posenet_bytes):
    entry = small_entry(sources=(refused_url(),))     # the own source is unreachable
    with ModelServer() as server:
        server.routes['/lab/posenet_small.pth.tar'] = (200, posenet_bytes, '')
        path = store.fetch_model('posenet', str(tmp_path / 'a'), mirror=server.url + '/lab/',
                                 progress=False, entry=entry)
        assert osp.isfile(path)
        monkeypatch.setenv(store.MIRROR_ENV, server.url + '/lab')
        assert osp.isfile(store.fetch_model('posenet', str(tmp_path / 'b'), progress=False,
                                            entry=entry))
        assert server.requests == ['/lab/posenet_small.pth.tar'] * 2


def test_drive_confirmation_page_is_followed():
    page = ('<html><body><form id="download-form" action="https://drive.usercontent.google.com/'
            'download" method="get"><input type="hidden" name="id" value="ABC">'
            '<input type="hidden" name="export" value="download"><input type="hidden" '
            'name="confirm" value="t"><input type="hidden" name="uuid" value="u-1">'
            '<input type="submit" value="Download anyway"></form></body></html>')
    url = store.drive_confirm_url(page, store.drive_url('ABC'))
    assert url == ('https://drive.usercontent.google.com/download?id=ABC&export=download'
                   '&confirm=t&uuid=u-1')
    assert store.drive_confirm_url('<html>Quota exceeded</html>', store.drive_url('A')) is None


def test_resolve_model_keeps_files_and_fetches_names(tmp_path, monkeypatch):
    own = tmp_path / 'mine.pth.tar'
    own.write_bytes(b'x')
    assert store.resolve_model(str(own)) == str(own)
    calls = []
    monkeypatch.setattr(store, 'fetch_model', lambda *a, **k: calls.append(a) or 'fetched')
    assert store.resolve_model('rootnet', str(tmp_path)) == 'fetched'
    assert calls == [('rootnet', str(tmp_path), None, True)]
    with pytest.raises(PoseNetError, match="unknown model 'bogus'.*posenet, rootnet, detector"):
        store.model_path('bogus')


def test_pipeline_from_files_fetches_default_names(tmp_path, monkeypatch, posenet_bytes,
                                                   rootnet_bytes):
    import numpy as np

    from main.config import Config
    from main.pipeline import Pipeline
    monkeypatch.setattr(store, 'MODELS', {'posenet': small_entry('posenet', 'PoseNet'),
                                          'rootnet': small_entry('rootnet', 'RootNet')})
    cfg = Config(resnet_type=18, depth_dim=8, input_shape=(64, 64),
                 pretrained_backbone=False)
    with ModelServer() as server:
        server.routes['/m/posenet_small.pth.tar'] = (200, posenet_bytes, '')
        server.routes['/m/rootnet_small.pth.tar'] = (200, rootnet_bytes, '')
        monkeypatch.setenv(store.MIRROR_ENV, server.url + '/m')
        pipeline = Pipeline.from_files(cfg, 'posenet', 'rootnet', backend='torch',
                                       model_dir=str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == ['posenet_small.pth.tar', 'rootnet_small.pth.tar']
    assert pipeline.posenet.epoch == 24 and pipeline.rootnet is not None
    result = pipeline(np.full((120, 160, 3), 128, np.uint8), bbox=[[40, 10, 60, 100]])
    assert result['people'][0]['root_source'] == 'rootnet'
    assert np.asarray(result['people'][0]['pose_3d']).shape == (21, 3)


def test_unwritable_model_folder_is_one_line(tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_text('not a folder')
    with pytest.raises(PoseNetError, match=r'cannot create the model folder .*file/models .*'
                                           r'--model_dir or \$POSENET_MODEL_DIR'):
        store.fetch_model('posenet', str(blocker / 'models'), progress=False,
                          entry=small_entry(sources=(refused_url(),)))
