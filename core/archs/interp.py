"""A small frame-interpolation network that refines classical bidirectional optical flow (RIFE/IFRNet
family, sized for a CPU).

    frame0, frame1 (B, 3, H, W) in [0, 1], flow01, flow10 (B, 2, H, W) in pixels (DIS),
    motion0, motion1 (B, 2, H, W): how far the pixels of frame 0 and of frame 1 move by time t
    (`core.video.interpolate.displacements`: straight-line, or quadratic where the frames just outside
    are known), t (B,) or (B, 1, 1, 1)
        ->  the frame at time t (B, 3, H, W)

The classical method's steps are done in the network, differentiably: intermediate flows from time t to
both frames (from the motions, by Super SloMo's rule), both frames warped, occlusions found by a
forward-backward check, and a visibility-weighted blend. A U-Net working at half resolution then
predicts corrections: to both intermediate flows, to the blend weights (as a logit added to the
classical one) and a residual picture. A few full-resolution layers then look at both frames warped by
the corrected flows and decide the blend and residual per pixel (a half-resolution mask cannot follow a
motion boundary, where most of the classical method's error lies). The last layers start at zero, so an
untrained network reproduces the classical result (up to the blend weights' clamp, 98 : 2 at most where
the classical method puts all on one frame) and training moves it from there.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from core.archs import register_arch

OCCLUSION_ALPHA = 0.01
OCCLUSION_BETA = 0.5
CONTEXT_CHANNELS = 8
LOGIT_LIMIT = 4.0


def backward_warp(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """image sampled at x + flow(x), bilinear, borders clamped (as cv2.remap with BORDER_REPLICATE).

    Always in float32, also under bfloat16 autocast: bfloat16 cannot tell pixel 300 from 301."""
    with torch.autocast(flow.device.type, enabled=False):
        return _warp(image.float(), flow.float())


def _warp(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    _, _, h, w = flow.shape
    ys, xs = torch.meshgrid(
        torch.arange(h, device=flow.device, dtype=flow.dtype),
        torch.arange(w, device=flow.device, dtype=flow.dtype),
        indexing="ij",
    )
    x = (xs + flow[:, 0]) * (2.0 / max(w - 1, 1)) - 1.0
    y = (ys + flow[:, 1]) * (2.0 / max(h - 1, 1)) - 1.0
    grid = torch.stack([x, y], dim=-1)
    return F.grid_sample(image, grid, mode="bilinear", padding_mode="border", align_corners=True)


def occlusion(forward: torch.Tensor, backward: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W): 1 where a pixel has no match in the other frame (forward-backward check), softened."""
    back = backward_warp(backward, forward)
    mismatch = ((forward + back) ** 2).sum(1, keepdim=True)
    scale = (forward**2).sum(1, keepdim=True) + (back**2).sum(1, keepdim=True)
    hard = (mismatch > OCCLUSION_ALPHA * scale + OCCLUSION_BETA).float()
    return F.avg_pool2d(hard, 5, stride=1, padding=2, count_include_pad=False)


def conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.PReLU(cout))


