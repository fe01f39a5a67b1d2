"""tool/fetch_models.py: --list, fetching into --out from a local server, mirror, failures."""
import os
import subprocess
import sys

import pytest

import main.model_store as store
import tool.fetch_models as fetch
from common.utils.errors import PoseNetError
from tests.model_server import ModelServer, refused_url, small_entry, tiny_snapshot_bytes

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def small_table(monkeypatch):
    """The table with tiny ResNet-18 models in place of the official ones."""
    table = {'posenet': small_entry('posenet', 'PoseNet'),
             'rootnet': small_entry('rootnet', 'RootNet')}
    monkeypatch.setattr(store, 'MODELS', table)
    monkeypatch.delenv(store.MIRROR_ENV, raising=False)
    return table


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp('srv')
    return {'posenet_small.pth.tar': tiny_snapshot_bytes('PoseNet', 8, folder / 'p'),
            'rootnet_small.pth.tar': tiny_snapshot_bytes('RootNet', path=folder / 'r')}


def test_list_prints_name_file_source_of_the_real_table():
    res = subprocess.run([sys.executable, 'tool/fetch_models.py', '--list'], cwd=REPO,
                         capture_output=True, text=True, timeout=120,
                         env={**os.environ, 'PYTHONPATH': REPO})
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert [line.split()[:2] for line in lines] == [
        ['posenet', 'posenet_muco_snapshot_24.pth.tar'],
        ['rootnet', 'rootnet_muco_snapshot_18.pth.tar'],
        ['detector', 'fasterrcnn_resnet50_fpn_v2_coco-dd69338a.pth']]
    assert all(len(line.split()) == 3 for line in lines)
    assert lines[2].split()[2] == ('https://download.pytorch.org/models/'
                                   'fasterrcnn_resnet50_fpn_v2_coco-dd69338a.pth')
    assert 'drive' in lines[0].split()[2]


def test_list_with_mirror_shows_mirror_addresses(small_table):
    assert fetch.main(['--list', '--mirror', 'http://lab.example/m/']) == [
        'posenet posenet_small.pth.tar http://lab.example/m/posenet_small.pth.tar',
        'rootnet rootnet_small.pth.tar http://lab.example/m/rootnet_small.pth.tar']


def test_fetch_all_into_out_then_keep(small_table, files, tmp_path, capsys):
    out = tmp_path / 'models'
    with ModelServer() as server:
        for name, body in files.items():
            server.routes['/' + name] = (200, body, '')
        small_table['posenet'].sources = (server.url + '/posenet_small.pth.tar',)
        small_table['rootnet'].sources = (server.url + '/rootnet_small.pth.tar',)
        paths = fetch.main(['--out', str(out), '--no_progress'])
        assert paths == {'posenet': str(out / 'posenet_small.pth.tar'),
                         'rootnet': str(out / 'rootnet_small.pth.tar')}
        assert sorted(os.listdir(out)) == sorted(files)
        assert 'fetched and checked' in capsys.readouterr().out
        fetch.main(['rootnet', '--out', str(out), '--no_progress'])     # kept, no download
        assert capsys.readouterr().out.strip() == (f"rootnet: {out / 'rootnet_small.pth.tar'} "
                                                   "(already there)")
        assert len(server.requests) == 2


def test_mirror_from_environment(small_table, files, tmp_path, monkeypatch):
    for entry in small_table.values():
        entry.sources = (refused_url(),)
    with ModelServer() as server:
        server.routes['/m/posenet_small.pth.tar'] = (200, files['posenet_small.pth.tar'], '')
        monkeypatch.setenv(store.MIRROR_ENV, server.url + '/m')
        fetch.main(['posenet', '--out', str(tmp_path), '--no_progress'])
    assert os.listdir(tmp_path) == ['posenet_small.pth.tar']


def test_a_failing_model_is_reported_and_not_left(small_table, files, tmp_path, capsys):
    with ModelServer() as server:
        server.routes['/p'] = (200, files['rootnet_small.pth.tar'], '')     # the wrong network
        server.routes['/r'] = (200, files['rootnet_small.pth.tar'], '')
        small_table['posenet'].sources = (server.url + '/p',)
        small_table['rootnet'].sources = (server.url + '/r',)
        with pytest.raises(PoseNetError, match=r'1 of 2 model\(s\) not fetched \(posenet\)'):
            fetch.main(['--out', str(tmp_path), '--no_progress'])
    err = capsys.readouterr().err
    assert 'do not fit PoseNet' in err and 'was removed' in err
    assert os.listdir(tmp_path) == ['rootnet_small.pth.tar']


def test_unknown_name_is_one_error_line(tmp_path):
    res = subprocess.run([sys.executable, 'tool/fetch_models.py', 'posenet', 'bogus', '--out',
                          str(tmp_path)], cwd=REPO, capture_output=True, text=True, timeout=120,
                         env={**os.environ, 'PYTHONPATH': REPO})
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        "error: unknown model 'bogus'; known models: posenet, rootnet, detector "
        "(python tool/fetch_models.py --list)"]
    assert os.listdir(tmp_path) == []
