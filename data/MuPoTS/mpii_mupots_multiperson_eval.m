function results = mpii_mupots_multiperson_eval(eval_mode, is_relative, gt_dir, pred_dir, out_dir)
%MPII_MUPOTS_MULTIPERSON_EVAL  MuPoTS-3D 3DPCK / AUC of PoseNet's exported predictions.
%
%   results = mpii_mupots_multiperson_eval(eval_mode, is_relative)
%   results = mpii_mupots_multiperson_eval(eval_mode, is_relative, gt_dir, pred_dir, out_dir)
%
%   For users of the official MuPoTS-3D evaluation kit: copy this file and the two prediction
%   files written by `python main/test.py` with testset MuPoTS,
%       preds_2d_kpt_mupots.mat   one variable per image, TS<n>_img_<frame:06d>,
%                                 persons x 17 x 2, image pixels
%       preds_3d_kpt_mupots.mat   the same keys, persons x 17 x 3, camera millimetres
%   into the kit's folder (the one holding MultiPersonTestSet/) and run, for example,
%       mpii_mupots_multiperson_eval('all', 1)       % all annotated people, root-relative
%       mpii_mupots_multiperson_eval('matched', 0)   % only matched people, absolute
%   It reads the kit's ground truth, MultiPersonTestSet/TS<n>/annot.mat and occlusion.mat, and
%   gives the same numbers as data/MuPoTS/mupots_eval.py (the Python evaluator, no MATLAB).
%
%   eval_mode   'all' (or 'all_annotated', or 0): every annotated person; a person without a
%               matching prediction has all joints wrong.
%               'matched' (or 'only_matched', or 1): only people with a matching prediction.
%   is_relative 1 (default): root-relative 3D (pelvis, joint 15, subtracted from both);
%               0: absolute camera-space 3D.
%   gt_dir      the kit's MultiPersonTestSet folder (default './MultiPersonTestSet').
%   pred_dir    folder with the two prediction files (default '.').
%   out_dir     folder for the CSV files (default pred_dir).
%
%   Procedure, per frame: the people with isValidFrame set are the ground truth; each ground
%   truth person in turn takes the not yet taken prediction with the most joints 2..14 visible
%   (every ground-truth joint counts as visible, as in the official kit; a predicted joint at
%   exactly (0,0) is invisible) whose |dx| and |dy| are both below 40 px (best positive count,
%   ties to the lowest index). 3D ground truth = univ_annot3. Matched predictions get the ground
%   truth's bone lengths, walking the skeleton from the pelvis (a zero-length predicted bone
%   gives NaN below it, as in the kit: wrong at every threshold). A joint is correct when its
%   error is strictly below the threshold: 3DPCK at 150 mm, AUC = mean over 0:5:150 mm, over
%   joints 1..14 by joint group and in total, per sequence, mean over sequences and pooled over
%   all people, for all / visible / occluded joints; the visible / occluded 3DPCK counts an
%   error of exactly 150 mm as correct (the kit computes those tables as 1 - mean(error > 150),
%   NaN counting as wrong).
%   Writes <prefix>_multiperson_3dhp_evaluation_sequencewise[_visible|_occluded].csv, prefix
%   mupots_<all|matched>_<relative|absolute>, and returns the numbers as a struct.

if nargin < 1 || isempty(eval_mode), eval_mode = 'all'; end
if nargin < 2 || isempty(is_relative), is_relative = 1; end
if nargin < 3 || isempty(gt_dir), gt_dir = fullfile('.', 'MultiPersonTestSet'); end
if nargin < 4 || isempty(pred_dir), pred_dir = '.'; end
if nargin < 5 || isempty(out_dir), out_dir = pred_dir; end
people_mode = parse_mode(eval_mode);
is_relative = logical(is_relative);

pred2d_path = fullfile(pred_dir, 'preds_2d_kpt_mupots.mat');
pred3d_path = fullfile(pred_dir, 'preds_3d_kpt_mupots.mat');
if ~exist(pred2d_path, 'file') || ~exist(pred3d_path, 'file')
    error('mupots:missing', ['prediction files not found in %s: run main/test.py with ' ...
          'testset MuPoTS and copy preds_2d_kpt_mupots.mat and preds_3d_kpt_mupots.mat'], pred_dir);
