"""Many small GRU recurrences at once, with a hand-written backward pass.

PyTorch's ``nn.GRU`` on a CPU spends most of its time outside arithmetic when
the GRU is as small as the paper's (6 units): each of the 80 steps (40
positions, two directions) runs a dozen operations on non-contiguous gate
slices, and autograd records as many again. Here the recurrences of every copy
*and* both directions run in one loop of 40 steps over tensors laid out
``(recurrence, gate unit, batch)``, so every gate is a contiguous block and the
matrix products need no copies. The backward pass is a 3-operation loop: all of
the chain rule that does not depend on the incoming gradient is computed for
every step at once, before the loop. ``tests/test_models.py`` checks the result
against ``nn.GRU`` value for value and gradient for gradient.

The equations are PyTorch's (gates r, z, n in that order)::

    r = sigmoid(W_ir x + b_ir + W_hr h + b_hr) z = sigmoid(W_iz x + b_iz + W_hz
    h + b_hz) n = tanh(W_in x + b_in + r * (W_hn h + b_hn)) h' = (1 - z) * n +
    z * h
"""

import torch

__all__ = ["gru_recurrence"]


def _forward(x, w_ih, b_ih, w_hh, b_hh, keep):
    """The recurrence. With ``keep``, every step's gates are stored for the
    backward pass; otherwise one step's buffers are reused (evaluation on
    thousands of examples).
    """
    t_len, n_rec, _, batch = x.shape
    h3 = w_hh.shape[1]
    h = h3 // 3
    # r, z: both biases add
    bias = torch.cat(
        [b_ih[:, : 2 * h] + b_hh[:, : 2 * h], b_hh[:, 2 * h :]], 1
    )
    w_rz, w_n, b_n = w_ih[:, : 2 * h], w_ih[:, 2 * h :], b_ih[:, 2 * h :]
    steps = t_len if keep else 1
    gh, rz, n = (x.new_empty(steps, n_rec, c, batch) for c in (h3, 2 * h, h))
    if not keep:  # a stride-0 time axis: every step writes the same buffer
        gh, rz, n = (v.expand(t_len, *v.shape[1:]) for v in (gh, rz, n))
    # hs[0]: the zero initial state
    hs = x.new_zeros(t_len + 1, n_rec, h, batch)
    # Views per time step made once: indexing inside the loop costs as much as
    # the maths.
    loop = zip(
        *(
            v.unbind(0)
            for v in (
                x,
                gh,
                gh[:, :, : 2 * h],
                gh[:, :, 2 * h :],
                rz,
                rz[:, :, :h],
                rz[:, :, h:],
                n,
                hs[:-1],
                hs[1:],
            )
        )
    )
    for x_t, gh_t, gh_rz, gh_n, rz_t, r, z, n_t, h_prev, h_next in loop:
        torch.bmm(w_hh, h_prev, out=gh_t).add_(bias)
        torch.addcmul(gh_rz, w_rz, x_t, out=rz_t).sigmoid_()
        torch.addcmul(b_n, w_n, x_t, out=n_t).addcmul_(r, gh_n).tanh_()
        torch.lerp(n_t, h_prev, z, out=h_next)  # n + z * (h - n)
    return gh, rz, n, hs


