function draw_3Dpose_coco(result_dir, img_dir, name_file, out_dir)
%DRAW_3DPOSE_COCO  MSCOCO val2017 results, one figure per image: the photo with everyone's 2D
%skeleton beside everyone's 3D pose in camera space (mm, up is up).
%   draw_3Dpose_coco
%   draw_3Dpose_coco(result_dir, img_dir, name_file, out_dir)
%
%   result_dir: folder of preds_2d_kpt_coco.mat and preds_3d_kpt_coco.mat written by
%               main/test.py (default: <repository>/output/result).
%   img_dir:    COCO val2017 images (default: <repository>/data/MSCOCO/images/val2017).
%   name_file:  image list from "python vis/coco_img_name.py", one coco_<stem> per line
%               (default: <repository>/vis/coco_img_name.txt).
%   out_dir:    if given and not empty, each figure is saved there as <key>.png without
%               being shown; otherwise each figure waits for a key press.
%   Images without a result (nobody found in them) are skipped.
root = fullfile(fileparts(mfilename('fullpath')), '..', '..');
if nargin < 1 || isempty(result_dir)
    result_dir = fullfile(root, 'output', 'result');
end
if nargin < 2 || isempty(img_dir)
    img_dir = fullfile(root, 'data', 'MSCOCO', 'images', 'val2017');
end
if nargin < 3 || isempty(name_file)
    name_file = fullfile(root, 'vis', 'coco_img_name.txt');
end
if nargin < 4
    out_dir = '';
end

fid = fopen(name_file, 'r');
if fid < 0
    error('draw_3Dpose_coco:names', '%s not found: write it with python vis/coco_img_name.py', ...
          name_file);
end
keys = textscan(fid, '%s');   % one key per line: coco_<stem>
fclose(fid);
keys = keys{1};
img_files = cell(size(keys));
for i = 1:numel(keys)
    img_files{i} = fullfile(img_dir, [keys{i}(numel('coco_') + 1:end) '.jpg']);
end
show_results(keys, img_files, fullfile(result_dir, 'preds_2d_kpt_coco.mat'), ...
             fullfile(result_dir, 'preds_3d_kpt_coco.mat'), out_dir);
end