end
preds2d = load(pred2d_path);
preds3d = load(pred3d_path);

seq_nums = list_sequences(gt_dir);
group_names = {'head', 'neck', 'shoulders', 'elbows', 'wrists', 'hips', 'knees', 'ankles', 'total'};
subsets = {'all', 'visible', 'occluded'};
num_seq = numel(seq_nums);
% pck / auc: sequences x groups x subsets; counts: sequences x subsets
pck = nan(num_seq, numel(group_names), 3);
auc = nan(num_seq, numel(group_names), 3);
num_people = zeros(num_seq, 1);
num_joints = zeros(num_seq, 3);
all_err = zeros(0, 17);
all_occ = false(0, 17);

for s = 1:num_seq
    ts = seq_nums(s);
    [err, occ] = evaluate_sequence(gt_dir, ts, preds2d, preds3d, people_mode, is_relative);
    num_people(s) = size(err, 1);
    masks = subset_masks(occ);
    for m = 1:3
        [pck(s, :, m), auc(s, :, m), num_joints(s, m)] = group_metrics(err, masks{m}, m > 1);
    end
    all_err = [all_err; err]; %#ok<AGROW>
    all_occ = [all_occ; occ]; %#ok<AGROW>
end

% mean over sequences (ignoring sequences without such joints) and pooled over all people
mean_pck = zeros(numel(group_names), 3);
mean_auc = zeros(numel(group_names), 3);
pooled_pck = zeros(numel(group_names), 3);
pooled_auc = zeros(numel(group_names), 3);
pooled_joints = zeros(1, 3);
masks = subset_masks(all_occ);
for m = 1:3
    mean_pck(:, m) = nan_mean(pck(:, :, m))';
    mean_auc(:, m) = nan_mean(auc(:, :, m))';
    [pooled_pck(:, m), pooled_auc(:, m), pooled_joints(m)] = group_metrics(all_err, masks{m}, ...
                                                                           m > 1);
end

% table
if is_relative, kind = 'relative'; else, kind = 'absolute'; end
if strcmp(people_mode, 'all'), who_text = 'all annotated'; else, who_text = 'only matched'; end
fprintf('MuPoTS-3D evaluation (%s 3D, %s people): 3DPCK@150mm / AUC in %%\n', kind, who_text);
fprintf('%9s %6s | %6s %6s | %6s %6s | %6s %6s\n', 'sequence', 'people', 'PCK', 'AUC', ...
        'PCKvis', 'AUCvis', 'PCKocc', 'AUCocc');
for s = 1:num_seq
    fprintf('%9s %6d | %6.2f %6.2f | %6.2f %6.2f | %6.2f %6.2f\n', sprintf('TS%d', seq_nums(s)), ...
            num_people(s), squeeze([pck(s, end, :), auc(s, end, :)]));
end
fprintf('%9s %6d | %6.2f %6.2f | %6.2f %6.2f | %6.2f %6.2f\n', 'mean', sum(num_people), ...
        [mean_pck(end, :); mean_auc(end, :)]);
fprintf('%9s %6d | %6.2f %6.2f | %6.2f %6.2f | %6.2f %6.2f\n', 'pooled', sum(num_people), ...
        [pooled_pck(end, :); pooled_auc(end, :)]);
fprintf('%9s', '3DPCK'); fprintf(' %9s', group_names{:}); fprintf('\n');
fprintf('%9s', 'mean'); fprintf(' %9.2f', mean_pck(:, 1)); fprintf('\n');
fprintf('%9s', 'pooled'); fprintf(' %9.2f', pooled_pck(:, 1)); fprintf('\n');

