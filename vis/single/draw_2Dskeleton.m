function draw_2Dskeleton(img, kpt_2d, skeleton, ax)
%DRAW_2DSKELETON  Show a photo with the 2D skeleton of one person.
%   draw_2Dskeleton(img, kpt_2d, skeleton)
%   draw_2Dskeleton(img, kpt_2d, skeleton, ax)
%
%   img:      the photo as read by imread (H x W x 3, or H x W grey).
%   kpt_2d:   J x 2 joint positions of one person in pixels, 0-based as exported by PoseNet
%             (one row of preds_2d_kpt_*.mat); 1 x J x 2 is accepted too.
%   skeleton: B x 2 joint indices of the bones, 1-based.
%   ax:       axes to draw into (default: the current axes).
%   Bone b has the colour b of the rainbow colormap, as in the Python drawings.
if nargin < 4
    ax = gca;
end
if size(img, 3) == 1
    img = repmat(img, [1 1 3]);
end
% J x 2; + 1 because MATLAB puts the centre of the first pixel at (1, 1)
pose = reshape(kpt_2d, [], 2) + 1;
colors = bone_colors(size(skeleton, 1));
image(ax, img);
axis(ax, 'image', 'off');
hold(ax, 'on');
for b = 1:size(skeleton, 1)
    j = skeleton(b, :);
    plot(ax, pose(j, 1), pose(j, 2), '-o', 'Color', colors(b, :), 'LineWidth', 2, ...
         'MarkerSize', 4, 'MarkerFaceColor', colors(b, :));
end
hold(ax, 'off');
end

function colors = bone_colors(n)
% matplotlib's 'rainbow' at (0:n-1)/(n+1): the colours of common/utils/vis.py, as RGB in 0..1
t = (0:n-1)' / (n + 1);
colors = min(max([abs(2 * t - 0.5), sin(pi * t), cos(pi * t / 2)], 0), 1);
end
