function show_results(keys, img_files, file_2d, file_3d, out_dir)
%SHOW_RESULTS  One figure per image: the photo with everyone's 2D skeleton (left) beside
%everyone's 3D pose (right). Called by draw_3Dpose_coco and draw_3Dpose_mupots.
%   keys:      cell array of result keys (variable names in the .mat files), in drawing order.
%   img_files: cell array of the matching image files.
%   file_2d:   preds_2d_kpt_*.mat, one P x 17 x 2 variable (pixels) per key.
%   file_3d:   preds_3d_kpt_*.mat, one P x 17 x 3 variable (camera mm) per key.
%   out_dir:   '' to show each figure and wait for a key press, else the folder where each
%              figure is saved as <key>.png.
%   Keys without a result are skipped.
preds_2d = load_results(file_2d);
preds_3d = load_results(file_3d);
if ~isempty(out_dir) && ~exist(out_dir, 'dir')
    mkdir(out_dir);
end
% the 17 exported (MuPoTS) joints: Head_top Thorax R_Shoulder R_Elbow R_Wrist L_Shoulder
% L_Elbow L_Wrist R_Hip R_Knee R_Ankle L_Hip L_Knee L_Ankle Pelvis Spine Head.
% Bones as 0-based joint pairs (as in the Python code), + 1 for MATLAB.
skeleton = [0 16; 16 1; 1 15; 15 14; 14 8; 14 11; 8 9; 9 10; 11 12; 12 13; 1 2; 2 3; 3 4; ...
            1 5; 5 6; 6 7] + 1;
for i = 1:numel(keys)
    key = keys{i};
    if ~isfield(preds_2d, key) || ~isfield(preds_3d, key)
        continue;
    end
    img = imread(img_files{i});
    fig = figure('Name', key, 'Color', 'w', 'Position', [50 50 1400 600], ...
                 'Visible', on_off(isempty(out_dir)));
    draw_2Dskeleton(img, preds_2d.(key), skeleton, subplot(1, 2, 1));
    title(sprintf('%s: %d people', key, size(preds_2d.(key), 1)), 'Interpreter', 'none');
    draw_3Dskeleton(preds_3d.(key), skeleton, subplot(1, 2, 2));
    show_or_save(fig, out_dir, key);
end
end

function show_or_save(fig, out_dir, name)
if isempty(out_dir)
    disp([name ': press a key for the next figure (Ctrl+C stops)']);
    pause;
else
    print(fig, fullfile(out_dir, [name '.png']), '-dpng', '-r100');
end
if ishandle(fig)
    close(fig);
end
end

function preds = load_results(path)
if ~exist(path, 'file')
    error('show_results:missing', ...
          '%s not found: run main/test.py first, or pass its folder as result_dir', path);
end
preds = load(path);
end

function s = on_off(flag)
if flag
    s = 'on';
else
    s = 'off';
end
end
