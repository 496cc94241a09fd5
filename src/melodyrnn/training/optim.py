"""Adam and AdamW as plain tensor operations, with torch's state-dict format.

Every method of ``torch.optim.Optimizer`` (construction, ``step``, ``zero_grad``,
``state_dict``, ``load_state_dict``) is wrapped by ``torch._disable_dynamo``, which imports
``torch._dynamo`` on its first call: about 2 s, longer than the whole of training a short
song. This optimiser does the same arithmetic as torch's single-tensor Adam (the one torch
runs on a CPU) in the same order, so its steps are the same to the last bit there, and it
reads and writes the same state dict, so checkpoints saved with ``torch.optim.Adam`` resume
here and the other way round. Only what training uses is supported: one or more parameter
groups, dense gradients, no AMSGrad, no maximising.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import torch

DEFAULTS = {"betas": (0.9, 0.999), "eps": 1e-8}
# torch's Adam keeps these in every group; written so its load_state_dict reads ours unchanged.
_TORCH_FLAGS = {"amsgrad": False, "maximize": False, "foreach": None, "capturable": False,
                "differentiable": False, "fused": None}


class Adam:
    """Adam (L2 penalty added to the gradient), or AdamW with ``decoupled=True``."""

    def __init__(self, params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
                 lr: float = 1e-3, betas: tuple[float, float] = DEFAULTS["betas"],
                 eps: float = DEFAULTS["eps"], weight_decay: float = 0.0,
                 decoupled: bool = False) -> None:
        if not (lr >= 0 and eps >= 0 and weight_decay >= 0
                and 0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError(f"invalid Adam settings: lr {lr}, betas {betas}, eps {eps}, "
                             f"weight_decay {weight_decay}")
        self.decoupled = decoupled
        self.defaults = {"lr": lr, "betas": (float(betas[0]), float(betas[1])), "eps": eps,
                         "weight_decay": weight_decay, **_TORCH_FLAGS,
                         "decoupled_weight_decay": decoupled}
        params = list(params)
        groups = params if params and isinstance(params[0], dict) else [{"params": params}]
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[torch.Tensor, dict[str, torch.Tensor]] = {}
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group: dict[str, Any]) -> None:
        """Add parameters with their own settings (the defaults fill the rest)."""
        params = list(group["params"])
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append({**self.defaults, **group, "params": params})

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients (drop them, or zero them in place)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.detach_().zero_()

    @torch.no_grad()
    def step(self) -> None:
        """One update of every parameter that has a gradient."""
        for group in self.param_groups:
            lr, (beta1, beta2) = group["lr"], group["betas"]
            eps, weight_decay = group["eps"], group["weight_decay"]
            for param in group["params"]:
                grad = param.grad
                if grad is None:
                    continue
                if grad.is_sparse:
                    raise RuntimeError("Adam does not support sparse gradients")
                state = self.state.get(param)
                if not state:
                    state = self.state[param] = {
                        # torch keeps the step count on the CPU (as float32) unless capturing
                        "step": torch.tensor(0.0, dtype=torch.float32),
                        "exp_avg": torch.zeros_like(param, memory_format=torch.preserve_format),
                        "exp_avg_sq": torch.zeros_like(param,
                                                       memory_format=torch.preserve_format)}
                exp_avg, exp_avg_sq, step_t = state["exp_avg"], state["exp_avg_sq"], state["step"]
                # The operations of torch.optim.adam._single_tensor_adam, in its order.
                step_t += 1
                if weight_decay != 0:
                    if self.decoupled:
                        param.mul_(1 - lr * weight_decay)
                    else:
                        grad = grad.add(param, alpha=weight_decay)
                exp_avg.lerp_(grad, 1 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                step = step_t.item()
                bias_correction1 = 1 - beta1 ** step
                bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
                denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
                param.addcdiv_(exp_avg, denom, value=-(lr / bias_correction1))

    def state_dict(self) -> dict[str, Any]:
        """The state as torch's optimisers give it: per-parameter state by index, groups."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: value for p, value in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Take a state from ``state_dict`` (ours or torch's Adam/AdamW), checked first."""
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(saved["params"]) != len(group["params"])
               for saved, group in zip(saved_groups, self.param_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't "
                             "match the size of optimizer's group")
        for saved in saved_groups:
            unsupported = [k for k in ("amsgrad", "maximize") if saved.get(k)]
            if unsupported:
                raise ValueError(f"optimiser state uses {', '.join(unsupported)}, which this "
                                 "Adam does not support")
        by_index = {saved_id: p for saved, group in zip(saved_groups, self.param_groups)
                    for saved_id, p in zip(saved["params"], group["params"])}
        state: dict[torch.Tensor, dict[str, torch.Tensor]] = {}
        for key, value in state_dict["state"].items():
            if key not in by_index:
                continue
            param = by_index[key]
            state[param] = {name: _cast(name, v, param) for name, v in value.items()}
            if "step" not in state[param]:
                raise ValueError("optimiser state without a step count")
        groups = []
        for saved, group in zip(saved_groups, self.param_groups):
            # Like torch: the saved settings replace ours; the parameters stay ours.
            betas = saved.get("betas", group["betas"])
            groups.append({**group, **saved, "betas": (float(betas[0]), float(betas[1])),
                           "params": group["params"]})
        self.param_groups, self.state = groups, state


def _cast(name: str, value: Any, param: torch.Tensor) -> Any:
    """A copy of a saved value as the step needs it: moments like the parameter, the step
    count a CPU float32 tensor (as torch's Adam keeps it)."""
    if name == "step":
        return torch.tensor(float(value), dtype=torch.float32)
    if isinstance(value, torch.Tensor):
        if value.is_floating_point():
            return value.to(dtype=param.dtype, device=param.device, copy=True)
        return value.to(device=param.device, copy=True)
    return copy.deepcopy(value)
