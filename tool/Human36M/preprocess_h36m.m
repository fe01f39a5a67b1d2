function preprocess_h36m(out_dir, subjects, overwrite)
%PREPROCESS_H36M  Human3.6M release -> frames + per-sequence metadata for convert_h36m.py.
%
%   preprocess_h36m(out_dir)                     all subjects 1 5 6 7 8 9 11
%   preprocess_h36m(out_dir, [9 11])             some subjects
%   preprocess_h36m(out_dir, subjects, true)     redo sequences that are already done
%
%   Needs the official Human3.6M MATLAB code (the release's "code" package) on the MATLAB path
%   and configured as its README says (data folder with the subjects' videos, poses and
%   metadata.xml), e.g.
%       addpath(genpath('/path/to/H36M/code')); preprocess_h36m('data/Human36M/images')
%
%   For every sequence (subject, action 2..16, subaction 1..2, camera 1..4) it writes, in
%   <out_dir>/s_%02d_act_%02d_subact_%02d_ca_%02d/ (the sequence folder):
%     <folder>_%06d.jpg    every video frame, numbered from 1
%     h36m_meta.mat        pose3d_world  N x 17 x 3  world joints, mm (row n = frame n)
%                          R             3 x 3       the camera's rotation (world -> camera)
%                          T             1 x 3       the camera centre in world coordinates, mm
%                          f, c          1 x 2       focal length, principal point, px
%                          img_width, img_height     frame size, px
%   Human3.6M's camera convention is X_cam = R * (X_world - T); convert_h36m.py turns it into
%   the loader's X_cam = R * X_world + t with t = -R * T. The 17 joints are the usual subset of
%   Human3.6M's 32 (Pelvis, R_Hip, R_Knee, R_Ankle, L_Hip, L_Knee, L_Ankle, Torso, Neck, Nose,
%   Head, L_Shoulder, L_Elbow, L_Wrist, R_Shoulder, R_Elbow, R_Wrist).
%   s_11_act_02_subact_02_ca_01 is skipped (its video is broken). A sequence whose
%   h36m_meta.mat exists is skipped unless overwrite is true, so an interrupted run resumes;
%   h36m_meta.mat is written last, after all of that sequence's frames.
%
%   Then, from the repository root:
%       python tool/Human36M/convert_h36m.py --meta_dir data/Human36M/images \
%           --out_dir data/Human36M/annotations

if nargin < 1 || isempty(out_dir), out_dir = fullfile('data', 'Human36M', 'images'); end
if nargin < 2 || isempty(subjects), subjects = [1 5 6 7 8 9 11]; end
if nargin < 3 || isempty(overwrite), overwrite = false; end

% 1-based indices of the 17 joints among Human3.6M's 32
joints17 = [1 2 3 4 7 8 9 13 14 15 16 18 19 20 26 27 28];
skip = {'s_11_act_02_subact_02_ca_01'};

for subject = subjects
    for action = 2:16
        for subaction = 1:2
            for camera = 1:4
                folder = sprintf('s_%02d_act_%02d_subact_%02d_ca_%02d', subject, action, ...
                                 subaction, camera);
                meta_path = fullfile(out_dir, folder, 'h36m_meta.mat');
                if any(strcmp(folder, skip)) || (~overwrite && exist(meta_path, 'file'))
                    continue;
                end
                fprintf('%s\n', folder);
                process_sequence(out_dir, folder, subject, action, subaction, camera, joints17);
            end
        end
    end
end
end


function process_sequence(out_dir, folder, subject, action, subaction, camera, joints17)
seq = open_sequence(subject, action, subaction, camera);

% world joints: the feature gives one row per frame, [x1 y1 z1 x2 y2 z2 ...] over 32 joints
F = H36MComputeFeatures(seq, {H36MPose3DPositionsFeature()});
world = F{1};
num_pose = size(world, 1);
world = permute(reshape(world', 3, 32, num_pose), [3 2 1]);   % N x 32 x 3
world = world(:, joints17, :);                                 % N x 17 x 3

cam = seq.getCamera();
R = double(cam.R);
T = reshape(double(cam.T), 1, 3);
f = reshape(double(cam.f), 1, 2);
c = reshape(double(cam.c), 1, 2);
check_camera(seq, world, R, T, joints17, folder);

% frames, numbered from 1
video = H36MRGBVideoFeature().serializer(seq);
num_frames = min(num_pose, seq.NumFrames);
folder_path = fullfile(out_dir, folder);
if ~exist(folder_path, 'dir'), mkdir(folder_path); end
img_width = 0; img_height = 0;
for n = 1:num_frames
    im = video.getFrame(n);
    if n == 1
        img_height = size(im, 1);
        img_width = size(im, 2);
    end
    imwrite(im, fullfile(folder_path, sprintf('%s_%06d.jpg', folder, n)));
end

pose3d_world = world(1:num_frames, :, :);
% written last (and through a temporary name) so that a complete file means a complete sequence
tmp = fullfile(folder_path, 'h36m_meta_tmp.mat');
save(tmp, 'pose3d_world', 'R', 'T', 'f', 'c', 'img_width', 'img_height', '-v7');
movefile(tmp, fullfile(folder_path, 'h36m_meta.mat'), 'f');
end


function seq = open_sequence(subject, action, subaction, camera)
% H36MSequence takes a frame selection as 5th argument in some releases (-1 = all frames).
try
    seq = H36MSequence(subject, action, subaction, camera, -1);
catch
    seq = H36MSequence(subject, action, subaction, camera);
end
end


function check_camera(seq, world, R, T, joints17, folder)
% Sanity checks of the camera convention X_cam = R * (X_world - T) on this sequence:
% every joint in front of the camera, and (when the release offers camera-space positions,
% 'Monocular') the same camera-space joints as the release computes.
n = size(world, 1);
X = reshape(world, n * 17, 3);
Xc = bsxfun(@minus, X, T) * R';
if any(Xc(:, 3) <= 0)
    warning('preprocess_h36m:camera', '%s: joints behind the camera; check R and T', folder);
end
try
    Fm = H36MComputeFeatures(seq, {H36MPose3DPositionsFeature('Monocular', true)});
    mono = permute(reshape(Fm{1}', 3, 32, size(Fm{1}, 1)), [3 2 1]);
    mono = reshape(mono(1:n, joints17, :), n * 17, 3);
    dev = max(abs(mono(:) - Xc(:)));
    if dev > 1
        warning('preprocess_h36m:camera', ['%s: R * (X_world - T) differs from the ' ...
                'release''s camera-space joints by %.3f mm'], folder, dev);
    end
catch
    % this release has no 'Monocular' option: only the depth check above applies
end
end
