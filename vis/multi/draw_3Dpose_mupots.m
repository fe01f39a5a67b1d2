function draw_3Dpose_mupots(result_dir, img_dir, name_file, out_dir)
%DRAW_3DPOSE_MUPOTS  MuPoTS-3D results, one figure per image: the photo with everyone's 2D
%skeleton beside everyone's 3D pose in camera space (mm, up is up).
%   draw_3Dpose_mupots
%   draw_3Dpose_mupots(result_dir, img_dir, name_file, out_dir)
%
%   result_dir: folder of preds_2d_kpt_mupots.mat and preds_3d_kpt_mupots.mat written by
%               main/test.py (default: <repository>/output/result).
%   img_dir:    MuPoTS-3D image root, MultiPersonTestSet
%               (default: <repository>/data/MuPoTS/data/MultiPersonTestSet).
%   name_file:  image list from "python vis/mupots_img_name.py", one "<TS number> <frame number>"
%               per line (default: <repository>/vis/mupots_img_name.txt).
%   out_dir:    if given and not empty, each figure is saved there as <key>.png without
%               being shown; otherwise each figure waits for a key press.
%   Images without a result (nobody found in them) are skipped.
root = fullfile(fileparts(mfilename('fullpath')), '..', '..');
if nargin < 1 || isempty(result_dir)
    result_dir = fullfile(root, 'output', 'result');
end
if nargin < 2 || isempty(img_dir)
    img_dir = fullfile(root, 'data', 'MuPoTS', 'data', 'MultiPersonTestSet');
end
if nargin < 3 || isempty(name_file)
    name_file = fullfile(root, 'vis', 'mupots_img_name.txt');
end
if nargin < 4
    out_dir = '';
end

fid = fopen(name_file, 'r');
if fid < 0
    error('draw_3Dpose_mupots:names', ...
          '%s not found: write it with python vis/mupots_img_name.py', name_file);
end
names = fscanf(fid, '%d %d', [2 Inf])';   % one row per image: TS number, frame number
fclose(fid);
keys = cell(size(names, 1), 1);
img_files = keys;
for i = 1:size(names, 1)
    keys{i} = sprintf('TS%d_img_%06d', names(i, 1), names(i, 2));
    img_files{i} = fullfile(img_dir, sprintf('TS%d', names(i, 1)), ...
                            sprintf('img_%06d.jpg', names(i, 2)));
end
show_results(keys, img_files, fullfile(result_dir, 'preds_2d_kpt_mupots.mat'), ...
             fullfile(result_dir, 'preds_3d_kpt_mupots.mat'), out_dir);
end