class _GRURecurrence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w_ih, b_ih, w_hh, b_hh):
        x = x.contiguous()
        gh, rz, n, hs = _forward(x, w_ih, b_ih, w_hh, b_hh, keep=True)
        ctx.save_for_backward(x, w_ih, w_hh, gh, rz, n, hs)
        return hs[1:]

    @staticmethod
    def backward(ctx, d_hs):
        x, w_ih, w_hh, gh, rz, n, hs = ctx.saved_tensors
        t_len, n_rec, h, batch = n.shape
        r, z = rz[:, :, :h], rz[:, :, h:]
        # dL/d(gh_t) = a_t * dL/dh_t, gate by gate, where a_t holds only
        # forward values: computed for all steps at once, it leaves a loop of 3
        # small operations per step.
        c_n = (1 - z).mul_(1 - n * n)  # dh/d(n's pre-activation)
        a = x.new_empty(t_len, n_rec, 3, h, batch)
        # through r
        torch.mul(c_n, gh[:, :, 2 * h :], out=a[:, :, 0]).mul_(r).mul_(1 - r)
        torch.sub(hs[:-1], n, out=a[:, :, 1]).mul_(z).mul_(1 - z)  # through z
        torch.mul(c_n, r, out=a[:, :, 2])  # through n's W_hn h
        # becomes the total dL/dh_t
        d_h = d_hs.clone(memory_format=torch.contiguous_format)
        d_gh = torch.empty_like(a)
        w_t = w_hh.transpose(1, 2).contiguous()
        steps = list(
            zip(a.unbind(0), d_h.unbind(0), d_gh.unbind(0), z.unbind(0))
        )
        for t in range(t_len - 1, -1, -1):
            a_t, d_t, g_t, z_t = steps[t]
            torch.mul(a_t, d_t.unsqueeze(1), out=g_t)
            # h_{t-1} reaches h_t through the recurrent product and directly
            # through z
            if t:
                d_h[t - 1].baddbmm_(
                    w_t, g_t.view(n_rec, 3 * h, batch)
                ).addcmul_(z_t, d_t)
        d_gh = d_gh.view(t_len, n_rec, 3 * h, batch)
        d_gi_n = d_h.mul_(c_n)  # the input side of n has no factor r
        # One small product per (step, recurrence), summed over steps: no
        # transposed copies.
        d_w_hh = torch.bmm(
            d_gh.view(-1, 3 * h, batch),
            hs[:-1].reshape(-1, h, batch).transpose(1, 2),
        )
        d_w_hh = d_w_hh.view(t_len, n_rec, 3 * h, h).sum(0)

        # (T, R, G, B) -> (R, G, 1), as two contiguous sums
        def over_steps_and_batch(
            v,
        ):
            return v.sum(0).sum(-1, keepdim=True)

        d_rz = d_gh[:, :, : 2 * h]
        d_b_ih = torch.cat(
            [over_steps_and_batch(d_rz), over_steps_and_batch(d_gi_n)], 1
        )
        d_w_ih = torch.cat(
            [over_steps_and_batch(d_rz * x), over_steps_and_batch(d_gi_n * x)],
            1,
        )
        d_x = None
        if ctx.needs_input_grad[0]:
            d_x = (d_rz * w_ih[:, : 2 * h]).sum(2, keepdim=True) + (
                d_gi_n * w_ih[:, 2 * h :]
            ).sum(2, keepdim=True)
        return d_x, d_w_ih, d_b_ih, d_w_hh, over_steps_and_batch(d_gh)


def gru_recurrence(x, w_ih, b_ih, w_hh, b_hh):
    """Run R independent single-input GRUs of H units from a zero state over T
    steps.

    Parameters
    ----------
    x : torch.Tensor, (T, R, 1, B)
        The input signal of each recurrence, one value per step.
    w_ih, b_ih : torch.Tensor, (R, 3 * H, 1)
        Input weights and biases, gates r, z, n stacked
        (``nn.GRU.weight_ih_l0`` per recurrence).
    w_hh : torch.Tensor, (R, 3 * H, H)
        Recurrent weights (``nn.GRU.weight_hh_l0`` per recurrence).
    b_hh : torch.Tensor, (R, 3 * H, 1)
        Recurrent biases.

    Returns
    -------
    torch.Tensor, (T, R, H, B)
        The hidden state after each step.
    """
    t_len, n_rec, one, _ = x.shape
    h3 = w_hh.shape[1]
    if (
        one != 1
        or h3 % 3
        or w_hh.shape != (n_rec, h3, h3 // 3)
        or any(b.shape != (n_rec, h3, 1) for b in (w_ih, b_ih, b_hh))
    ):
        raise ValueError(
            f"gru_recurrence: x {tuple(x.shape)}, w_ih {tuple(w_ih.shape)}, "
            f"w_hh {tuple(w_hh.shape)} "
            "do not fit x (T, R, 1, B), w_ih/b_ih/b_hh (R, 3H, 1), w_hh (R, "
            "3H, H)"
        )
    args = (x, w_ih, b_ih, w_hh, b_hh)
    if torch.is_grad_enabled() and any(t.requires_grad for t in args):
        return _GRURecurrence.apply(*args)
    return _forward(*args, keep=False)[3][1:]