% CSV files, one per joint subset
if ~exist(out_dir, 'dir'), mkdir(out_dir); end
prefix = sprintf('mupots_%s_%s', people_mode, kind);
files = cell(1, 3);
for m = 1:3
    suffix = '';
    if m > 1, suffix = ['_' subsets{m}]; end
    csv_path = fullfile(out_dir, [prefix '_multiperson_3dhp_evaluation_sequencewise' ...
                                  suffix '.csv']);
    labels = [arrayfun(@(n) sprintf('TS%d', n), seq_nums(:)', 'UniformOutput', false), ...
              {'mean', 'pooled'}];
    people = [num_people; sum(num_people); sum(num_people)];
    joints = [num_joints(:, m); sum(num_joints(:, m)); pooled_joints(m)];
    values = [pck(:, :, m), auc(:, :, m); mean_pck(:, m)', mean_auc(:, m)'; ...
              pooled_pck(:, m)', pooled_auc(:, m)'];
    write_csv(csv_path, group_names, labels, people, joints, values);
    files{m} = csv_path;
end

results = struct('mode', people_mode, 'is_relative', is_relative, 'pck', mean_pck(end, 1), ...
                 'auc', mean_auc(end, 1), 'pck_pooled', pooled_pck(end, 1), ...
                 'auc_pooled', pooled_auc(end, 1), 'sequences', seq_nums, ...
                 'group_names', {group_names}, 'subsets', {subsets}, ...
                 'sequence_pck', pck, 'sequence_auc', auc, 'mean_pck', mean_pck, ...
                 'mean_auc', mean_auc, 'pooled_pck', pooled_pck, 'pooled_auc', pooled_auc, ...
                 'files', {files});
end


% ------------------------------------------------------------------------------------------
function people_mode = parse_mode(eval_mode)
% 'all' | 'matched' from a string or 0 (all annotated) / 1 (only matched).
if isnumeric(eval_mode) || islogical(eval_mode)
    if eval_mode == 0, people_mode = 'all'; else, people_mode = 'matched'; end
    return;
end
switch lower(eval_mode)
    case {'all', 'all_annotated'}
        people_mode = 'all';
    case {'matched', 'only_matched'}
        people_mode = 'matched';
    otherwise
        error('mupots:mode', 'eval_mode ''%s'': use ''all'' or ''matched''', eval_mode);
end
end


function nums = list_sequences(gt_dir)
% Sorted n of the TS<n> folders of gt_dir that hold annot.mat.
entries = dir(fullfile(gt_dir, 'TS*'));
nums = [];
for e = 1:numel(entries)
    n = sscanf(entries(e).name, 'TS%d');
    if entries(e).isdir && numel(n) == 1 && strcmp(entries(e).name, sprintf('TS%d', n)) && ...
            exist(fullfile(gt_dir, entries(e).name, 'annot.mat'), 'file')
        nums(end + 1) = n; %#ok<AGROW>
    end
end
if isempty(nums)
    error('mupots:gt', 'no TS<n>/annot.mat in %s: pass the kit''s MultiPersonTestSet folder', ...
          gt_dir);
end
nums = sort(nums);
end


function [err, occ] = evaluate_sequence(gt_dir, ts, preds2d, preds3d, people_mode, is_relative)
% Per-joint errors (people x 17, mm; Inf = unmatched) and occlusion flags of one sequence.
folder = fullfile(gt_dir, sprintf('TS%d', ts));
A = load(fullfile(folder, 'annot.mat'));
O = load(fullfile(folder, 'occlusion.mat'));
annotations = A.annotations;
occlusions = O.occlusion_labels;
err = zeros(0, 17);
occ = false(0, 17);
for i = 1:size(annotations, 1)
    gt2 = zeros(0, 17, 2); gt3 = zeros(0, 17, 3); gt_occ = false(0, 17);
    for k = 1:size(annotations, 2)
        a = annotations{i, k};
        if isempty(a) || ~any(a.isValidFrame(:))
            continue;
        end
        gt2(end + 1, :, :) = reshape(double(a.annot2)', [1 17 2]);
        gt3(end + 1, :, :) = reshape(double(a.univ_annot3)', [1 17 3]);
        labels = occlusions{i, k};
        if isempty(labels), labels = zeros(1, 17); end
        gt_occ(end + 1, :) = reshape(labels, 1, 17) ~= 0;
    end
    if isempty(gt_occ), continue; end
    key = sprintf('TS%d_img_%06d', ts, i - 1);
    if isfield(preds2d, key)
        p2 = reshape(double(preds2d.(key)), [], 17, 2);
        p3 = reshape(double(preds3d.(key)), [], 17, 3);
    else
        p2 = zeros(0, 17, 2); p3 = zeros(0, 17, 3);
    end
    matching = match_people(gt2, p2);
    for g = 1:size(gt2, 1)
        if matching(g) == 0 && strcmp(people_mode, 'matched')
            continue;
        end
        e = inf(1, 17);
        if matching(g) > 0
            P = reshape(p3(matching(g), :, :), 17, 3);
            G = reshape(gt3(g, :, :), 17, 3);
            if is_relative
                P = P - repmat(P(15, :), 17, 1);
                G = G - repmat(G(15, :), 17, 1);
            end
            P = rescale_bones(P, G);
            e = sqrt(sum((P - G) .^ 2, 2))';
        end
        err(end + 1, :) = e; %#ok<AGROW>
        occ(end + 1, :) = gt_occ(g, :); %#ok<AGROW>
    end
end
end


function matching = match_people(gt2, p2)
% Index of the prediction matched to each ground-truth person (0 = none).
joints = 2:14;
thresh = 40;
G = size(gt2, 1); P = size(p2, 1);
matching = zeros(G, 1);
taken = false(P, 1);
for g = 1:G
    a = reshape(gt2(g, joints, :), numel(joints), 2);
    best = 0; best_score = 0;
    for p = 1:P
        if taken(p), continue; end
        b = reshape(p2(p, joints, :), numel(joints), 2);
        visible = any(b ~= 0, 2);    % the kit: every ground-truth joint is visible
        near = all(abs(a - b) < thresh, 2);
        score = sum(visible & near);
        if score > best_score       % strict: ties keep the lowest index
            best = p; best_score = score;
        end
    end
    if best > 0
        matching(g) = best;
        taken(best) = true;
    end
end
end


function out = rescale_bones(P, G)
% P, G: 17 x 3 mm. Each joint = rescaled parent + predicted bone direction x gt bone length.
parents = [2 16 2 3 4 2 6 7 15 9 10 15 12 13 15 15 2];
order = [16 2 1 17 3 4 5 6 7 8 9 10 11 12 13 14];
out = P;
for j = order
    p = parents(j);
    bone = P(j, :) - P(p, :);
    % the kit's arithmetic: a zero-length bone gives NaN (0 * Inf) here and below
    bone = bone * (norm(G(j, :) - G(p, :)) / norm(bone));
    out(j, :) = out(p, :) + bone;
end
end


function masks = subset_masks(occ)
masks = {true(size(occ)), ~occ, occ};
end


function [pck, auc, count] = group_metrics(err, mask, inclusive)
% 3DPCK@150 and AUC over 0:5:150 (percent) per joint group and total, of masked joints 1..14.
% inclusive (visible / occluded tables): 3DPCK = 1 - mean(error > 150) with NaN as wrong.
groups = {1, 2, [3 6], [4 7], [5 8], [9 12], [10 13], [11 14], 1:14};
thresholds = 0:5:150;
pck = nan(1, numel(groups));
auc = nan(1, numel(groups));
for gi = 1:numel(groups)
    e = err(:, groups{gi});
    e = e(mask(:, groups{gi}));
    if isempty(e), continue; end
    if inclusive
        f = e; f(isnan(f)) = 160;
        pck(gi) = 100 * (1 - mean(f > 150));
    else
        pck(gi) = 100 * mean(e < 150);
    end
    frac = zeros(1, numel(thresholds));
    for t = 1:numel(thresholds)
        frac(t) = mean(e < thresholds(t));
    end
    auc(gi) = 100 * mean(frac);
end
m = mask(:, 1:14);
count = sum(m(:));
end


function v = nan_mean(x)
% Column means of x ignoring NaN (NaN when a column has no number).
v = nan(1, size(x, 2));
for c = 1:size(x, 2)
    col = x(~isnan(x(:, c)), c);
    if ~isempty(col), v(c) = mean(col); end
end
end


function write_csv(csv_path, group_names, labels, people, joints, values)
% Write the sequence-wise table atomically (temporary file, then move).
tmp = [csv_path '.tmp'];
fid = fopen(tmp, 'w');
if fid < 0, error('mupots:write', 'cannot write %s', tmp); end
fprintf(fid, 'sequence,people,joints');
fprintf(fid, ',pck_%s', group_names{:});
fprintf(fid, ',auc_%s', group_names{:});
fprintf(fid, '\n');
for r = 1:numel(labels)
    fprintf(fid, '%s,%d,%d', labels{r}, people(r), joints(r));
    fprintf(fid, ',%.4f', values(r, :));
    fprintf(fid, '\n');
end
fclose(fid);
movefile(tmp, csv_path, 'f');
end