@register_arch("flow_refine_interp")
class FlowRefineInterp(nn.Module):
    def __init__(self, width: int = 32, fusion: int = 16):
        super().__init__()
        w = width
        self.enc1 = nn.Sequential(conv(23, w, 2), conv(w, w))  # 1/2
        self.enc2 = nn.Sequential(conv(w, 2 * w, 2), conv(2 * w, 2 * w))  # 1/4
        self.enc3 = nn.Sequential(conv(2 * w, 4 * w, 2), conv(4 * w, 4 * w), conv(4 * w, 4 * w))  # 1/8
        self.up3 = nn.ConvTranspose2d(4 * w, 2 * w, 4, 2, 1)
        self.dec2 = nn.Sequential(conv(4 * w, 2 * w), conv(2 * w, 2 * w))
        self.up2 = nn.ConvTranspose2d(2 * w, w, 4, 2, 1)
        self.dec1 = nn.Sequential(conv(2 * w, w), conv(w, w))
        self.head = nn.Conv2d(w, 8, 3, 1, 1)  # Δflow_t0 (2), Δflow_t1 (2), Δlogit (1), residual (3)
        self.context = nn.Conv2d(w, CONTEXT_CHANNELS, 3, 1, 1)  # what the U-Net tells the full-res stage
        # full resolution: both warped frames (6), the half-res blend (1) and context -> Δlogit, residual
        self.fuse = nn.Sequential(conv(7 + CONTEXT_CHANNELS, fusion), conv(fusion, fusion))
        self.fuse_head = nn.Conv2d(fusion, 4, 3, 1, 1)
        for last in (self.head, self.fuse_head):
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)

    def forward(
        self,
        frame0: torch.Tensor,
        frame1: torch.Tensor,
        flow01: torch.Tensor,
        flow10: torch.Tensor,
        motion0: torch.Tensor,
        motion1: torch.Tensor,
        t: torch.Tensor,
    ) -> torch.Tensor:
        h, w = frame0.shape[-2:]
        pad_h, pad_w = (-h) % 8, (-w) % 8
        if pad_h or pad_w:
            pad = (0, pad_w, 0, pad_h)
            frame0, frame1, flow01, flow10, motion0, motion1 = (
                F.pad(x, pad, mode="replicate") for x in (frame0, frame1, flow01, flow10, motion0, motion1)
            )
        t = t.view(-1, 1, 1, 1).to(frame0.dtype)
        # From time t back to each frame: the frame's own motion reversed, averaged with the other
        # frame's path (Super SloMo's rule, which straight-line motions reduce it to).
        ft0 = -(1 - t) * motion0 + t * (flow10 - motion1)
        ft1 = -t * motion1 + (1 - t) * (flow01 - motion0)
        curve0, curve1 = motion0 - t * flow01, motion1 - (1 - t) * flow10  # how far from a straight line
        warped0, warped1 = backward_warp(frame0, ft0), backward_warp(frame1, ft1)
        seen0 = 1.0 - backward_warp(occlusion(flow01, flow10), ft0)
        seen1 = 1.0 - backward_warp(occlusion(flow10, flow01), ft1)
        w0 = (1 - t) * seen0.clamp(0, 1) + 1e-4
        w1 = t * seen1.clamp(0, 1) + 1e-4
        # The classical weights put up to 1e4 : 1 on one frame where the other is occluded; as a logit
        # (±9) the sigmoid is flat there and no correction could be learned where the occlusion check
        # is wrong, which is where the classical method's error lies. Clamped at ±4 (98 : 2).
        logit = (torch.log(w0) - torch.log(w1)).clamp(-LOGIT_LIMIT, LOGIT_LIMIT)
        scale = 1.0 / 32.0  # flows enter the network in units of 32 pixels
        x = torch.cat(
            [
                *(frame0, frame1, warped0, warped1),
                *(ft0 * scale, ft1 * scale, curve0 * scale, curve1 * scale),
                *(seen0, seen1, t.expand_as(seen0)),
            ],
            1,
        )
        e1 = self.enc1(x)
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        d2 = self.dec2(torch.cat([self.up3(e3), e2], 1))
        d1 = self.dec1(torch.cat([self.up2(d2), e1], 1))
        out = F.interpolate(self.head(d1), scale_factor=2, mode="bilinear", align_corners=False)
        context = F.interpolate(self.context(d1), scale_factor=2, mode="bilinear", align_corners=False)
        ft0 = ft0 + out[:, 0:2] * 32.0
        ft1 = ft1 + out[:, 2:4] * 32.0
        warped0, warped1 = backward_warp(frame0, ft0), backward_warp(frame1, ft1)
        logit = logit + out[:, 4:5]
        mask = torch.sigmoid(logit)
        fine = self.fuse_head(self.fuse(torch.cat([warped0, warped1, mask, context.to(mask.dtype)], 1)))
        mask = torch.sigmoid(logit + fine[:, 0:1])
        result = mask * warped0 + (1 - mask) * warped1 + out[:, 5:8] + fine[:, 1:4]
        return result[..., :h, :w]
