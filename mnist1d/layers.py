"""Layers that hold N independent copies, and the activation-plus-pooling step
of chapter 3.

Every parameter has a leading *copy* dimension of size M; copy m uses only its
own slice. Signals are channels-last, ``(M, B, length, channels)``, so that a
convolution is one batched matrix product over all copies.

The two autograd Functions here exist for speed on a CPU, where these small
models are bound by memory traffic rather than arithmetic: their backward
passes write each gradient once, in the layout the next product wants, instead
of autograd's chains of zero-fills, copies and strided element-wise operations.
``tests/test_models.py`` checks both against ``torch.nn`` and with
``gradcheck``.
"""

import math

import torch
from torch import nn

__all__ = ["StackedLinear", "StackedConv1d", "relu_pool", "POOLINGS"]


def uniform_(t, bound, generators):
    """Fill t[m] from generators[m]: copy m's initial values depend only on its
    own seed.
    """
    with torch.no_grad():
        for m, g in enumerate(generators):
            t[m].copy_(torch.rand(t[m].shape, generator=g) * 2 * bound - bound)


class StackedLinear(nn.Module):
    """``n_models`` independent ``Linear(d_in, d_out)`` layers: (M, B, d_in) ->
    (M, B, d_out).
    """

    def __init__(self, n_models, d_in, d_out):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_models, d_in, d_out))
        self.bias = nn.Parameter(torch.empty(n_models, 1, d_out))
        self.fan_in = d_in

    def reset_parameters(self, generators):
        # PyTorch's default for Linear and Conv1d: U(-1/sqrt(fan_in),
        # 1/sqrt(fan_in)).
        for p in (self.weight, self.bias):
            uniform_(p, 1 / math.sqrt(self.fan_in), generators)

    def forward(self, x):
        return torch.baddbmm(self.bias, x, self.weight)


def _out_length(length, kernel, stride, padding):
    return (length + 2 * padding - kernel) // stride + 1


def _patches(x, kernel, stride, padding):
    """(M, B, L, C) -> (M, B, L_out, kernel * C): each output position's input
    window, tap-major.
    """
    m, b, length, c = x.shape
    n_out = _out_length(length, kernel, stride, padding)
    span = stride * (n_out - 1) + 1
    xp = x.new_zeros(m, b, length + 2 * padding, c)
    xp[:, :, padding : padding + length] = x
    return torch.cat(
        [xp[:, :, j : j + span : stride] for j in range(kernel)], dim=-1
    )


class _Conv1d(torch.autograd.Function):
    """Patches times weights. Autograd's own backward would (1) multiply by the
    weights through a transposed view, 30% slower than by a contiguous
    transposed copy, and (2) zero-fill, copy and sum a full-size gradient per
    tap, where this one adds every tap's gradient into one zeroed buffer."""

    @staticmethod
    def forward(ctx, x, weight, bias, kernel, stride, padding):
        m, b, _, c = x.shape
        patches = _patches(x, kernel, stride, padding)
        n_out = patches.shape[2]
        patches = patches.view(m, b * n_out, kernel * c)
        ctx.save_for_backward(patches, weight)
        ctx.args = x.shape, kernel, stride, padding, n_out
        return torch.baddbmm(bias, patches, weight).view(m, b, n_out, -1)

    @staticmethod
    def backward(ctx, grad):
        patches, weight = ctx.saved_tensors
        (m, b, length, c), kernel, stride, padding, n_out = ctx.args
        grad = grad.reshape(m, b * n_out, -1)
        d_weight = torch.bmm(patches.transpose(1, 2), grad)
        d_bias = grad.sum(1, keepdim=True)
        d_x = None
        if ctx.needs_input_grad[0]:
            d_patches = torch.bmm(
                grad, weight.transpose(1, 2).contiguous()
            ).view(m, b, n_out, kernel * c)
            span = stride * (n_out - 1) + 1
            gp = grad.new_zeros(m, b, length + 2 * padding, c)
            for j in range(kernel):
                gp[:, :, j : j + span : stride] += d_patches[
                    ..., j * c : (j + 1) * c
                ]
            d_x = gp[:, :, padding : padding + length]
        return d_x, d_weight, d_bias, None, None, None


