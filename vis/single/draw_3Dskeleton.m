function draw_3Dskeleton(kpt_3d, skeleton, ax)
%DRAW_3DSKELETON  3D view of one person in camera space (mm), up is up.
%   draw_3Dskeleton(kpt_3d, skeleton)
%   draw_3Dskeleton(kpt_3d, skeleton, ax)
%
%   kpt_3d:   J x 3 camera-space joints of one person in millimetres (one row of
%             preds_3d_kpt_*.mat: x right, y down, z away from the camera); 1 x J x 3 too.
%   skeleton: B x 2 joint indices of the bones, 1-based.
%   ax:       axes to draw into (default: the current axes).
%   The axes shown are (X, Z, -Y): depth goes away from the viewer and up is up; equal scale.
if nargin < 3
    ax = gca;
end
pose = reshape(kpt_3d, [], 3);   % J x 3
x = pose(:, 1);
y = pose(:, 3);
z = -pose(:, 2);
colors = bone_colors(size(skeleton, 1));
hold(ax, 'on');
for b = 1:size(skeleton, 1)
    j = skeleton(b, :);
    plot3(ax, x(j), y(j), z(j), '-o', 'Color', colors(b, :), 'LineWidth', 2, ...
          'MarkerSize', 4, 'MarkerFaceColor', colors(b, :));
end
hold(ax, 'off');
axis(ax, 'equal');
grid(ax, 'on');
xlabel(ax, 'X (mm)');
ylabel(ax, 'Z (mm)');
zlabel(ax, '-Y (mm)');
view(ax, 20, 15);
end

function colors = bone_colors(n)
% matplotlib's 'rainbow' at (0:n-1)/(n+1): the colours of common/utils/vis.py, as RGB in 0..1
t = (0:n-1)' / (n + 1);
colors = min(max([abs(2 * t - 0.5), sin(pi * t), cos(pi * t / 2)], 0), 1);
end
