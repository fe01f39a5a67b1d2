"""A local HTTP server on 127.0.0.1 for the download tests (no outside network), and tiny
ResNet-18 model files to serve."""
import http.server
import socket
import threading

import torch

from common.nets.posenet import get_pose_net
from common.nets.rootnet import get_root_net
from main.checkpoint import save_snapshot
from main.config import Config
from main.model_store import ModelEntry

SMALL = {'resnet_type': 18, 'joint_num': 21, 'depth_dim': 8}


def tiny_snapshot_bytes(network='PoseNet', depth_dim=8, path=None):
    """Bytes of a snapshot of a ResNet-18 PoseNet (21 joints, `depth_dim` bins) or RootNet in
    the original's format (written through `save_snapshot` into `path`)."""
    cfg = Config(resnet_type=18, pretrained_backbone=False, depth_dim=depth_dim)
    torch.manual_seed(0)
    model = get_pose_net(cfg, True, 21) if network == 'PoseNet' else get_root_net(cfg, True)
    save_snapshot(str(path), 24, model)
    with open(path, 'rb') as f:
        return f.read()


def small_entry(name='posenet', network='PoseNet', sha256=None, sources=()):
    """A table entry for the tiny networks (the shapes the checks expect)."""
    arch = dict(SMALL) if network == 'PoseNet' else {'resnet_type': 18}
    return ModelEntry(name, f'{name}_small.pth.tar', sources, network, arch, sha256,
                      origin='test')


class ModelServer:
    """Serves `routes`: path -> (status, body bytes, mode); mode 'cut' announces the whole
    length but closes the connection after half of the body."""

    def __init__(self):
        self.routes, self.requests = {}, []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(self.path)
                status, body, mode = server.routes.get(self.path, (404, b'not found', ''))
                self.send_response(status)
                self.send_header('Content-Type', 'application/octet-stream')
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body[:len(body) // 2] if mode == 'cut' else body)
                self.wfile.flush()
                if mode == 'cut':
                    self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = f'http://127.0.0.1:{self.httpd.server_address[1]}'
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def refused_url():
    """An address on 127.0.0.1 where nothing listens (connection refused: no network)."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    return f'http://127.0.0.1:{port}/model.pth.tar'

