function draw_2Dskeleton(img, kpt_2d, skeleton, ax)
%DRAW_2DSKELETON  Show a photo with the 2D skeletons of all its people.
%   draw_2Dskeleton(img, kpt_2d, skeleton)
%   draw_2Dskeleton(img, kpt_2d, skeleton, ax)
%
%   img:      the photo as read by imread (H x W x 3, or H x W grey).
%   kpt_2d:   P x J x 2 joint positions in pixels, 0-based as exported by PoseNet
%             (preds_2d_kpt_*.mat); a single J x 2 person is accepted too.
%   skeleton: B x 2 joint indices of the bones, 1-based.
%   ax:       axes to draw into (default: the current axes).
%   Bone b has the colour b of the rainbow colormap, as in the Python drawings; people are
%   numbered 1..P above their highest joint.
if nargin < 4
    ax = gca;
end
if size(img, 3) == 1
    img = repmat(img, [1 1 3]);
end
if ndims(kpt_2d) == 2
    kpt_2d = reshape(kpt_2d, [1 size(kpt_2d)]);
end
colors = bone_colors(size(skeleton, 1));
image(ax, img);
axis(ax, 'image', 'off');
hold(ax, 'on');
for p = 1:size(kpt_2d, 1)
    % J x 2; + 1 because MATLAB puts the centre of the first pixel at (1, 1)
    pose = reshape(kpt_2d(p, :, :), [], 2) + 1;
    for b = 1:size(skeleton, 1)
        j = skeleton(b, :);
        plot(ax, pose(j, 1), pose(j, 2), '-o', 'Color', colors(b, :), 'LineWidth', 2, ...
             'MarkerSize', 4, 'MarkerFaceColor', colors(b, :));
    end
    [top, k] = min(pose(:, 2));
    text(ax, pose(k, 1), max(top - 15, 1), num2str(p), 'Color', 'w', ...
         'BackgroundColor', 'k', 'HorizontalAlignment', 'center');
end
hold(ax, 'off');
end

function colors = bone_colors(n)
% matplotlib's 'rainbow' at (0:n-1)/(n+1): the colours of common/utils/vis.py, as RGB in 0..1
t = (0:n-1)' / (n + 1);
colors = min(max([abs(2 * t - 0.5), sin(pi * t), cos(pi * t / 2)], 0), 1);
end