class StackedConv1d(StackedLinear):
    """``n_models`` independent ``Conv1d(c_in, c_out, kernel, stride,
    padding)`` layers.

    Signals are channels-last, (M, B, length, c_in) -> (M, B, length_out,
    c_out). The convolution is a matrix product with the signal's patches
    (tap-major: weight row ``j * c_in + c`` multiplies tap j of channel c), one
    batched product for all copies.
    """

    def __init__(self, n_models, c_in, c_out, kernel, stride=1, padding=0):
        super().__init__(n_models, c_in * kernel, c_out)
        self.kernel, self.stride, self.padding = kernel, stride, padding

    def out_length(self, length):
        return _out_length(length, self.kernel, self.stride, self.padding)

    def forward(self, x):
        return _Conv1d.apply(
            x, self.weight, self.bias, self.kernel, self.stride, self.padding
        )


POOLINGS = ("max", "avg", "l2")


class _ReluPool(torch.autograd.Function):
    """ReLU, then a reduction over windows of 2 positions, as one step each
    way.

    Written out by hand because autograd's versions are slow on channels-last
    signals: ``amax`` over a window axis is backpropagated through comparisons,
    counts and divisions at full size, and ``F.max_pool1d`` wants
    channels-first. Max pooling also commutes with ReLU (both keep order), so
    it takes the maximum first and applies ReLU to half as many numbers.
    """

    @staticmethod
    def forward(ctx, h, kind):
        m, b, length, c = h.shape
        if kind == "max":
            w = h.view(m, b, length // 2, 2, c)
            first, second = w[:, :, :, 0], w[:, :, :, 1]
            out = torch.maximum(first, second).clamp_min_(0)
            # Ties go to the first, as in max_pool1d. A float mask multiplies
            # fastest.
            ctx.save_for_backward(out, (first >= second).float())
        else:
            r = h.clamp_min(0)
            w = (r if kind == "avg" else r * r).view(m, b, length // 2, 2, c)
            out = torch.add(w[:, :, :, 0], w[:, :, :, 1])
            # l2: as F.lp_pool1d(norm_type=2)
            out = out.mul_(0.5) if kind == "avg" else out.sqrt_()
            ctx.save_for_backward(out, r)
        ctx.kind = kind
        return out

    @staticmethod
    def backward(ctx, grad):
        # threshold_backward(g, v, 0) is ReLU's own backward, "g where v > 0,
        # else 0", and
        # far faster here than torch.where.
        out, saved = ctx.saved_tensors
        m, b, half, c = out.shape
        if ctx.kind == "max":
            g = torch.ops.aten.threshold_backward(grad, out, 0)
            d_h = grad.new_empty(m, b, half, 2, c)
            torch.mul(g, saved, out=d_h[:, :, :, 0])
            torch.sub(g, d_h[:, :, :, 0], out=d_h[:, :, :, 1])
        elif ctx.kind == "avg":
            g = 0.5 * grad
            d_h = torch.ops.aten.threshold_backward(
                torch.stack([g, g], 3), saved.view(m, b, half, 2, c), 0
            )
        # d out / d r = r / out, and zero where the whole window is zero, as in
        # lp_pool1d
        else:
            g = torch.ops.aten.threshold_backward(grad / out, out, 0)
            d_h = torch.mul(saved.view(m, b, half, 2, c), g.unsqueeze(3))
        return d_h.view(m, b, 2 * half, c), None


def relu_pool(h, kind):
    """ReLU, then pooling over windows of 2 positions (stride 2).

    Parameters
    ----------
    h : torch.Tensor, (M, B, L, C)
        Channels-last signals; L even.
    kind : {"max", "avg", "l2"}
        Max, mean, or L2 norm (``F.lp_pool1d`` with norm 2) of each window.

    Returns
    -------
    torch.Tensor, (M, B, L // 2, C)
    """
    if kind not in POOLINGS:
        raise ValueError(f"kind must be one of {POOLINGS}, got {kind!r}")
    if h.dim() != 4 or h.shape[2] % 2:
        raise ValueError(
            f"h must be (M, B, L, C) with L even, got {tuple(h.shape)}"
        )
    return _ReluPool.apply(h.contiguous(), kind)
